import { readFileSync } from "node:fs";
import pino from "pino";
import { logOptions, onShutdownSignal } from "@linkojob/config";
import {
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
import { loadOutboundEnv } from "./env.js";
import { OutboundWorker } from "./outbound-worker.js";

const env = loadOutboundEnv();
// One Redis at REDIS_URL, or a Redis Cluster when REDIS_CLUSTER_NODES is set.
const redisTarget = { url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES };
const logger = pino({ level: env.LOG_LEVEL, ...logOptions });
const metrics = new GatewayMetrics({ service: "outbound-worker" });

const queueRedis = createRedis(redisTarget, { connectionName: "outbound-queue", logger });
const redis = createRedis(redisTarget, { connectionName: "outbound-cmd", logger });
const subscriberRedis = createRedis(redisTarget, { connectionName: "outbound-sub", autoPipelining: false, logger });
const eventsRedis = createRedis(redisTarget, { connectionName: "outbound-events", logger });
const db = await Database.connect(env.MONGODB_URI);
const graph = new GraphClient({
  baseUrl: env.META_GRAPH_URL,
  version: env.META_API_VERSION,
  connections: Math.max(8, env.OUTBOUND_CONCURRENCY),
  observer: metaCallObserver(metrics),
});
const vault = vaultFromEnv(env);

const worker = new OutboundWorker({
  db,
  queueRedis,
  redis,
  subscriberRedis,
  graph,
  vault,
  events: new DashboardEvents(eventsRedis),
  logger,
  prefix: env.QUEUE_PREFIX,
  concurrency: env.OUTBOUND_CONCURRENCY,
  retryBaseMs: env.OUTBOUND_RETRY_BASE_MS,
  templateSyncIntervalMs: env.TEMPLATE_SYNC_INTERVAL_MS,
  messagingLimitWindowMs: env.MESSAGING_LIMIT_WINDOW_MS,
  messagingLimitRefreshMs: env.MESSAGING_LIMIT_REFRESH_MS,
  defaultSendingPolicy: { quietHours: env.SENDING_DEFAULT_QUIET_HOURS, timeZone: env.SENDING_DEFAULT_TIME_ZONE },
  send: {
    sendTimeoutMs: env.OUTBOUND_SEND_TIMEOUT_MS,
    uncertainGraceMs: env.OUTBOUND_UNCERTAIN_GRACE_MS,
    ...(env.OUTBOUND_PRICE_TABLE ? { prices: env.OUTBOUND_PRICE_TABLE } : {}),
  },
  mediaFetch: {
    allowPrivateHosts: env.OUTBOUND_MEDIA_ALLOW_PRIVATE_HOSTS,
    ...(env.OUTBOUND_MEDIA_CA_FILE ? { ca: readFileSync(env.OUTBOUND_MEDIA_CA_FILE, "utf8") } : {}),
  },
  pacing: {
    throughputFactor: env.OUTBOUND_THROUGHPUT_FACTOR,
    recipientIntervalMs: env.OUTBOUND_RECIPIENT_INTERVAL_MS,
    recipientBurst: env.OUTBOUND_RECIPIENT_BURST,
  },
});
await worker.start();
logger.info({ concurrency: env.OUTBOUND_CONCURRENCY }, "outbound worker started");

// /metrics on the HEALTH_PORT listener: send attempts and durations, sends by kind, template
// fallbacks and held sends by tenant (from each job's SendOutcome), and the outbound queue's counts.
if (worker.bullWorker)
  instrumentWorker(worker.bullWorker, metrics, (job, outcome) => metrics.sendOutcome(job.data.clientId, outcome));
collectQueueCounts(metrics, [worker.queue]);

const health = startHealthServer(
  env.HEALTH_PORT,
  metrics,
  { redis: () => redis.ping().then(() => true), mongo: () => db.ping() },
  { metricsToken: env.METRICS_TOKEN },
);

onShutdownSignal(
  logger,
  async () => {
    health?.close();
    await worker.close(); // finishes active sends
    await graph.close();
    await Promise.allSettled([queueRedis.quit(), redis.quit(), subscriberRedis.quit(), eventsRedis.quit(), db.close()]);
  },
  { timeoutMs: 30_000 },
);
