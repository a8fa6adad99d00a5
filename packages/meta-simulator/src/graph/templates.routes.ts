import { z } from "zod";
import type { SimArea } from "../simulator.js";
import { messagingState, type SimTemplate } from "./messaging-state.js";

/**
 * GET /{version}/{waba-id}/message_templates with Meta's cursor paging (`paging.next`), and a
 * control route to set a WABA's templates: PUT /_sim/messaging/templates/{wabaId}.
 */

const encodeCursor = (i: number) => Buffer.from(`idx:${i}`).toString("base64url");
const decodeCursor = (c: string | undefined) => {
  if (!c) return 0;
  const m = /^idx:(\d+)$/.exec(Buffer.from(c, "base64url").toString());
  return m ? Number(m[1]) : 0;
};

const templateInput = z.strictObject({
  id: z.string().optional(),
  name: z.string().min(1),
  language: z.string().min(2),
  status: z.string().default("APPROVED"),
  category: z.string().default("UTILITY"),
  components: z.array(z.looseObject({ type: z.string() })).default([]),
  /** NAMED for templates with named placeholders ({{first_name}}). */
  parameter_format: z.enum(["NAMED", "POSITIONAL"]).optional(),
});

let nextId = 900_000_000_000;

/** A template as the simulator stores it; `body` is the BODY text with {{1}}… placeholders. */
export function simTemplate(t: {
  name: string;
  language: string;
  body: string;
  status?: string;
  category?: string;
  header?: string;
}): SimTemplate {
  return {
    id: String(nextId++),
    name: t.name,
    language: t.language,
    status: t.status ?? "APPROVED",
    category: t.category ?? "UTILITY",
    components: [
      ...(t.header ? [{ type: "HEADER", format: "TEXT", text: t.header }] : []),
      { type: "BODY", text: t.body },
    ],
  };
}

export const templatesArea: SimArea = (app, ctx, done) => {
  const s = () => messagingState(ctx.state);

  app.get<{ Params: { version: string; waba: string }; Querystring: { limit?: string; after?: string } }>(
    "/:version/:waba/message_templates",
    async (request, reply) => {
      const auth = request.headers.authorization;
      const token = auth?.startsWith("Bearer ") ? auth.slice(7) : "";
      if (!token || s().revokedTokens.has(token)) {
        return reply.code(401).send({
          error: { message: "Invalid OAuth access token", type: "OAuthException", code: 190, fbtrace_id: "SimTpl" },
        });
      }
      const all = s().templates.get(request.params.waba) ?? [];
      const limit = Math.min(Math.max(Number(request.query.limit ?? 25) || 25, 1), 1000);
      const start = decodeCursor(request.query.after);
      const page = all.slice(start, start + limit);
      const end = start + page.length;
      const base = `${request.protocol}://${request.host}${request.url.split("?")[0]}`;
      return {
        data: page,
        paging: {
          cursors: { before: encodeCursor(start), after: encodeCursor(end) },
          ...(end < all.length ? { next: `${base}?limit=${limit}&after=${encodeCursor(end)}` } : {}),
        },
      };
    },
  );

  app.put<{ Params: { wabaId: string } }>("/_sim/messaging/templates/:wabaId", async (request, reply) => {
    const b = z.strictObject({ templates: z.array(templateInput) }).safeParse(request.body);
    if (!b.success) return reply.code(400).send({ error: b.error.issues });
    s().templates.set(
      request.params.wabaId,
      b.data.templates.map(({ parameter_format, ...t }) => ({
        ...t,
        id: t.id ?? String(nextId++),
        components: t.components,
        ...(parameter_format ? { parameter_format } : {}),
      })),
    );
    return { ok: true, count: b.data.templates.length };
  });
  done();
};
