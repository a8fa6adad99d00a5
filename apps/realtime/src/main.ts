import pino from "pino";
import { logRedaction } from "@linkojob/config";
import { Database } from "@linkojob/db";
import { createRedis } from "@linkojob/queues";
import { loadRealtimeEnv } from "./env";
import { createRealtimeServer } from "./realtime-server";

/** Bound on a graceful shutdown: past it, the process exits anyway (the orchestrator would kill it). */
const SHUTDOWN_TIMEOUT_MS = 15_000;

const env = loadRealtimeEnv();
const logger = pino({
  level: env.LOG_LEVEL,
  redact: logRedaction,
});

// Two connections: the adapter puts `sub` in subscriber mode, where it can run nothing else.
const pub = createRedis(env.REDIS_URL, { connectionName: "realtime-pub" });
const sub = createRedis(env.REDIS_URL, { connectionName: "realtime-sub", autoPipelining: false });
for (const [name, redis] of [["pub", pub], ["sub", sub]] as const) {
  redis.on("error", (err) => logger.warn({ err, connection: name }, "redis connection error"));
}
const db = await Database.connect(env.MONGODB_URI, { maxPoolSize: 5 });

const server = createRealtimeServer({ pub, sub, db, jwtSecret: env.JWT_SECRET, corsOrigin: env.CORS_ORIGIN, logger });
await server.listen(env.PORT);

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  logger.info({ signal }, "shutting down");
  const timer = setTimeout(() => {
    logger.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, "shutdown timed out");
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  // Sockets first (their clients reconnect to another node), then the connections they used.
  await server.close();
  await Promise.allSettled([pub.quit(), sub.quit(), db.close()]);
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
