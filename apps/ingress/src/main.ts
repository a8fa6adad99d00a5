import pino from "pino";
import { jwtVerifierOptions } from "@linkojob/auth";
import { logOptions, onShutdownSignal, redisTargetOf } from "@linkojob/config";
import { GatewayMetrics, metaCallObserver } from "@linkojob/metrics";
import { Database } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { createRedis, redisReady, viaSentinel } from "@linkojob/queues";
import { vaultFromEnv } from "@linkojob/vault";
import { GraphClient } from "@linkojob/whatsapp";
import { deploymentHasher } from "@linkojob/privacy";
import { buildApp } from "./app.js";
import { loadIngressEnv } from "./env.js";
import { createTemplateSyncHook } from "./templates/template-sync-hook.js";
import { onboardingConfigFromEnv } from "./onboarding/onboarding-config.js";

const env = loadIngressEnv();
// One Redis at REDIS_URL, a Redis Cluster (REDIS_CLUSTER_NODES) or the primary the Sentinels name (REDIS_SENTINELS).
const redisTarget = redisTargetOf(env);
const logger = pino({
  level: env.LOG_LEVEL,
  ...logOptions,
});

const redis = createRedis(redisTarget, { failFast: true, connectionName: "ingress", logger });
const eventsRedis = createRedis(redisTarget, { connectionName: "ingress-events", logger });
// The webhook connection refuses commands until ready: wait for it before taking traffic.
await redisReady(redis, 30_000);
const db = await Database.connect(env.MONGODB_URI);
// Onboarding: Graph API calls (pooled keep-alive) and the token vault (keys checked by env.ts).
const metrics = new GatewayMetrics({ service: "ingress" });
const graph = new GraphClient({
  baseUrl: env.META_GRAPH_URL,
  version: env.META_API_VERSION,
  observer: metaCallObserver(metrics),
});
const vault = vaultFromEnv(env);
const app = await buildApp({
  config: {
    appSecret: env.META_APP_SECRET,
    verifyToken: env.META_WEBHOOK_VERIFY_TOKEN,
    jwtSecret: env.JWT_SECRET,
    queuePrefix: env.QUEUE_PREFIX,
    ...(env.OUTBOUND_PRICE_TABLE ? { outboundPrices: env.OUTBOUND_PRICE_TABLE } : {}),
    jwt: jwtVerifierOptions(env),
    trustProxy: env.TRUST_PROXY,
    corsOrigin: env.CORS_ORIGIN,
    messagingLimitWindowMs: env.MESSAGING_LIMIT_WINDOW_MS,
    defaultSendingPolicy: { quietHours: env.SENDING_DEFAULT_QUIET_HOURS, timeZone: env.SENDING_DEFAULT_TIME_ZONE },
    personalDataHasher: deploymentHasher(env.PERSONAL_DATA_HASH_KEY, env.TOKEN_ENCRYPTION_KEY),
    retentionDefaults: {
      webhookEventsDays: env.RETENTION_WEBHOOK_EVENTS_DAYS,
      deadLettersDays: env.RETENTION_DEAD_LETTERS_DAYS,
      messagesMonths: env.RETENTION_MESSAGES_MONTHS,
    },
    // Behind Sentinel, a webhook or a send is acknowledged once the replica has it too (a failover then loses nothing acknowledged).
    ...(viaSentinel(redisTarget) && env.REDIS_REPLICA_WAIT_MS > 0
      ? { replicaAck: { replicas: 1, timeoutMs: env.REDIS_REPLICA_WAIT_MS } }
      : {}),
  },
  redis,
  db,
  events: new DashboardEvents(eventsRedis),
  logger,
  onboarding: {
    config: onboardingConfigFromEnv(env),
    graph,
    vault,
    templateSync: createTemplateSyncHook(db, graph, vault),
  },
  ops: {
    metrics,
    metricsToken: env.METRICS_TOKEN,
    rateLimit: {
      windowMs: env.RATE_LIMIT_WINDOW_MS,
      anonymousMax: env.RATE_LIMIT_ANONYMOUS_MAX,
      userMax: env.RATE_LIMIT_USER_MAX,
      serviceMax: env.RATE_LIMIT_SERVICE_MAX,
    },
    bullBoard: { allowActions: env.BULL_BOARD_ALLOW_ACTIONS, secureCookie: env.BASE_URL.startsWith("https:") },
  },
  inbox: { realtimeUrl: env.REALTIME_PUBLIC_URL, demoSimUrl: env.DEMO_SIM_URL },
});
await app.listen({ port: env.PORT, host: "0.0.0.0" });

onShutdownSignal(
  logger,
  async () => {
    await app.close(); // stops intake and waits for requests in flight
    await Promise.allSettled([redis.quit(), eventsRedis.quit(), db.close(), graph.close()]);
  },
  { timeoutMs: 15_000 },
);
