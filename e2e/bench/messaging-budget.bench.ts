/**
 * Portfolio messaging budget benchmark (a script, not a test): 10,000 first contacts reserved
 * against a portfolio limit of 2,000 by two Redis connections at once (two processes' worth of
 * concurrent callers), on a redis-server of the bench's own, next to the baseline of the same run:
 * one plain ZADD per recipient (no check) with the same concurrency.
 *
 *   pnpm --filter @linkojob/e2e bench:budget [--recipients 10000] [--limit 2000] [--concurrency 64]
 *
 * Checks exactly (exits 1 otherwise): `limit` recipients counted now, every other one scheduled no
 * earlier than 24 h (and the margin) after the first counted, no moving 24-hour window holding more
 * than `limit`. Reports the wall time of both, their ratio, and Redis commands per reservation (the
 * server's INFO commandstats, the script's inner commands included).
 */
import { parseArgs } from "node:util";
import { loadavg } from "node:os";
import { MESSAGING_LIMIT_WINDOW_MS, MessagingBudget } from "@linkojob/outbound";
import { createRedis } from "@linkojob/queues";
import { RedisCommandCounter, startRedisServer } from "@linkojob/testing/services";

const { values: args } = parseArgs({
  options: {
    recipients: { type: "string", default: "10000" },
    limit: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "64" },
  },
});
const recipients = Math.min(100_000, Math.max(1, Number(args.recipients)));
const limit = Math.max(1, Number(args.limit));
const concurrency = Math.max(1, Number(args.concurrency));

const server = await startRedisServer();
const a = createRedis(server.url);
const b = createRedis(server.url);
const counter = RedisCommandCounter.forNodes([{ host: "127.0.0.1", port: server.port }]);
const phones = Array.from({ length: recipients }, (_, i) => `2126${String(i).padStart(8, "0")}`);

/** Runs `task` over every phone with `concurrency` callers on each of the two connections. */
async function run(task: (conn: "a" | "b", phone: string) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = performance.now();
  const caller = async (conn: "a" | "b") => {
    for (let i = next++; i < phones.length; i = next++) await task(conn, phones[i]!);
  };
  await Promise.all(Array.from({ length: concurrency * 2 }, (_, k) => caller(k % 2 ? "a" : "b")));
  return performance.now() - start;
}

try {
  const baselineMs = await run((conn, phone) => (conn === "a" ? a : b).zadd("bench:baseline", Date.now(), phone));

  const budgets = { a: new MessagingBudget(a, "bench"), b: new MessagingBudget(b, "bench") };
  const slots: number[] = [];
  const before = await counter.snapshot();
  const budgetMs = await run(async (conn, phone) => {
    const slot = await budgets[conn].reserve("waba-bench", limit, phone, Date.now());
    slots.push(slot.at);
  });
  const work = RedisCommandCounter.diff(before, await counter.snapshot());

  slots.sort((x, y) => x - y);
  const first = slots[0]!;
  const window = MESSAGING_LIMIT_WINDOW_MS;
  const now = slots.filter((t) => t < first + window);
  const later = slots.filter((t) => t >= first + window);
  let worst = 0;
  for (let i = 0, j = 0; i < slots.length; i++) {
    while (slots[j]! < slots[i]! - window + 1) j++;
    worst = Math.max(worst, i - j + 1);
  }
  const ok = now.length === Math.min(limit, recipients) && later.length === recipients - now.length && worst <= limit;
  console.log(
    JSON.stringify(
      {
        recipients,
        limit,
        callers: concurrency * 2,
        countedNow: now.length,
        scheduledLater: later.length,
        earliestLaterAfterFirstMs: later.length ? later[0]! - first : null,
        largestMovingWindow: worst,
        budgetMs: Math.round(budgetMs),
        baselineZaddMs: Math.round(baselineMs),
        ratioToBaseline: Number((budgetMs / baselineMs).toFixed(2)),
        redisCommandsPerReservation: Number((work.commands / recipients).toFixed(2)),
        redisByCommand: work.byCommand,
        loadAverage: loadavg()[0]!.toFixed(1),
        checks: ok ? "ok" : "FAILED",
      },
      null,
      2,
    ),
  );
  if (!ok) process.exitCode = 1;
} finally {
  counter.close();
  a.disconnect();
  b.disconnect();
  await server.destroy();
}
