import { z } from "zod";
import type { SimArea } from "../simulator.js";
import { portfolioState, reachedCount } from "./portfolio.state.js";

const limitBody = z.strictObject({
  wabaId: z.string().min(1),
  /** Recipients per moving window (250, 2000, 10000, 100000…), -1 unlimited, null: not limited. */
  limit: z.number().int().min(-1).nullable(),
  /** Fail sends over the limit (default: unchanged, off at start). */
  enforce: z.boolean().optional(),
  windowMs: z.number().int().min(100).max(86_400_000).optional(),
});

/**
 * Control of the portfolio messaging limit: PUT /_sim/portfolio/limit sets a WABA's limit (served
 * as `whatsapp_business_manager_messaging_limit` by GET /{waba}/phone_numbers) and whether sends over
 * it fail; GET /_sim/portfolio/usage?wabaId= shows the recipients counted and the sends failed.
 */
export const portfolioArea: SimArea = (app, ctx, done) => {
  const p = () => portfolioState(ctx.state);

  app.put("/_sim/portfolio/limit", async (request, reply) => {
    const b = limitBody.safeParse(request.body);
    if (!b.success) return reply.code(400).send({ error: b.error.issues });
    const st = p();
    if (b.data.limit === null) st.limits.delete(b.data.wabaId);
    else st.limits.set(b.data.wabaId, b.data.limit);
    if (b.data.enforce !== undefined) st.enforce = b.data.enforce;
    if (b.data.windowMs !== undefined) st.windowMs = b.data.windowMs;
    return { ok: true };
  });

  app.get<{ Querystring: { wabaId?: string } }>("/_sim/portfolio/usage", async (request, reply) => {
    const wabaId = request.query.wabaId;
    if (!wabaId) return reply.code(400).send({ error: "wabaId is required" });
    const st = p();
    return {
      wabaId,
      limit: st.limits.get(wabaId) ?? null,
      enforce: st.enforce,
      reached: reachedCount(st, wabaId),
      overLimit: st.overLimit.filter((o) => o.wabaId === wabaId).length,
    };
  });
  done();
};
