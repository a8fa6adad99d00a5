/**
 * pnpm --filter @linkojob/ingress cli:rebuild-send-state
 *
 * Copies the send API's state from MongoDB into Redis: every client's sending state, every WABA's
 * synced templates and every candidate's open 24-hour window, then sets the marker that tells the
 * send API the copy is complete. Run it after Redis came back empty (a restart without AOF, a
 * flush); the outbound worker also runs it by itself when it finds the marker gone. Safe to run at
 * any time (it only overwrites copies with what MongoDB holds). Needs MONGODB_URI, REDIS_URL (or
 * REDIS_CLUSTER_NODES) and QUEUE_PREFIX. Prints what it copied.
 */
import { EnvError, redisTargetOf } from "@linkojob/config";
import { Database } from "@linkojob/db";
import { SendState } from "@linkojob/outbound";
import { createRedis } from "@linkojob/queues";
import { loadSendStateEnv } from "./env.js";

let env;
try {
  env = loadSendStateEnv();
} catch (err) {
  if (!(err instanceof EnvError)) throw err;
  console.error(err.message);
  process.exit(2);
}
const db = await Database.connect(env.MONGODB_URI, { maxPoolSize: 2 });
const redis = createRedis(redisTargetOf(env), { connectionName: "cli-rebuild-send-state" });
try {
  const copied = await new SendState({ redis, prefix: env.QUEUE_PREFIX, db }).rebuild();
  console.log(JSON.stringify({ rebuilt: true, ...copied }, null, 2));
} finally {
  await redis.quit();
  await db.close();
}
