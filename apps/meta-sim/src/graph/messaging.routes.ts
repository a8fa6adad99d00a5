import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyReply } from "fastify";
import { z } from "zod";
import type { SimArea } from "../simulator";
import { graphError, newWamid, statusDelivery, statusObject, statusPricing } from "../webhooks/payloads";
import {
  messagingState,
  newMessagingState,
  rateStats,
  takeToken,
  type AcceptedMessage,
  type MessagingState,
  type RejectedMessage,
} from "./messaging-state";

/**
 * POST /{version}/{phone-number-id}/messages as Meta answers it (meta-cloud-api.md §2–§4): a wamid
 * for an accepted send, then signed `sent` → `delivered` → `read` status webhooks carrying pricing and
 * our biz_opaque_callback_data; Meta's error bodies for faults and for sends over the number's
 * throughput (130429) or the pair rate (131056). Control routes under /_sim/messaging.
 */

const HTTP_FOR_CODE: Record<number, number> = { 4: 429, 80007: 429, 130429: 429, 131000: 500, 131016: 503, 131057: 503, 0: 401, 190: 401 };
const TITLE: Record<number, string> = {
  0: "AuthException",
  190: "Invalid OAuth access token",
  4: "Application request limit reached",
  130429: "Rate limit hit",
  131000: "Something went wrong",
  131016: "Service unavailable",
  131026: "Message undeliverable",
  131047: "Re-engagement message",
  131056: "(Business Account, Consumer Account) pair rate limit hit",
  132000: "Number of parameters does not match the expected number of params",
  132001: "Template name does not exist in the translation",
};

function errorBody(code: number, details?: string) {
  return {
    error: {
      message: `(#${code}) ${TITLE[code] ?? "Error"}`,
      type: code === 190 || code === 0 ? "OAuthException" : "OAuthException",
      code,
      error_data: { messaging_product: "whatsapp", details: details ?? TITLE[code] ?? "simulated error" },
      fbtrace_id: `Sim${Math.random().toString(36).slice(2, 12)}`,
    },
  };
}

const sendBody = z.looseObject({
  messaging_product: z.literal("whatsapp"),
  to: z.string().min(1).optional(),
  type: z.string().optional(),
  status: z.string().optional(),
  message_id: z.string().optional(),
  biz_opaque_callback_data: z.string().max(512).optional(),
});

/** The pricing Meta would report: templates by their category, free-form text as free service. */
function pricingFor(s: MessagingState, phoneNumberId: string, m: AcceptedMessage) {
  if (m.type !== "template") return statusPricing("service");
  const t = m.body.template as { name?: string; language?: { code?: string } } | undefined;
  const waba = s.numbers.get(phoneNumberId);
  const tpl = waba ? s.templates.get(waba)?.find((x) => x.name === t?.name && x.language === t?.language?.code) : undefined;
  return statusPricing((tpl?.category ?? "UTILITY").toLowerCase());
}

export const messagingArea: SimArea = async (app, ctx) => {
  const s = () => messagingState(ctx.state);

  function reject(reply: FastifyReply, r: Omit<RejectedMessage, "at" | "httpStatus"> & { httpStatus?: number }, details?: string) {
    const httpStatus = r.httpStatus ?? HTTP_FOR_CODE[r.code] ?? 400;
    s().rejected.push({ ...r, httpStatus, at: Date.now() });
    return reply.code(httpStatus).send(errorBody(r.code, details));
  }

  function startStatusFlow(m: AcceptedMessage, asyncFailure?: number) {
    const st = s();
    if (!st.statusFlow.enabled && asyncFailure === undefined) return;
    const business = { wabaId: st.numbers.get(m.phoneNumberId) ?? "0", phoneNumberId: m.phoneNumberId };
    const extra = m.bizOpaque ? { bizOpaque: m.bizOpaque } : {};
    const steps =
      asyncFailure !== undefined
        ? [statusObject(m.wamid, "failed", m.to, { ...extra, errors: [graphError(asyncFailure, TITLE[asyncFailure] ?? "Error", TITLE[asyncFailure])] })]
        : [
            statusObject(m.wamid, "sent", m.to, { ...extra, pricing: pricingFor(st, m.phoneNumberId, m) }),
            statusObject(m.wamid, "delivered", m.to, { ...extra, pricing: pricingFor(st, m.phoneNumberId, m) }),
            ...(st.statusFlow.read ? [statusObject(m.wamid, "read", m.to, extra)] : []),
          ];
    const flow = (async () => {
      for (const status of steps) {
        if (st.statusFlow.stepDelayMs) await sleep(st.statusFlow.stepDelayMs);
        try {
          const res = await ctx.webhooks.send(statusDelivery(business, [status]));
          if (res.status === 200) st.statusDeliveries.ok++;
          else st.statusDeliveries.failed++;
        } catch {
          st.statusDeliveries.failed++;
        }
      }
    })();
    st.inFlight.add(flow);
    void flow.finally(() => st.inFlight.delete(flow));
  }

  app.post<{ Params: { version: string; phone: string } }>("/:version/:phone/messages", async (request, reply) => {
    const st = s();
    const phoneNumberId = request.params.phone;
    if (st.faults.latencyMs) await sleep(st.faults.latencyMs);
    const auth = request.headers.authorization;
    const token = auth?.startsWith("Bearer ") ? auth.slice(7) : "";
    const parsed = sendBody.safeParse(request.body);
    const to = parsed.success ? (parsed.data.to ?? "") : "";
    if (!token || st.revokedTokens.has(token)) return reject(reply, { phoneNumberId, to, code: 190, cause: "auth" }, "Session has expired");
    if (!parsed.success) return reject(reply, { phoneNumberId, to, code: 100, cause: "invalid" }, "invalid body");
    const body = parsed.data;

    // Mark as read: not a message.
    if (body.status === "read" && body.message_id) return { success: true };
    if (!body.to || !body.type || !(body.type in body)) return reject(reply, { phoneNumberId, to, code: 100, cause: "invalid" }, "to, type and the type's object are required");

    const fault = st.faults.byRecipient.get(to);
    const faultApplies = fault && (!fault.types || fault.types.includes(body.type));
    if (fault && faultApplies && !fault.async) {
      if (fault.times !== undefined && --fault.times <= 0) st.faults.byRecipient.delete(to);
      return reject(reply, { phoneNumberId, to, code: fault.code, cause: "fault", ...(fault.httpStatus ? { httpStatus: fault.httpStatus } : {}) });
    }
    if (st.faults.storm && Math.random() < st.faults.storm.rate) {
      const codes = st.faults.storm.codes;
      return reject(reply, { phoneNumberId, to, code: codes[Math.floor(Math.random() * codes.length)]!, cause: "storm" });
    }
    const hang = st.faults.hangFor.get(to);
    if (hang) {
      if (hang <= 1) st.faults.hangFor.delete(to);
      else st.faults.hangFor.set(to, hang - 1);
      // Never answers: the caller's timeout fires. Nothing was accepted.
      reply.hijack();
      const timer = setTimeout(() => request.raw.socket?.destroy(), 5_000);
      request.raw.socket?.once("close", () => clearTimeout(timer));
      return;
    }
    if (st.limits.enforce) {
      const mps = st.limits.mpsByNumber.get(phoneNumberId) ?? st.limits.defaultMps;
      if (!takeToken(st, `n:${phoneNumberId}`, mps, 1_000 / mps)) return reject(reply, { phoneNumberId, to, code: 130429, cause: "throughput" });
      if (!takeToken(st, `p:${phoneNumberId}|${to}`, st.limits.pairBurst, st.limits.pairIntervalMs)) {
        return reject(reply, { phoneNumberId, to, code: 131056, cause: "pair_rate", httpStatus: 400 });
      }
    }

    const lose = st.faults.loseAnswerFor.get(to);
    const loseAnswer = !!lose || (st.faults.loseAnswerRate > 0 && Math.random() < st.faults.loseAnswerRate);
    if (lose) {
      if (lose <= 1) st.faults.loseAnswerFor.delete(to);
      else st.faults.loseAnswerFor.set(to, lose - 1);
    }
    const m: AcceptedMessage = {
      at: Date.now(),
      wamid: newWamid(),
      phoneNumberId,
      to,
      type: body.type,
      body: body as Record<string, unknown>,
      bizOpaque: body.biz_opaque_callback_data ?? null,
      answerLost: loseAnswer,
    };
    st.accepted.push(m);
    if (fault && faultApplies && fault.async) {
      if (fault.times !== undefined && --fault.times <= 0) st.faults.byRecipient.delete(to);
      startStatusFlow(m, fault.code);
    } else {
      startStatusFlow(m);
    }
    if (loseAnswer) {
      // Accepted, then the connection drops before the answer: the caller cannot know.
      reply.hijack();
      request.raw.socket?.destroy();
      return;
    }
    return { messaging_product: "whatsapp", contacts: [{ input: to, wa_id: to }], messages: [{ id: m.wamid, message_status: "accepted" }] };
  });

  // -------------------------------------------------------------------------------------------
  // Control: /_sim/messaging/*
  // -------------------------------------------------------------------------------------------

  const faultBody = z.strictObject({
    recipient: z.string().min(1),
    code: z.number().int(),
    httpStatus: z.number().int().min(400).max(599).optional(),
    types: z.array(z.string()).optional(),
    times: z.number().int().min(1).optional(),
    async: z.boolean().optional(),
  });
  app.post("/_sim/messaging/faults/recipient", async (request, reply) => {
    const b = faultBody.safeParse(request.body);
    if (!b.success) return reply.code(400).send({ error: b.error.issues });
    const { recipient, ...fault } = b.data;
    s().faults.byRecipient.set(recipient, fault);
    return { ok: true };
  });

  const faultsBody = z.strictObject({
    storm: z.strictObject({ rate: z.number().min(0).max(1), codes: z.array(z.number().int()).min(1) }).nullable().optional(),
    latencyMs: z.number().int().min(0).max(60_000).optional(),
    loseAnswerRate: z.number().min(0).max(1).optional(),
    hang: z.strictObject({ recipient: z.string(), times: z.number().int().min(1) }).optional(),
    loseAnswer: z.strictObject({ recipient: z.string(), times: z.number().int().min(1) }).optional(),
  });
  app.put("/_sim/messaging/faults", async (request, reply) => {
    const b = faultsBody.safeParse(request.body);
    if (!b.success) return reply.code(400).send({ error: b.error.issues });
    const f = s().faults;
    if (b.data.storm !== undefined) f.storm = b.data.storm;
    if (b.data.latencyMs !== undefined) f.latencyMs = b.data.latencyMs;
    if (b.data.loseAnswerRate !== undefined) f.loseAnswerRate = b.data.loseAnswerRate;
    if (b.data.hang) f.hangFor.set(b.data.hang.recipient, b.data.hang.times);
    if (b.data.loseAnswer) f.loseAnswerFor.set(b.data.loseAnswer.recipient, b.data.loseAnswer.times);
    return { ok: true };
  });

  const limitsBody = z.strictObject({
    defaultMps: z.number().positive().optional(),
    numberMps: z.record(z.string(), z.number().positive()).optional(),
    pairBurst: z.number().int().min(1).optional(),
    pairIntervalMs: z.number().int().min(1).optional(),
    enforce: z.boolean().optional(),
  });
  app.put("/_sim/messaging/limits", async (request, reply) => {
    const b = limitsBody.safeParse(request.body);
    if (!b.success) return reply.code(400).send({ error: b.error.issues });
    const l = s().limits;
    if (b.data.defaultMps !== undefined) l.defaultMps = b.data.defaultMps;
    for (const [n, mps] of Object.entries(b.data.numberMps ?? {})) l.mpsByNumber.set(n, mps);
    if (b.data.pairBurst !== undefined) l.pairBurst = b.data.pairBurst;
    if (b.data.pairIntervalMs !== undefined) l.pairIntervalMs = b.data.pairIntervalMs;
    if (b.data.enforce !== undefined) l.enforce = b.data.enforce;
    return { ok: true };
  });

  app.put("/_sim/messaging/status-flow", async (request, reply) => {
    const b = z.strictObject({ enabled: z.boolean().optional(), stepDelayMs: z.number().int().min(0).optional(), read: z.boolean().optional() }).safeParse(request.body);
    if (!b.success) return reply.code(400).send({ error: b.error.issues });
    Object.assign(s().statusFlow, b.data);
    return { ok: true };
  });

  app.put("/_sim/messaging/numbers", async (request, reply) => {
    const b = z.record(z.string(), z.string()).safeParse(request.body);
    if (!b.success) return reply.code(400).send({ error: b.error.issues });
    for (const [phone, waba] of Object.entries(b.data)) s().numbers.set(phone, waba);
    return { ok: true };
  });

  app.post("/_sim/messaging/revoke", async (request, reply) => {
    const b = z.strictObject({ token: z.string().min(1), revoked: z.boolean().default(true) }).safeParse(request.body);
    if (!b.success) return reply.code(400).send({ error: b.error.issues });
    if (b.data.revoked) s().revokedTokens.add(b.data.token);
    else s().revokedTokens.delete(b.data.token);
    return { ok: true };
  });

  /** What was accepted (optionally for one number / recipient), without the tokens. */
  app.get<{ Querystring: { phoneNumberId?: string; to?: string } }>("/_sim/messaging/sent", async (request) => {
    const { phoneNumberId, to } = request.query;
    return { messages: s().accepted.filter((m) => (!phoneNumberId || m.phoneNumberId === phoneNumberId) && (!to || m.to === to)) };
  });

  app.get("/_sim/messaging/stats", async () => ({ ...rateStats(s()), statusDeliveries: s().statusDeliveries }));

  app.post("/_sim/messaging/reset", async () => {
    ctx.state.areas.set("messaging", newMessagingState());
    return { ok: true };
  });
};
