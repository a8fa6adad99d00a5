/**
 * pnpm --filter @linkojob/inbound-worker cli:replay-dead-letters [--id <dead letter id>] [--since <ISO date>] [--again] [--dry-run]
 *
 * Re-enqueues webhook deliveries recorded as dead letters (webhook_events, kind `dead_letter`) once
 * their cause is fixed: each becomes a new job of the webhook queue with the id `replay-<dead letter
 * id>` (a second run adds nothing while that job exists), and the dead letter is marked `replayedAt`.
 * Without `--id`, only dead letters not replayed yet; `--again` includes replayed ones. Stored writes
 * are idempotent: what the failed attempts stored is not stored twice. A dead letter whose body no
 * longer carries Meta's signature (kept from the delivery) is skipped. Prints a JSON report. Needs
 * MONGODB_URI, REDIS_URL (or REDIS_CLUSTER_NODES), QUEUE_PREFIX and META_APP_SECRET. Exit code 2 on
 * bad arguments.
 */
import { parseArgs } from "node:util";
import { Queue } from "bullmq";
import { EnvError, redisTargetOf } from "@linkojob/config";
import { Database } from "@linkojob/db";
import { WEBHOOK_QUEUE, createRedis, type WebhookJob } from "@linkojob/queues";
import { loadReplayEnv } from "../env.js";
import { replayDeadLetters } from "../routing/dead-letters.js";

const { values } = parseArgs({
  options: {
    id: { type: "string" },
    since: { type: "string" },
    again: { type: "boolean", default: false },
    "dry-run": { type: "boolean", default: false },
  },
});
const since = values.since ? new Date(values.since) : undefined;
if (since && Number.isNaN(since.getTime())) {
  console.error(`--since ${values.since} is not a date (e.g. 2026-11-29T08:00:00Z)`);
  process.exit(2);
}
let env;
try {
  env = loadReplayEnv();
} catch (err) {
  if (!(err instanceof EnvError)) throw err;
  console.error(err.message);
  process.exit(2);
}
const redis = createRedis(redisTargetOf(env), { connectionName: "replay-dead-letters" });
const queue = new Queue<WebhookJob>(WEBHOOK_QUEUE, { connection: redis, prefix: env.QUEUE_PREFIX });
const db = await Database.connect(env.MONGODB_URI, { maxPoolSize: 2 });
try {
  const report = await replayDeadLetters(db, queue, {
    appSecret: env.META_APP_SECRET,
    ...(values.id ? { id: values.id } : {}),
    ...(since ? { since } : {}),
    again: values.again,
    dryRun: values["dry-run"],
  });
  console.log(JSON.stringify({ dryRun: values["dry-run"], ...report }, null, 2));
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 2;
} finally {
  await queue.close();
  await redis.quit();
  await db.close();
}
