import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { SimArea } from "../simulator.js";
import type { SimState } from "../state.js";
import { messagingState } from "./messaging-state.js";
import { graphErrorBody } from "./onboarding.state.js";
import { findUser, type SimUser } from "./user-directory.js";

/**
 * Meta's Block Users API (`/{phone-number-id}/block_users`), as its reference describes it:
 * - `POST` blocks, `DELETE` unblocks, `GET` lists (paged), synchronously, with per-user results
 *   (`added_users` / `removed_users`, and `failed_users` with their errors plus a request-level
 *   `errors` object when some failed);
 * - users are named by phone (`user`) or business-scoped user id (`user_id`); the answer echoes the
 *   `input` with `wa_id` for a phone, `user_id` for an id;
 * - only users who wrote to that number in the last 24 hours can be blocked (unblocking has no such
 *   rule); at most 1,000 users per request; at most 64,000 on a number's blocklist (139101);
 * - the version segment is optional, as on every Graph path (published clients call it without).
 * A send to a blocked user is refused by the messaging area (`isBlocked`). Meta documents only that
 * such a send "returns an error"; the simulator answers 131026 (message undeliverable).
 */
export const BLOCKING_AREA = "blocking";

export const MAX_USERS_PER_REQUEST = 1_000;
export const MAX_BLOCKLIST = 64_000;
const WINDOW_MS = 24 * 3_600_000;

export interface BlockingState {
  /** phone_number_id → the users blocked on it. */
  blocked: Map<string, Set<SimUser>>;
  /** The blocklist size at which 139101 is answered (64,000 at Meta; tests lower it). */
  limit: number;
}

export const blockingState = (state: SimState): BlockingState =>
  state.area(BLOCKING_AREA, () => ({ blocked: new Map<string, Set<SimUser>>(), limit: MAX_BLOCKLIST }));

/** Whether a send from `phoneNumberId` to this user is refused because the business blocked them. */
export function isBlocked(state: SimState, phoneNumberId: string, user: SimUser | undefined): boolean {
  return !!user && !!blockingState(state).blocked.get(phoneNumberId)?.has(user);
}

const userEntry = z
  .strictObject({ user: z.string().min(1).optional(), user_id: z.string().min(1).optional() })
  .refine((u) => u.user !== undefined || u.user_id !== undefined, { message: "give user or user_id" });
const body = z.looseObject({
  messaging_product: z.literal("whatsapp"),
  block_users: z.array(userEntry).min(1),
});

function bearer(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  return h?.startsWith("Bearer ") ? h.slice(7) : undefined;
}

const failedToBlock = (details: string) => ({
  message: "Failed to block/unblock users",
  code: 139100,
  error_data: { details },
});

export const blockUsersArea: SimArea = (app, ctx, done) => {
  const users = () => messagingState(ctx.state).users;
  const blocking = () => blockingState(ctx.state);

  function parse(request: FastifyRequest, reply: FastifyReply) {
    if (!bearer(request)) {
      void reply
        .code(401)
        .send(graphErrorBody({ code: 190, message: "Invalid OAuth access token - Cannot parse access token" }));
      return undefined;
    }
    const b = body.safeParse(request.body);
    if (!b.success) {
      const problem = b.error.issues[0]!;
      void reply.code(400).send(
        graphErrorBody({
          code: 100,
          message: `(#100) Invalid parameter`,
          details: `${problem.path.join(".") || "body"}: ${problem.message}`,
        }),
      );
      return undefined;
    }
    if (b.data.block_users.length > MAX_USERS_PER_REQUEST) {
      void reply.code(400).send(
        graphErrorBody({
          code: 100,
          message: "(#100) Invalid parameter",
          details: `block_users: at most ${MAX_USERS_PER_REQUEST} users per request`,
        }),
      );
      return undefined;
    }
    return b.data.block_users;
  }

  const echo = (u: { user?: string | undefined; user_id?: string | undefined }) =>
    u.user !== undefined
      ? { input: u.user, wa_id: u.user.replace(/\D/g, "") }
      : { input: u.user_id!, user_id: u.user_id! };

  async function block(request: FastifyRequest<{ Params: { phone: string } }>, reply: FastifyReply) {
    const list = parse(request, reply);
    if (!list) return reply;
    const phone = request.params.phone;
    const set = blocking().blocked.get(phone) ?? new Set<SimUser>();
    const added: unknown[] = [];
    const failed: unknown[] = [];
    const now = Date.now();
    for (const u of list) {
      const user = findUser(users(), { waId: u.user, userId: u.user_id });
      const wrote = user?.lastInboundAt.get(phone);
      if (!user || wrote === undefined || now - wrote > WINDOW_MS) {
        failed.push({
          input: echo(u).input,
          errors: [
            failedToBlock("Failed to block user for whom the business has not received a message in the last 24 hours"),
          ],
        });
        continue;
      }
      if (!set.has(user) && set.size >= blocking().limit) {
        return reply.code(400).send(
          graphErrorBody({
            code: 139101,
            message: "(#139101) Blocklist limit reached",
            details: `The blocklist of this number is full (${blocking().limit} users)`,
          }),
        );
      }
      set.add(user);
      added.push(echo(u));
    }
    blocking().blocked.set(phone, set);
    return {
      messaging_product: "whatsapp",
      block_users: { added_users: added, ...(failed.length ? { failed_users: failed } : {}) },
      ...(failed.length
        ? {
            errors: {
              message: "(#139100) Failed to block/unblock users",
              type: "OAuthException",
              code: 139100,
              error_data: { details: "Failed to block some users, see the block_users response list for details" },
            },
          }
        : {}),
    };
  }

  async function unblock(request: FastifyRequest<{ Params: { phone: string } }>, reply: FastifyReply) {
    const list = parse(request, reply);
    if (!list) return reply;
    const set = blocking().blocked.get(request.params.phone);
    for (const u of list) {
      const user = findUser(users(), { waId: u.user, userId: u.user_id });
      if (user) set?.delete(user);
    }
    return { messaging_product: "whatsapp", block_users: { removed_users: list.map(echo) } };
  }

  async function listBlocked(
    request: FastifyRequest<{ Params: { phone: string }; Querystring: { limit?: string; after?: string } }>,
    reply: FastifyReply,
  ) {
    if (!bearer(request))
      return reply
        .code(401)
        .send(graphErrorBody({ code: 190, message: "Invalid OAuth access token - Cannot parse access token" }));
    const all = [...(blocking().blocked.get(request.params.phone) ?? [])];
    const limit = Math.min(Math.max(Number(request.query.limit ?? 25) || 25, 1), 100);
    const start = request.query.after ? Number(Buffer.from(request.query.after, "base64url").toString()) || 0 : 0;
    const page = all.slice(start, start + limit);
    const next = start + limit < all.length ? Buffer.from(String(start + limit)).toString("base64url") : undefined;
    return {
      data: [
        {
          block_users: page.map((u) => ({
            messaging_product: "whatsapp",
            ...(u.waId ? { wa_id: u.waId } : {}),
            ...(u.userId ? { user_id: u.userId } : {}),
          })),
        },
      ],
      paging: {
        cursors: { before: Buffer.from(String(start)).toString("base64url"), ...(next ? { after: next } : {}) },
      },
    };
  }

  for (const prefix of ["/:version/:phone/block_users", "/:phone/block_users"]) {
    app.post<{ Params: { phone: string } }>(prefix, block);
    app.delete<{ Params: { phone: string } }>(prefix, unblock);
    app.get<{ Params: { phone: string }; Querystring: { limit?: string; after?: string } }>(prefix, listBlocked);
  }

  /** Lowers the blocklist limit (139101) for tests; `{ limit }`. */
  app.put("/_sim/blocking/limit", async (request, reply) => {
    const b = z.strictObject({ limit: z.number().int().min(1).max(MAX_BLOCKLIST) }).safeParse(request.body);
    if (!b.success) return reply.code(400).send({ error: { code: "BAD_REQUEST", message: b.error.message } });
    blocking().limit = b.data.limit;
    return { limit: blocking().limit };
  });

  done();
};
