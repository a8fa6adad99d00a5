import { OVER_PORTFOLIO_LIMIT_CODE, admitBusinessInitiated, portfolioState } from "./portfolio.state.js";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyReply } from "fastify";
import { z } from "zod";
import type { SimArea } from "../simulator.js";
import { isBlocked } from "./block-users.routes.js";
import { graphError, newWamid, statusDelivery, statusObject, statusPricing, unixNow } from "../webhooks/payloads.js";
import { isUserId } from "../webhooks/user-ids.js";
import {
  messagingState,
  newMessagingState,
  rateStats,
  takeToken,
  type AcceptedMessage,
  type Enforcement,
  type MessagingState,
  type RejectedMessage,
} from "./messaging-state.js";
import { checkTemplateSend } from "./template-check.js";
import { marketingStopped } from "./marketing-preferences.js";
import {
  findUser,
  inEntryPoint,
  learnFromDelivery,
  recordInbound,
  userIdFor,
  windowOpen,
  type SimUser,
} from "./user-directory.js";

/**
 * POST /{version}/{phone-number-id}/messages as Meta answers it (its answers, error codes and limits): a
 * wamid for an accepted send (to a phone number `to`, or a user id `recipient`), then signed `sent` →
 * `delivered` → `read` status webhooks with `recipient_user_id`, our biz_opaque_callback_data and the
 * pricing on `sent` and on `delivered` (or `read` when `delivered` is skipped); Meta's error bodies for faults and for sends over the number's
 * throughput (130429) or the pair rate (131056). When enforced (Enforcement), the 24-hour window
 * (131047 in a `failed` status, as Meta reports it), unknown user ids (131062) and template
 * parameters (132000…). Control routes under /_sim/messaging.
 */

const HTTP_FOR_CODE: Record<number, number> = {
  4: 429,
  80007: 429,
  130429: 429,
  131000: 500,
  131016: 503,
  131057: 503,
  0: 401,
  190: 401,
};
const TITLE: Record<number, string> = {
  0: "AuthException",
  190: "Invalid OAuth access token",
  4: "Application request limit reached",
  130429: "Rate limit hit",
  131000: "Something went wrong",
  131016: "Service unavailable",
  131026: "Message undeliverable",
  131047: "Re-engagement message",
  131050:
    "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.",
  131056: "(Business Account, Consumer Account) pair rate limit hit",
  131062: "Business-scoped user ID not found",
  132000: "Number of parameters does not match the expected number of params",
  132001: "Template name does not exist in the translation",
  132012: "Parameter format does not match format in the created template",
  132015: "Template is paused",
  132016: "Template is disabled",
};
/** Meta's details of a 131047 `failed` status. */
const WINDOW_DETAILS =
  "Message failed to send because more than 24 hours have passed since the customer last replied to this number.";

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
  /** Since July 2026: the recipient's business-scoped user id, instead of `to` (`to` wins when both are given). */
  recipient: z.string().min(1).optional(),
  type: z.string().optional(),
  status: z.string().optional(),
  message_id: z.string().optional(),
  biz_opaque_callback_data: z.string().max(512).optional(),
});

/**
 * The pricing Meta would report, decided when the message is accepted: a template inside a free
 * entry-point window (a chat from an ad) is free_entry_point; until 2026-09-30 free-form messages are
 * free service and a utility template inside the recipient's open window is free_customer_service;
 * from 2026-10-01 (MessagingState.serviceBilledFrom) both are billed (regular); any other template is billed by
 * its category.
 */
function pricingFor(s: MessagingState, m: AcceptedMessage, user: SimUser | undefined) {
  const windowFree = m.at < s.serviceBilledFrom;
  if (m.type !== "template")
    return { pricing: statusPricing("service", { type: windowFree ? "free_customer_service" : "regular" }) };
  const t = m.body.template as { name?: string; language?: { code?: string } } | undefined;
  const waba = s.numbers.get(m.phoneNumberId);
  const tpl = waba
    ? s.templates.get(waba)?.find((x) => x.name === t?.name && x.language === t?.language?.code)
    : undefined;
  const category = (tpl?.category ?? "UTILITY").toLowerCase();
  if (inEntryPoint(user, m.phoneNumberId, m.at)) {
    const until = user!.entryPointUntil.get(m.phoneNumberId)!;
    return {
      pricing: statusPricing(category, { type: "free_entry_point" }),
      // Since v24 the conversation object comes only for free entry-point windows.
      conversation: {
        id: `sim-ep-${m.phoneNumberId}-${until}`,
        expiration_timestamp: String(Math.floor(until / 1000)),
        origin: { type: "referral_conversion" },
      },
    };
  }
  if (windowFree && category === "utility" && windowOpen(user, m.phoneNumberId, m.at))
    return { pricing: statusPricing(category, { type: "free_customer_service" }) };
  return { pricing: statusPricing(category) };
}

export const messagingArea: SimArea = (app, ctx, done) => {
  const s = () => messagingState(ctx.state);
  const enforced = (what: keyof Enforcement): boolean =>
    s().enforcement[what] ??
    (what === "window" ? ctx.options.enforceWindow : ctx.options.enforceTemplateParams) ??
    false;
  // Every user message the simulator delivers, whichever route sends it, opens that user's window.
  const unsubscribe = ctx.webhooks.onSend((payload) => learnFromDelivery(s().users, payload));
  app.addHook("onClose", (_instance, closed) => {
    unsubscribe();
    closed();
  });

  function reject(
    reply: FastifyReply,
    r: Omit<RejectedMessage, "at" | "httpStatus"> & { httpStatus?: number },
    details?: string,
  ) {
    const httpStatus = r.httpStatus ?? HTTP_FOR_CODE[r.code] ?? 400;
    s().rejected.push({ ...r, httpStatus, at: Date.now() });
    return reply.code(httpStatus).send(errorBody(r.code, details));
  }

  function startStatusFlow(m: AcceptedMessage, user: SimUser | undefined, asyncFailure?: number) {
    const st = s();
    if (!st.statusFlow.enabled && asyncFailure === undefined) return;
    const business = { wabaId: st.numbers.get(m.phoneNumberId) ?? "0", phoneNumberId: m.phoneNumberId };
    const extra = m.bizOpaque ? { bizOpaque: m.bizOpaque } : {};
    // 131026 (not a WhatsApp user, or one who cannot receive it): Meta has no user id to report, so
    // the failed status and its contacts name the phone number only.
    const recipient = {
      ...(m.to ? { waId: m.to } : {}),
      userId: asyncFailure === 131026 && m.to ? null : (m.recipientUserId ?? null),
    };
    const details = asyncFailure === 131047 ? WINDOW_DETAILS : TITLE[asyncFailure ?? -1];
    // Pricing as Meta's status reference has it: on `sent`, and on one of `delivered` or `read`
    // (`read` only when `delivered` is skipped). A receiver must record it idempotently.
    const priced = { ...extra, ...pricingFor(st, m, user) };
    const { delivered, read } = st.statusFlow;
    const steps =
      asyncFailure !== undefined
        ? [
            statusObject(m.wamid, "failed", recipient, {
              ...extra,
              errors: [graphError(asyncFailure, TITLE[asyncFailure] ?? "Error", details)],
            }),
          ]
        : [
            statusObject(m.wamid, "sent", recipient, priced),
            ...(delivered ? [statusObject(m.wamid, "delivered", recipient, priced)] : []),
            ...(read ? [statusObject(m.wamid, "read", recipient, delivered ? extra : priced)] : []),
          ];
    const flow = (async () => {
      for (const status of steps) {
        if (st.statusFlow.stepDelayMs) await sleep(st.statusFlow.stepDelayMs);
        try {
          const res = await ctx.webhooks.send(statusDelivery(business, [status], [recipient]));
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
    // The key faults and pair rates are kept by: the phone number, else the user id.
    const to = parsed.success ? (parsed.data.to ?? parsed.data.recipient ?? "") : "";
    if (!token || st.revokedTokens.has(token))
      return reject(reply, { phoneNumberId, to, code: 190, cause: "auth" }, "Session has expired");
    if (!parsed.success) return reject(reply, { phoneNumberId, to, code: 100, cause: "invalid" }, "invalid body");
    const body = parsed.data;

    // Mark as read: not a message.
    if (body.status === "read" && body.message_id) return { success: true };
    if (!to || !body.type || !(body.type in body))
      return reject(
        reply,
        { phoneNumberId, to, code: 100, cause: "invalid" },
        "to (or recipient), type and the type's object are required",
      );
    // Meta's contact-information request: `body.text` and `action.name: "request_contact_info"`, nothing else.
    const contactRequestProblem = requestContactInfoProblem(body);
    if (contactRequestProblem)
      return reject(reply, { phoneNumberId, to, code: 100, cause: "invalid" }, contactRequestProblem);
    if (!body.to && !isUserId(body.recipient!)) {
      return reject(
        reply,
        { phoneNumberId, to, code: 100, cause: "invalid" },
        "recipient must be a business-scoped user id such as US.13491208655302741918",
      );
    }
    const user = body.to ? findUser(st.users, { waId: body.to }) : findUser(st.users, { userId: body.recipient });
    if (!body.to && !user && enforced("window"))
      return reject(
        reply,
        { phoneNumberId, to, code: 131062, cause: "unknown_user" },
        `no WhatsApp user has the id ${body.recipient}`,
      );
    if (isBlocked(ctx.state, phoneNumberId, user))
      return reject(
        reply,
        { phoneNumberId, to, code: 131026, cause: "blocked" },
        "The recipient is on this business number's blocklist",
      );
    if (body.type === "template" && enforced("templateParams")) {
      const waba = st.numbers.get(phoneNumberId);
      const problem = checkTemplateSend(
        waba ? st.templates.get(waba) : undefined,
        (body as { template?: object }).template ?? {},
      );
      if (problem) return reject(reply, { phoneNumberId, to, code: problem.code, cause: "template" }, problem.details);
    }

    const fault = st.faults.byRecipient.get(to);
    const faultApplies = fault && (!fault.types || fault.types.includes(body.type));
    if (fault && faultApplies && !fault.async) {
      if (fault.times !== undefined && --fault.times <= 0) st.faults.byRecipient.delete(to);
      return reject(reply, {
        phoneNumberId,
        to,
        code: fault.code,
        cause: "fault",
        ...(fault.httpStatus ? { httpStatus: fault.httpStatus } : {}),
      });
    }
    if (st.faults.storm && Math.random() < st.faults.storm.rate) {
      const codes = st.faults.storm.codes;
      return reject(reply, {
        phoneNumberId,
        to,
        code: codes[Math.floor(Math.random() * codes.length)]!,
        cause: "storm",
      });
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
      if (!takeToken(st, `n:${phoneNumberId}`, mps, 1_000 / mps))
        return reject(reply, { phoneNumberId, to, code: 130429, cause: "throughput" });
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
    const recipientUserId = body.to ? userIdFor(user, body.to) : body.recipient;
    const m: AcceptedMessage = {
      at: Date.now(),
      wamid: newWamid(),
      phoneNumberId,
      to: body.to ?? "",
      ...(recipientUserId ? { recipientUserId } : {}),
      type: body.type,
      body: body,
      bizOpaque: body.biz_opaque_callback_data ?? null,
      answerLost: loseAnswer,
    };
    st.accepted.push(m);
    if (fault && faultApplies && fault.async) {
      if (fault.times !== undefined && --fault.times <= 0) st.faults.byRecipient.delete(to);
      startStatusFlow(m, user, fault.code);
    } else if (
      body.type === "template" &&
      marketingStopped(
        ctx.state,
        phoneNumberId,
        [body.to, body.recipient],
        (body as { template?: { name?: unknown; language?: { code?: unknown } } }).template,
      )
    ) {
      // The user stopped marketing messages (user_preferences): accepted, then failed with 131050.
      startStatusFlow(m, user, 131050);
    } else if (
      body.type === "template" &&
      !windowOpen(user, phoneNumberId, m.at) &&
      !admitBusinessInitiated(portfolioState(ctx.state), st.numbers.get(phoneNumberId) ?? phoneNumberId, to, m.at)
    ) {
      // Over the portfolio's messaging limit: Meta accepts, then fails it with no code of its own.
      portfolioState(ctx.state).overLimit.push({
        at: m.at,
        wabaId: st.numbers.get(phoneNumberId) ?? phoneNumberId,
        to,
        wamid: m.wamid,
      });
      startStatusFlow(m, user, OVER_PORTFOLIO_LIMIT_CODE);
    } else if (body.type !== "template" && enforced("window") && !windowOpen(user, phoneNumberId, m.at)) {
      // Meta accepts a free-form message outside the window, then reports it failed.
      startStatusFlow(m, user, 131047);
    } else {
      startStatusFlow(m, user);
    }
    if (loseAnswer) {
      // Accepted, then the connection drops before the answer: the caller cannot know.
      reply.hijack();
      request.raw.socket?.destroy();
      return;
    }
    const contact = body.to ? { input: body.to, wa_id: body.to } : { input: body.recipient, user_id: body.recipient };
    return {
      messaging_product: "whatsapp",
      contacts: [contact],
      messages: [{ id: m.wamid, message_status: "accepted" }],
    };
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
    storm: z
      .strictObject({ rate: z.number().min(0).max(1), codes: z.array(z.number().int()).min(1) })
      .nullable()
      .optional(),
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
    const b = z
      .strictObject({
        enabled: z.boolean().optional(),
        stepDelayMs: z.number().int().min(0).optional(),
        delivered: z.boolean().optional(),
        read: z.boolean().optional(),
      })
      .safeParse(request.body);
    if (!b.success) return reply.code(400).send({ error: b.error.issues });
    Object.assign(s().statusFlow, b.data);
    return { ok: true };
  });

  /** Which of Meta's checks apply (window: 131047/131062; templateParams: 132000…); unset fields keep their value. */
  app.get("/_sim/messaging/enforcement", () => ({
    window: enforced("window"),
    templateParams: enforced("templateParams"),
  }));
  app.put("/_sim/messaging/enforcement", async (request, reply) => {
    const b = z
      .strictObject({ window: z.boolean().optional(), templateParams: z.boolean().optional() })
      .safeParse(request.body);
    if (!b.success) return reply.code(400).send({ error: b.error.issues });
    Object.assign(s().enforcement, b.data);
    return { window: enforced("window"), templateParams: enforced("templateParams") };
  });

  /**
   * A test tells the simulator that a user wrote to a number (at `lastInboundAt`, Unix seconds,
   * default now) without delivering anything: for conversations seeded straight into the database.
   */
  const windowBody = z
    .strictObject({
      phoneNumberId: z.string().min(1),
      waId: z
        .string()
        .regex(/^\d{6,20}$/, "must be a wa_id: digits with country code")
        .optional(),
      userId: z
        .string()
        .regex(/^[A-Z]{2}\.[A-Za-z0-9]{1,128}$/, "must be a business-scoped user id such as MA.12345678901234567890")
        .optional(),
      lastInboundAt: z.number().int().nonnegative().optional(),
      fromAd: z.boolean().optional(),
    })
    .refine((b) => b.waId || b.userId, { message: "give waId or userId", path: ["waId"] });
  app.post("/_sim/messaging/windows", async (request, reply) => {
    const b = windowBody.safeParse(request.body);
    if (!b.success) return reply.code(400).send({ error: b.error.issues });
    const at = (b.data.lastInboundAt ?? Number(unixNow())) * 1000;
    const user = recordInbound(
      s().users,
      b.data.phoneNumberId,
      { ...(b.data.waId ? { waId: b.data.waId } : {}), ...(b.data.userId ? { userId: b.data.userId } : {}) },
      at,
      b.data.fromAd,
    );
    return windowView(user, b.data.phoneNumberId);
  });
  app.get<{ Querystring: { phoneNumberId?: string; waId?: string; userId?: string } }>(
    "/_sim/messaging/windows",
    async (request, reply) => {
      const { phoneNumberId, waId, userId } = request.query;
      if (!phoneNumberId || (!waId && !userId))
        return reply.code(400).send({ error: [{ message: "phoneNumberId and waId or userId are required" }] });
      const user = findUser(s().users, { waId, userId });
      if (!user) return reply.code(404).send({ error: [{ message: "the simulator knows no such user" }] });
      return windowView(user, phoneNumberId);
    },
  );
  function windowView(user: SimUser | undefined, phoneNumberId: string) {
    const last = user?.lastInboundAt.get(phoneNumberId);
    const entryPointUntil = user?.entryPointUntil.get(phoneNumberId);
    return {
      waId: user?.waId ?? null,
      // The id statuses carry: the one learnt, else the simulator's id for the number.
      userId: userIdFor(user, user?.waId) ?? null,
      lastInboundAt: last !== undefined ? Math.floor(last / 1000) : null,
      open: windowOpen(user, phoneNumberId),
      entryPointUntil: entryPointUntil && entryPointUntil > Date.now() ? Math.floor(entryPointUntil / 1000) : null,
    };
  }

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
  app.get<{ Querystring: { phoneNumberId?: string; to?: string } }>("/_sim/messaging/sent", (request) => {
    const { phoneNumberId, to } = request.query;
    return {
      messages: s().accepted.filter(
        (m) => (!phoneNumberId || m.phoneNumberId === phoneNumberId) && (!to || m.to === to),
      ),
    };
  });

  app.get("/_sim/messaging/stats", () => ({ ...rateStats(s()), statusDeliveries: s().statusDeliveries }));

  app.post("/_sim/messaging/reset", () => {
    ctx.state.areas.set("messaging", newMessagingState());
    return { ok: true };
  });
  done();
};

/**
 * Why an interactive `request_contact_info` send is not as Meta documents it (null: it is, or it is
 * another type): `{ type: "request_contact_info", body: { text }, action: { name: "request_contact_info" } }`,
 * without a header, footer or other action fields (WhatsApp owns the button).
 */
function requestContactInfoProblem(body: Record<string, unknown>): string | null {
  const i = body.interactive as Record<string, unknown> | undefined;
  if (body.type !== "interactive" || !i || typeof i !== "object" || i.type !== "request_contact_info") return null;
  const text = (i.body as { text?: unknown } | undefined)?.text;
  if (typeof text !== "string" || !text.trim()) return "interactive.body.text is required for request_contact_info";
  const action = i.action as Record<string, unknown> | undefined;
  if (!action || action.name !== "request_contact_info" || Object.keys(action).length !== 1)
    return 'interactive.action must be { name: "request_contact_info" }';
  if (i.header !== undefined || i.footer !== undefined) return "request_contact_info takes no header or footer";
  return null;
}
