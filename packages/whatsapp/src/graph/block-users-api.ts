import { graphPath, type GraphClient } from "./graph-client.js";
import { GraphApiError } from "./graph-errors.js";

/**
 * Meta's Block Users API: `POST` (block), `DELETE` (unblock) and `GET` (list)
 * `/{phone-number-id}/block_users`, synchronous, one result per user. Users are named by phone
 * (`user`) or, for a candidate known only by a business-scoped user id, by `user_id`.
 *
 * Meta's reference (Block Users, 2026) documents the limits and codes this module reports as they are:
 * only users who wrote to the number in the last 24 hours can be blocked (131047 "re-engagement
 * required", also for an unknown user; the simulator reports it as a per-user 139100 naming the 24
 * hours), 139100 (failed to block/unblock some users), 139101 (blocklist limit reached, 64,000),
 * 139102 (blocklist changed during a paged read), 139103 (internal error, try again), 130429 (too
 * many users in one request, or too many requests), 131021 (blocking the business's own number).
 * A partial failure is answered either as 200 with `failed_users` (and a request-level `errors`) or,
 * as Meta's reference shows it, as HTTP 400 with `error` 139100 beside the same lists: both are read.
 */

/** One user to block or unblock: a phone number (digits with country code) or a user id. */
export type BlockTarget = { phone: string; userId?: undefined } | { userId: string; phone?: undefined };

/** Why Meta did not block (or unblock) one user. */
export interface BlockFailure {
  input: string;
  code: number;
  message: string;
  details: string | null;
}

export interface BlockUsersResult {
  /** Users Meta answered as blocked (added_users) or unblocked (removed_users): their `input`. */
  done: string[];
  failed: BlockFailure[];
}

interface BlockUsersAnswer {
  block_users?: {
    added_users?: Array<{ input?: string }>;
    removed_users?: Array<{ input?: string }>;
    failed_users?: Array<{
      input?: string;
      errors?: Array<{ code?: number | string; message?: string; error_data?: { details?: string } }>;
    }>;
  };
  errors?: { code?: number; message?: string; error_data?: { details?: string } };
}

const entry = (t: BlockTarget) => (t.phone !== undefined ? { user: t.phone } : { user_id: t.userId });
const inputOf = (t: BlockTarget) => (t.phone !== undefined ? t.phone : t.userId);

function readAnswer(targets: BlockTarget[], res: BlockUsersAnswer | undefined, field: "added_users" | "removed_users") {
  const lists = res?.block_users;
  const failed: BlockFailure[] = (lists?.failed_users ?? []).map((f) => {
    const e = f.errors?.[0];
    const code = Number(e?.code ?? res?.errors?.code ?? 139100);
    return {
      input: String(f.input ?? ""),
      code: Number.isFinite(code) ? code : 139100,
      message: e?.message ?? "Failed to block/unblock users",
      details: e?.error_data?.details ?? null,
    };
  });
  const done = (lists?.[field] ?? []).map((u) => String(u.input ?? ""));
  // A user Meta answered neither way (an answer without lists): reported as failed, never as done.
  for (const t of targets) {
    const input = inputOf(t);
    const named = (s: string) => s === input || s.replace(/\D/g, "") === input.replace(/\D/g, "");
    if (!done.some(named) && !failed.some((f) => named(f.input)))
      failed.push({
        input,
        code: res?.errors?.code ?? 139100,
        message: "Meta did not report this user",
        details: null,
      });
  }
  return { done, failed };
}

async function call(
  graph: GraphClient,
  method: "POST" | "DELETE",
  input: { phoneNumberId: string; token: string; users: BlockTarget[]; timeoutMs?: number },
): Promise<BlockUsersResult> {
  const field = method === "POST" ? "added_users" : "removed_users";
  try {
    const res = await graph.request<BlockUsersAnswer>(method, graphPath(input.phoneNumberId, "block_users"), {
      token: input.token,
      json: { messaging_product: "whatsapp", block_users: input.users.map(entry) },
      ...(input.timeoutMs ? { headersTimeoutMs: input.timeoutMs, bodyTimeoutMs: input.timeoutMs } : {}),
    });
    return readAnswer(input.users, res, field);
  } catch (err) {
    // Meta's documented partial failure: HTTP 400, `error` 139100. The error body's lists are not
    // kept by the client; with one user per request (as the gateway calls it) that user failed.
    if (err instanceof GraphApiError && err.code === 139100 && input.users.length === 1)
      return {
        done: [],
        failed: [{ input: inputOf(input.users[0]!), code: 139100, message: err.message, details: err.details }],
      };
    throw err;
  }
}

/** Blocks users on a business number (POST /{phone-number-id}/block_users). */
export function blockUsers(
  graph: GraphClient,
  input: { phoneNumberId: string; token: string; users: BlockTarget[]; timeoutMs?: number },
): Promise<BlockUsersResult> {
  return call(graph, "POST", input);
}

/** Unblocks users (DELETE /{phone-number-id}/block_users); Meta has no 24-hour rule here. */
export function unblockUsers(
  graph: GraphClient,
  input: { phoneNumberId: string; token: string; users: BlockTarget[]; timeoutMs?: number },
): Promise<BlockUsersResult> {
  return call(graph, "DELETE", input);
}
