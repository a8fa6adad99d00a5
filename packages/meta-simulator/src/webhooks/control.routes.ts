import type { FastifyReply, FastifyRequest } from "fastify";
import type { SimArea, SimContext } from "../simulator.js";
import { setMarketingPreference } from "../graph/marketing-preferences.js";
import { candidateReplyBody } from "./control/candidate-reply.schema.js";
import { deliveryLog, recordDeliveries } from "./control/delivery-log.js";
import {
  businessCapabilityChange,
  candidateReplyDelivery,
  echoDelivery,
  identityChangeDelivery,
  phoneQualityChange,
  statusUpdateDelivery,
  userPreferencesChange,
} from "./control/payload-builders.js";
import { deliverAndReply, parse, sendOptionsOf, sendProblem } from "./control/replies.js";
import {
  businessCapabilityBody,
  deliverBody,
  deliveriesQuery,
  echoBody,
  fieldBody,
  identityChangeBody,
  phoneQualityBody,
  statusBody,
  targetBody,
  userPreferencesBody,
} from "./control/schemas.js";
import { fieldDelivery } from "./payloads.js";
import type { SendOptions } from "./webhook-sender.js";

export { DELIVERY_LOG_SIZE, WEBHOOKS_AREA } from "./control/delivery-log.js";
export { KNOWN_REPLY_TYPES, type CandidateReplyBody } from "./control/candidate-reply.schema.js";

/** A route's handler, given the simulator it works on. */
type Handler = (ctx: SimContext) => (request: FastifyRequest, reply: FastifyReply) => unknown;

const deliver = (
  ctx: SimContext,
  reply: FastifyReply,
  payload: unknown,
  opts: SendOptions,
  extra?: Record<string, unknown>,
) => deliverAndReply(ctx.webhooks, reply, payload, opts, extra);

const readTarget: Handler = (ctx) => () => ({ url: ctx.webhooks.targetUrl ?? null });

const setTarget: Handler = (ctx) => async (request, reply) => {
  const body = parse(targetBody, request.body, reply);
  if (!body) return reply;
  ctx.webhooks.targetUrl = body.url;
  return { url: body.url };
};

const listDeliveries: Handler = (ctx) => async (request, reply) => {
  const query = parse(deliveriesQuery, request.query, reply, "query");
  if (!query) return reply;
  const log = deliveryLog(ctx);
  return { deliveries: query.limit ? log.slice(-query.limit) : log };
};

const clearDeliveries: Handler = (ctx) => async (_request, reply) => {
  deliveryLog(ctx).length = 0;
  return reply.code(204).send();
};

/** Signs and delivers a payload given as is (or exact raw text), e.g. a batch built by a test. */
const deliverAsGiven: Handler = (ctx) => async (request, reply) => {
  const body = parse(deliverBody, request.body, reply);
  if (!body) return reply;
  const opts: SendOptions = {
    ...sendOptionsOf(body),
    ...(body.signature !== undefined ? { signature: body.signature } : {}),
  };
  return deliver(ctx, reply, body.raw ?? body.payload, opts);
};

/** A candidate writes to a business number: one message of any type, delivered as Meta would. */
const candidateReply: Handler = (ctx) => async (request, reply) => {
  const body = parse(candidateReplyBody, request.body, reply);
  if (!body) return reply;
  const { payload, wamid } = candidateReplyDelivery(body);
  return deliver(ctx, reply, payload, sendOptionsOf(body), { wamid });
};

/** A candidate changes number or business-scoped user id: the 2026 `system` message, delivered. */
const identityChange: Handler = (ctx) => async (request, reply) => {
  const body = parse(identityChangeBody, request.body, reply);
  if (!body) return reply;
  const change = identityChangeDelivery(body);
  if (!change)
    return sendProblem(reply, 400, "BAD_REQUEST", "invalid body: previousUserId: give previousUserId or waId", [
      { path: "previousUserId", message: "give previousUserId or waId" },
    ]);
  return deliver(ctx, reply, change.payload, sendOptionsOf(body), { wamid: change.wamid, identity: change.identity });
};

/**
 * A candidate stops (or resumes) the business's marketing messages in WhatsApp: the simulator
 * remembers it (a MARKETING template to them is then accepted and failed with 131050, as Meta does)
 * and delivers the `user_preferences` webhook.
 */
const userPreferences: Handler = (ctx) => async (request, reply) => {
  const body = parse(userPreferencesBody, request.body, reply);
  if (!body) return reply;
  const change = userPreferencesChange(body);
  if (change.marketing) setMarketingPreference(ctx.state, body.wabaId, change.ids, body.value === "stop");
  return deliver(ctx, reply, change.payload, sendOptionsOf(body));
};

/** The recruiter writes from the WhatsApp Business app on a coexistence number: an smb_message_echoes delivery. */
const businessEcho: Handler = (ctx) => async (request, reply) => {
  const body = parse(echoBody, request.body, reply);
  if (!body) return reply;
  const { payload, wamid } = echoDelivery(body);
  return deliver(ctx, reply, payload, sendOptionsOf(body), { wamid });
};

/** A status update for a message the business sent (sent, delivered, read, failed…). */
const messageStatus: Handler = (ctx) => async (request, reply) => {
  const body = parse(statusBody, request.body, reply);
  if (!body) return reply;
  return deliver(ctx, reply, statusUpdateDelivery(body), sendOptionsOf(body));
};

/** `business_capability_update`: the portfolio's messaging limit changed. */
const businessCapability: Handler = (ctx) => async (request, reply) => {
  const body = parse(businessCapabilityBody, request.body, reply);
  if (!body) return reply;
  return deliver(ctx, reply, businessCapabilityChange(body), sendOptionsOf(body));
};

/** `phone_number_quality_update`, 2026 shape: `event` and the portfolio's `max_daily_conversations_per_business`. */
const phoneQuality: Handler = (ctx) => async (request, reply) => {
  const body = parse(phoneQualityBody, request.body, reply);
  if (!body) return reply;
  return deliver(ctx, reply, phoneQualityChange(body), sendOptionsOf(body));
};

/** A change of a non-messages field (account_update, message_template_status_update, …), value as given. */
const fieldChange: Handler = (ctx) => async (request, reply) => {
  const body = parse(fieldBody, request.body, reply);
  if (!body) return reply;
  return deliver(ctx, reply, fieldDelivery(body.wabaId, body.field, body.value, body.time), sendOptionsOf(body));
};

/**
 * The simulator's webhook control API, under /_sim/webhooks, /_sim/candidates and /_sim/business:
 * what tests, the demo page and benchmarks call to make "Meta" deliver something to the ingress.
 * Each handler parses its body (control/schemas.ts: a 400 names every problem), builds a Meta-shaped
 * payload (control/payload-builders.ts over payloads.ts), signs it and POSTs it to the webhook
 * target, then answers with the ingress's status (control/replies.ts).
 */
export const webhookControlArea: SimArea = (app, ctx, done) => {
  // Every delivery, whichever area sent it, goes in this area's log.
  const unsubscribe = recordDeliveries(ctx);
  app.addHook("onClose", (_instance, closed) => {
    unsubscribe();
    closed();
  });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err }, "control request failed");
    return sendProblem(reply, status, err.code ?? "INTERNAL_ERROR", err.message);
  });

  app.get("/_sim/webhooks/target", readTarget(ctx));
  app.put("/_sim/webhooks/target", setTarget(ctx));
  app.get("/_sim/webhooks/deliveries", listDeliveries(ctx));
  app.delete("/_sim/webhooks/deliveries", clearDeliveries(ctx));
  app.post("/_sim/webhooks/deliver", deliverAsGiven(ctx));
  app.post("/_sim/candidates/reply", candidateReply(ctx));
  app.post("/_sim/candidates/identity-change", identityChange(ctx));
  app.post("/_sim/candidates/user-preferences", userPreferences(ctx));
  app.post("/_sim/business/echo", businessEcho(ctx));
  app.post("/_sim/webhooks/status", messageStatus(ctx));
  app.post("/_sim/webhooks/business-capability", businessCapability(ctx));
  app.post("/_sim/webhooks/phone-quality", phoneQuality(ctx));
  app.post("/_sim/webhooks/field", fieldChange(ctx));
  done();
};
