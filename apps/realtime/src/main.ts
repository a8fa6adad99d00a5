import pino from "pino";
import { jwtVerifierOptions } from "@linkojob/auth";
import { logOptions, onShutdownSignal, redisTargetOf } from "@linkojob/config";
import { Database } from "@linkojob/db";
import { createRedis } from "@linkojob/queues";
import { loadRealtimeEnv } from "./env.js";
import { createRealtimeServer } from "./realtime-server.js";

/** Bound on a graceful shutdown: past it, the process exits anyway (the orchestrator would kill it). */
const SHUTDOWN_TIMEOUT_MS = 15_000;

const env = loadRealtimeEnv();
// One Redis at REDIS_URL, a Redis Cluster (REDIS_CLUSTER_NODES) or the primary the Sentinels name (REDIS_SENTINELS).
const redisTarget = redisTargetOf(env);
const logger = pino({
  level: env.LOG_LEVEL,
  ...logOptions,
});

// Two connections: the adapter puts `sub` in subscriber mode, where it can run nothing else.
const pub = createRedis(redisTarget, { connectionName: "realtime-pub", logger });
const sub = createRedis(redisTarget, { connectionName: "realtime-sub", autoPipelining: false, logger });
for (const [name, redis] of [
  ["pub", pub],
  ["sub", sub],
] as const) {
  redis.on("error", (err: Error) => logger.warn({ err, connection: name }, "redis connection error"));
}
const db = await Database.connect(env.MONGODB_URI, { maxPoolSize: 5 });

const server = createRealtimeServer({
  pub,
  sub,
  db,
  jwtSecret: env.JWT_SECRET,
  jwt: jwtVerifierOptions(env),
  socketEventBudget: { events: env.SOCKET_EVENT_BUDGET, windowSeconds: env.SOCKET_EVENT_WINDOW_SECONDS },
  corsOrigin: env.CORS_ORIGIN,
  keyPrefix: env.QUEUE_PREFIX,
  logger,
});
await server.listen(env.PORT);

onShutdownSignal(
  logger,
  async () => {
    // Sockets first (their clients reconnect to another node), then the connections they used.
    await server.close();
    await Promise.allSettled([pub.quit(), sub.quit(), db.close()]);
  },
  { timeoutMs: SHUTDOWN_TIMEOUT_MS },
);
