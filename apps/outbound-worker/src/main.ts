import { readFileSync } from "node:fs";
import pino from "pino";
import { logOptions, onShutdownSignal, redisTargetOf } from "@linkojob/config";
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
import { deploymentHasher } from "@linkojob/privacy";
import { loadOutboundEnv } from "./env.js";
import { OutboundWorker } from "./outbound-worker.js";
import { trackSendWork } from "./send/send-readiness.js";

const env = loadOutboundEnv();
// One Redis at REDIS_URL, a Redis Cluster (REDIS_CLUSTER_NODES) or the primary the Sentinels name (REDIS_SENTINELS).
const redisTarget = redisTargetOf(env);
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
  personalDataHasher: deploymentHasher(env.PERSONAL_DATA_HASH_KEY, env.TOKEN_ENCRYPTION_KEY),
  concurrency: env.OUTBOUND_CONCURRENCY,
  campaignConcurrency: env.OUTBOUND_CAMPAIGN_CONCURRENCY,
  campaignGiveWayMs: env.OUTBOUND_CAMPAIGN_GIVE_WAY_MS,
  expansionPacing: { sliceSize: env.CAMPAIGN_EXPANSION_SLICE, idleRatio: env.CAMPAIGN_EXPANSION_IDLE_RATIO },
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

// Ready means: Redis and MongoDB answer a ping now, and the sends are not failing through this
// process's own calls: READY_FAILING_FOR_MS of attempts that all failed on MongoDB or Redis (10 at
// least) reports not ready even when the pings pass. Meta's errors never count: a 5xx or throttling
// storm is not this process's fault, and restarting it would only lose the sends in flight.
const work = worker.bullWorker ? trackSendWork(worker.bullWorker, { failingForMs: env.READY_FAILING_FOR_MS }) : null;
const health = startHealthServer(
  env.HEALTH_PORT,
  metrics,
  {
    redis: () => redis.ping().then(() => true),
    mongo: () => db.ping(),
    ...(work ? { work: work.check } : {}),
  },
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
