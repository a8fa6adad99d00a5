import { randomUUID } from "node:crypto";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifySerializerCompiler } from "fastify";
import type { $ZodType } from "zod/v4/core";
import { serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import type { RedisClient } from "@linkojob/queues";
import { JwtVerifier, type JwtVerifierOptions } from "@linkojob/auth";
import type { Database } from "@linkojob/db";
import type { DashboardEvents } from "@linkojob/events";
import { HEALTH_BODY, readiness } from "@linkojob/metrics";
import type { TokenVault } from "@linkojob/vault";
import type { GraphClient } from "@linkojob/whatsapp";
import { authPlugin } from "./auth/auth.plugin.js";
import { TenantAccess } from "./auth/tenant-access.js";
import { conversationRoutes } from "./conversations/conversations.routes.js";
import { ReadReceipts } from "./conversations/read-receipts.js";
import { installErrorHandler } from "./http/errors.js";
import { lazyChildLoggerFactory } from "./http/lazy-child-logger.js";
import { onboardingRoutes, type OnboardingDeps } from "./onboarding/onboarding.routes.js";
import { WebhookInbox } from "./webhook/webhook-inbox.js";
import { webhookRoutes } from "./webhook/webhook.routes.js";
import { Queue } from "bullmq";
import {
  CAMPAIGN_EXPANSION_QUEUE,
  OUTBOUND_CAMPAIGN_QUEUE,
  duplicateRedis,
  redisReady,
  type CampaignExpansionJob,
  type OutboundJob,
} from "@linkojob/queues";
import { SendAcceptance } from "./sends/send-acceptance.js";
import { CampaignAcceptance } from "./campaigns/campaign-acceptance.js";
import { campaignRoutes } from "./campaigns/campaigns.routes.js";
import { sendRoutes } from "./sends/sends.routes.js";
import { costRoutes } from "./costs/costs.routes.js";
import { analyticsRoutes } from "./analytics/analytics.routes.js";
import { analyticsPagePlugin } from "./analytics/analytics.plugin.js";
import { templateRoutes } from "./templates/templates.routes.js";
import { mediaRoutes } from "./media/media.routes.js";
import { MediaUrlSigner } from "./media/media-url-signer.js";
import { registerOps, type OpsOptions } from "./ops/ops.js";
import { inboxPlugin, type InboxOptions } from "./inbox/inbox.plugin.js";
import {
  CandidateBlocking,
  DEFAULT_PRICE_TABLE_MAD,
  OptOutRegister,
  SendCaches,
  SendGate,
  SendIntake,
  SendState,
  lazyWorkerAnalytics,
  type PriceTable,
  type SendingPolicy,
  CampaignProgress,
} from "@linkojob/outbound";
import { optOutRoutes } from "./opt-outs/opt-outs.routes.js";
import { sendingPolicyRoutes } from "./sending-policy/sending-policy.routes.js";
import { asyncApiRoutes } from "./ops/asyncapi.routes.js";
import {
  DEFAULT_RETENTION,
  ErasureRequests,
  TenantRetention,
  prefixHasher,
  type IdentifierHasher,
  type RetentionPolicy,
} from "@linkojob/privacy";
import { erasureRoutes } from "./privacy/erasure.routes.js";
import { blockRoutes } from "./blocks/blocks.routes.js";
import { retentionRoutes } from "./privacy/retention.routes.js";
import { registerCors } from "./ops/cors.js";
import type { TrustProxy } from "./ops/trust-proxy.js";
import { FlowEndpointRepository } from "@linkojob/db";
import { FlowManagement } from "./flows/flow-management.js";
import { flowRoutes } from "./flows/flows.routes.js";
import { flowExchangeRoutes } from "./flows/flow-exchange.routes.js";
import { FlowScreenRegistry, InterviewSlotsHandler } from "./flows/flow-screens.js";

export interface IngressConfig {
  appSecret: string;
  verifyToken: string;
  jwtSecret: string;
  queuePrefix: string;
  /** Prices per pricing category (OUTBOUND_PRICE_TABLE) of the send API's answer and the preview. */
  outboundPrices?: PriceTable;
  /** aud / iss checks and the admin token age cap (JWT_AUDIENCE, JWT_ISSUER, JWT_ADMIN_MAX_AGE_SECONDS). */
  jwt?: JwtVerifierOptions;
  /** Proxies trusted for X-Forwarded-For (TRUST_PROXY). Default false: the TCP peer is the client. */
  trustProxy?: TrustProxy;
  /** Browser origins allowed by CORS (CORS_ORIGIN). Default: no CORS headers. */
  corsOrigin?: true | string[];
  /** The portfolio messaging budget's moving window (MESSAGING_LIMIT_WINDOW_MS). Default 24 h. */
  messagingLimitWindowMs?: number;
  /** The sending policy of tenants that set none (SENDING_DEFAULT_*). Default: no quiet hours. */
  defaultSendingPolicy?: SendingPolicy;
  /**
   * Keyed hashes of erased candidates' identifiers (PERSONAL_DATA_HASH_KEY, or derived from
   * TOKEN_ENCRYPTION_KEY: deploymentHasher): the erasure's lookup and the send API's check of opt-outs
   * an erasure kept as hashes. Default: prefixHasher(queuePrefix), as the workers' default (tests).
   */
  personalDataHasher?: IdentifierHasher;
  /** The retention defaults a tenant's own periods replace (RETENTION_*). Default DEFAULT_RETENTION (30 days, 90 days, 24 months). */
  retentionDefaults?: RetentionPolicy;
  /** Redis behind Sentinel: a webhook is answered 200, and a send 202, only once this many replicas have it (WAIT). */
  replicaAck?: { replicas: number; timeoutMs: number };
}

export interface IngressDeps {
  config: IngressConfig;
  /** Fail-fast connection (no offline queue) for the webhook path: Redis down means 503 at once. */
  redis: RedisClient;
  db: Database;
  events: DashboardEvents;
  /** A pino logger (none: silent). */
  logger?: FastifyBaseLogger;
  /** Recruiter onboarding (Embedded Signup, disconnect, manual connect); its routes are absent without it. */
  onboarding?: OnboardingDeps;
  /** Operations: metrics registry, rate limits (none when absent), Bull Board settings. /docs, /metrics and Bull Board are always on. */
  ops?: OpsOptions;
  /** The recruiter inbox page at /inbox (realtime URL, demo simulator); served with defaults when absent. */
  inbox?: InboxOptions;
  /**
   * What the flows' data-exchange endpoint answers per screen (flows/flow-screens.ts). Default: the
   * interview-slots handler. The flows routes and the endpoint need `onboarding` (Graph client, vault).
   */
  flowScreens?: (endpoints: FlowEndpointRepository) => FlowScreenRegistry;
  /**
   * The Graph API and the token vault for calls made on a tenant's behalf from the API (blocking a
   * candidate). Default: onboarding's; without either, those routes answer 503.
   */
  meta?: { graph: GraphClient; vault: TokenVault };
}

/**
 * fastify-type-provider-zod's declaration of serializerCompiler imports "fastify/types/schema",
 * which does not resolve under NodeNext (no extension, no exports map), so its type is lost; this is
 * the type it declares, through fastify's own export.
 */
const zodSerializerCompiler = serializerCompiler as FastifySerializerCompiler<$ZodType | { properties: $ZodType }>;

/** Builds the ingress without listening: main.ts listens, tests use inject or listen on port 0. */
export async function buildApp(deps: IngressDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    // Per-request log lines would cost the webhook path a third of its throughput; errors are logged.
    disableRequestLogging: true,
    // Never `true`: the left-most X-Forwarded-For address is written by the client.
    trustProxy: deps.config.trustProxy ?? false,
    bodyLimit: 1024 * 1024,
    // Request ids in every log line (reqId): the caller's X-Request-Id when given, else a UUID.
    requestIdHeader: "x-request-id",
    genReqId: () => randomUUID(),
    childLoggerFactory: lazyChildLoggerFactory,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(zodSerializerCompiler);
  installErrorHandler(app);

  // A PATCH or POST with Content-Type: application/json and no body is common; treat it as {}.
  // Anything else goes through Fastify's own parser (secure-json-parse), which refuses `__proto__`
  // and `constructor.prototype` keys: a plain JSON.parse keeps them as own keys, and a later spread or
  // merge of the body would then set the prototype of the object it builds.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
    const text = String(body);
    if (text.trim() === "") return done(null, {});
    void parseJson(req, text, (parseError: Error | null, value?: unknown) => {
      if (!parseError) return done(null, value);
      // Fastify's parser answers both cases with one error: valid JSON it refused is a poisoned key.
      const poisoned = isJson(text);
      const err = poisoned
        ? Object.assign(new Error("the body holds a __proto__ or constructor.prototype key, which is refused"), {
            statusCode: 400,
            code: "FORBIDDEN_JSON_KEY",
          })
        : Object.assign(new Error("the body is not valid JSON"), { statusCode: 400, code: "MALFORMED_JSON" });
      done(err, undefined);
    });
  });

  if (deps.config.corsOrigin) await registerCors(app, deps.config.corsOrigin);
  // Before the routes: the OpenAPI document and the rate limiter attach to routes as they are declared.
  await registerOps(
    app,
    { redis: deps.redis, prefix: deps.config.queuePrefix, jwtSecret: deps.config.jwtSecret, jwt: deps.config.jwt },
    deps.ops,
  );

  // The webhook path gets a connection of its own. ioredis replays every Lua script defined on a
  // connection (BullMQ defines ~50 per Queue) with each auto-pipelined batch; on the connection the
  // queues use, that cost ~8 µs per webhook (apps/ingress/bench/README.md).
  const webhookRedis = duplicateRedis(deps.redis, "ingress-webhook");
  app.addHook("onClose", (_instance, done) => {
    webhookRedis.disconnect();
    done();
  });
  await redisReady(webhookRedis).catch(() => undefined); // Redis down at start: 503s until it is back
  const inbox = new WebhookInbox(webhookRedis, deps.config.queuePrefix, deps.config.replicaAck);
  await app.register(webhookRoutes, { inbox, appSecret: deps.config.appSecret, verifyToken: deps.config.verifyToken });

  // The send API's state in Redis, written here too by onboarding and the on-demand template sync.
  const hasher = deps.config.personalDataHasher ?? prefixHasher(deps.config.queuePrefix);
  const sendState = new SendState({ redis: deps.redis, prefix: deps.config.queuePrefix, db: deps.db, hasher });
  await app.register(authPlugin, { verifier: new JwtVerifier(deps.config.jwtSecret, deps.config.jwt) });
  const tenants = new TenantAccess(deps.db);
  // Read receipts and typing at Meta, sent by the outbound worker from RECEIPT_QUEUE.
  const receipts = new ReadReceipts(deps.db, deps.redis, deps.config.queuePrefix, app.log);
  app.addHook("onClose", async () => receipts.close());
  await app.register(conversationRoutes, { tenants, events: deps.events, receipts });
  if (deps.onboarding) {
    await app.register(onboardingRoutes, {
      ...deps.onboarding,
      db: deps.db,
      redis: deps.redis,
      events: deps.events,
      tenants,
      sendState,
    });
  }

  // Outbound: the send API appends accepted sends to the send stream (one XADD, and behind Sentinel a
  // WAIT for the replica's copy, as webhooks; a Redis failure surfaces on the request as 503); the
  // outbound worker pumps them into its queue and talks to Meta. Every Redis command of a send (the
  // MGET, Idempotency-Keys, the budget's script, the XADD) goes on a connection of its own, as the
  // webhook's: on the queues' connection each auto-pipelined batch copies BullMQ's ~50 scripts into a
  // new pipeline object, 9–13 % of the bytes the process allocated per send at 300 req/s
  // (e2e/bench/send-api.bench.ts), and more garbage is more collections on the send API's path.
  // Auto-pipelined still: without it (tried), each command is a write system call of its own, a
  // quarter of the process's CPU at saturation, for a few collections fewer at 300 req/s.
  const sendRedis = duplicateRedis(deps.redis, "ingress-sends");
  app.addHook("onClose", (_instance, done) => {
    sendRedis.disconnect();
    done();
  });
  await redisReady(sendRedis).catch(() => undefined); // Redis down at start: 503s until it is back
  const intake = new SendIntake(sendRedis, deps.config.queuePrefix, deps.config.replicaAck);
  // The same state as `sendState`, read (and its Idempotency-Keys written) on the send connection.
  const acceptanceState = new SendState({ redis: sendRedis, prefix: deps.config.queuePrefix, db: deps.db, hasher });
  // The clients and templates the send API and the preview plan with, dropped on change announcements.
  const sendCaches = new SendCaches(deps.db);
  const cachesRedis = duplicateRedis(deps.redis, "ingress-send-caches");
  app.addHook("onClose", async () => {
    await sendCaches.close();
    await acceptance.caches.close();
    cachesRedis.disconnect();
  });
  void sendCaches
    .subscribe(cachesRedis)
    .catch((err: Error) => app.log.warn({ err: err.message }, "send caches not subscribed: every send reads"));
  const outbound = {
    caches: sendCaches,
    prices: deps.config.outboundPrices ?? DEFAULT_PRICE_TABLE_MAD,
    optOuts: sendState.optOuts,
  };
  // The send API decides from the send state in Redis (no MongoDB on its path), its clients and
  // templates kept in process and dropped on the same announcements.
  const gate = new SendGate({
    redis: sendRedis,
    prefix: deps.config.queuePrefix,
    db: deps.db,
    budgetWindowMs: deps.config.messagingLimitWindowMs,
    defaultPolicy: deps.config.defaultSendingPolicy,
  });
  const acceptance = new SendAcceptance(deps.db, intake, acceptanceState, { prices: outbound.prices, gate });
  void acceptance.caches
    .subscribe(cachesRedis)
    .catch((err: Error) => app.log.warn({ err: err.message }, "send state not subscribed: every send reads Redis"));
  await app.register(sendRoutes, { tenants, acceptance });
  await app.register(sendingPolicyRoutes, { acceptance, gate });
  // Campaigns: stored here, each recipient through the send API's own decision in the outbound worker, in the campaign lane; counts in Redis.
  const campaignQueue = new Queue<OutboundJob>(OUTBOUND_CAMPAIGN_QUEUE, {
    connection: deps.redis,
    prefix: deps.config.queuePrefix,
  });
  campaignQueue.on("error", (err) => app.log.warn({ err: err.message }, "campaign queue connection error"));
  app.addHook("onClose", async () => campaignQueue.close());
  const campaignProgress = new CampaignProgress({
    redis: deps.redis,
    prefix: deps.config.queuePrefix,
    events: deps.events,
    db: deps.db,
    logger: app.log,
  });
  app.addHook("onClose", async () => campaignProgress.close());
  // A campaign is stored and expanded by the outbound worker (one job on the expansion queue).
  const expansionQueue = new Queue<CampaignExpansionJob>(CAMPAIGN_EXPANSION_QUEUE, {
    connection: deps.redis,
    prefix: deps.config.queuePrefix,
  });
  expansionQueue.on("error", (err) => app.log.warn({ err: err.message }, "campaign expansion queue connection error"));
  app.addHook("onClose", async () => expansionQueue.close());
  const campaignAcceptance = new CampaignAcceptance({ db: deps.db, acceptance, expansions: expansionQueue });
  await app.register(campaignRoutes, {
    db: deps.db,
    tenants,
    queue: campaignQueue,
    acceptance,
    campaigns: campaignAcceptance,
    progress: campaignProgress,
  });
  await app.register(costRoutes, { tenants });
  // The candidates' opt-out register: recruiters and the platform record (and list) opt-outs.
  const optOutRegister = new OptOutRegister({ db: deps.db, state: sendState.optOuts, events: deps.events });
  await app.register(optOutRoutes, { tenants, register: optOutRegister });
  // A candidate's erasure: filed here, run by the inbound worker (ERASURE_QUEUE).
  const erasures = new ErasureRequests(deps.db, deps.redis, deps.config.queuePrefix, hasher);
  app.addHook("onClose", async () => erasures.close());
  await app.register(erasureRoutes, { tenants, erasures });
  // Blocking candidates on the tenant's number (Meta's Block Users API), with the tenant's token.
  const meta = deps.meta ?? (deps.onboarding ? { graph: deps.onboarding.graph, vault: deps.onboarding.vault } : null);
  await app.register(blockRoutes, {
    tenants,
    ...(meta
      ? {
          blocking: new CandidateBlocking({
            db: deps.db,
            graph: meta.graph,
            events: deps.events,
            token: (client) => meta.vault.decrypt(client.accessToken ?? null, client._id.toHexString()),
          }),
        }
      : {}),
  });
  // A tenant's retention periods, honoured by the inbound worker's retention purge.
  await app.register(retentionRoutes, {
    tenants,
    retention: new TenantRetention(deps.db, deps.config.retentionDefaults ?? DEFAULT_RETENTION),
  });
  const analytics = lazyWorkerAnalytics(deps.db, deps.redis, deps.config.queuePrefix, app.log);
  await app.register(analyticsRoutes, { tenants, analytics, db: deps.db });
  await app.register(analyticsPagePlugin);
  await app.register(templateRoutes, {
    tenants,
    db: deps.db,
    sendState,
    ...(deps.onboarding ? { sync: { graph: deps.onboarding.graph, vault: deps.onboarding.vault } } : {}),
  });

  // WhatsApp Flows: management through the Graph API, and the data-exchange endpoint.
  if (deps.onboarding) {
    const endpoints = new FlowEndpointRepository(deps.db.connection);
    await endpoints
      .ensureIndexes()
      .catch((err: Error) => app.log.warn({ err: err.message }, "flow_endpoints indexes not ensured"));
    const { graph, vault } = deps.onboarding;
    const flows = new FlowManagement({ db: deps.db, endpoints, graph, vault, baseUrl: deps.onboarding.config.baseUrl });
    await app.register(flowRoutes, { tenants, flows });
    const screens =
      deps.flowScreens?.(endpoints) ??
      new FlowScreenRegistry().register(new InterviewSlotsHandler(endpoints), { initial: true });
    await app.register(flowExchangeRoutes, {
      db: deps.db,
      endpoints,
      vault,
      appSecret: deps.config.appSecret,
      screens,
    });
  }

  await app.register(inboxPlugin, { ...deps.inbox, tenants, db: deps.db, outbound });
  await app.register(asyncApiRoutes, { realtimeUrl: deps.inbox?.realtimeUrl });

  // Media: stored copies of inbound media, JWT or signed URL, tenant-scoped.
  await app.register(mediaRoutes, { db: deps.db, tenants, signer: new MediaUrlSigner(deps.config.jwtSecret) });

  app.get("/health", { config: { public: true, rateLimit: false } }, () => HEALTH_BODY);
  app.get("/ready", { config: { public: true, rateLimit: false } }, async (_req, reply) => {
    const { statusCode, body } = await readiness({
      redis: async () => Boolean(await deps.redis.ping()),
      mongo: () => deps.db.ping(),
    });
    return reply.code(statusCode).send(body);
  });
  return app;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
