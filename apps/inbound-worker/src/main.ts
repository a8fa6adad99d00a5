import pino from "pino";
import { logOptions, onShutdownSignal, redisTargetOf } from "@linkojob/config";
import {
  FailingStreak,
  GatewayMetrics,
  collectQueueCounts,
  instrumentWorker,
  metaCallObserver,
  startHealthServer,
} from "@linkojob/metrics";
import { Database } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { vaultFromEnv } from "@linkojob/vault";
import { GraphClient } from "@linkojob/whatsapp";
import { deploymentHasher } from "@linkojob/privacy";
import { loadInboundEnv } from "./env.js";
import { InboundWorker } from "./inbound-worker.js";

const env = loadInboundEnv();
// One Redis at REDIS_URL, a Redis Cluster (REDIS_CLUSTER_NODES) or the primary the Sentinels name (REDIS_SENTINELS).
const redisTarget = redisTargetOf(env);
const logger = pino({ level: env.LOG_LEVEL, ...logOptions });

const queueRedis = createRedis(redisTarget, { connectionName: "inbound-queue", logger });
const pumpRedis = createRedis(redisTarget, { connectionName: "inbound-pump", autoPipelining: false, logger });
const subscriberRedis = createRedis(redisTarget, { connectionName: "inbound-sub", autoPipelining: false, logger });
const eventsRedis = createRedis(redisTarget, { connectionName: "inbound-events", logger });
const db = await Database.connect(env.MONGODB_URI, {
  onHeartbeatStall: (stall) =>
    logger.warn(stall, "MongoDB driver's server monitor stuck after an outage: reopening the connection"),
  onReopenFailed: (err) => logger.warn({ err }, "MongoDB connection could not be reopened yet; retrying"),
});
const metrics = new GatewayMetrics({ service: "inbound-worker" });
const graph = new GraphClient({
  baseUrl: env.META_GRAPH_URL,
  version: env.META_API_VERSION,
  observer: metaCallObserver(metrics),
});

const worker = new InboundWorker({
  db,
  queueRedis,
  pumpRedis,
  subscriberRedis,
  events: new DashboardEvents(eventsRedis),
  logger,
  prefix: env.QUEUE_PREFIX,
  concurrency: env.INBOUND_CONCURRENCY,
  ...(env.OUTBOUND_PRICE_TABLE ? { prices: env.OUTBOUND_PRICE_TABLE } : {}),
  metrics,
  media: {
    graph,
    graphBaseUrl: env.META_GRAPH_URL,
    vault: vaultFromEnv(env),
    concurrency: env.MEDIA_CONCURRENCY,
  },
  personalData: {
    hasher: deploymentHasher(env.PERSONAL_DATA_HASH_KEY, env.TOKEN_ENCRYPTION_KEY),
    policy: {
      webhookEventsDays: env.RETENTION_WEBHOOK_EVENTS_DAYS,
      deadLettersDays: env.RETENTION_DEAD_LETTERS_DAYS,
      messagesMonths: env.RETENTION_MESSAGES_MONTHS,
    },
    purgeEveryMs: env.RETENTION_PURGE_EVERY_MS,
    batchSize: env.RETENTION_PURGE_BATCH,
    pauseMs: env.RETENTION_PURGE_PAUSE_MS,
    pauseFactor: env.RETENTION_PURGE_PAUSE_FACTOR,
    maxYieldMs: env.RETENTION_PURGE_MAX_YIELD_MS,
  },
});
await worker.start();
logger.info({ concurrency: env.INBOUND_CONCURRENCY }, "inbound worker started");

// /metrics on the HEALTH_PORT listener: attempts and durations of the jobs this process runs, and the
// counts of the queues it consumes (read from Redis when scraped).
if (worker.bullWorker) instrumentWorker(worker.bullWorker, metrics);
collectQueueCounts(metrics, [worker.queue, ...(worker.upkeep ? [worker.upkeep.queue] : [])]);

// Ready means: Redis and MongoDB answer a ping now, and the work is not failing: a minute of webhook
// attempts that all failed (10 at least; a delivery turned into a dead letter is not a failure of
// the process) reports not ready even when the pings pass, so that an orchestrator restarts it.
const work = new FailingStreak({ failingForMs: env.READY_FAILING_FOR_MS });
worker.bullWorker?.on("completed", () => work.succeeded());
worker.bullWorker?.on("failed", (_job, err) => {
  if (err.name !== "UnrecoverableError") work.failed();
});
const health = startHealthServer(
  env.HEALTH_PORT,
  metrics,
  { redis: () => queueRedis.ping().then(() => true), mongo: () => db.ping(), work: work.check },
  { metricsToken: env.METRICS_TOKEN },
);

onShutdownSignal(
  logger,
  async () => {
    health?.close();
    await worker.close(); // the pump, then the workers after their active jobs
    await graph.close();
    await Promise.allSettled([
      queueRedis.quit(),
      pumpRedis.quit(),
      subscriberRedis.quit(),
      eventsRedis.quit(),
      db.close(),
    ]);
  },
  { timeoutMs: 30_000 },
);
