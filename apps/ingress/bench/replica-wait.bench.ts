/**
 * What waiting for the replica's copy costs a webhook: `pnpm --filter @linkojob/ingress bench:replica-wait
 * [--appends 5000] [--callers 32] [--rounds 3]`. A primary and its replica (AOF on both, as
 * production runs them behind Sentinel), one connection to the primary per variant,
 * and the ingress's WebhookInbox appending the 981-byte benchmark delivery from `callers` concurrent
 * callers: `primary` (XADD, answered once the primary has it) and `replica-ack` (XADD then WAIT 1 500,
 * what the ingress does when REDIS_SENTINELS is set), interleaved rounds. Prints appends/s, p50/p99
 * latency and Redis commands per append of each, and the ratio of replica-ack to primary in the run.
 */
import { parseArgs } from "node:util";
import { createRedis, redisReady } from "@linkojob/queues";
import { TEST_SECRETS, startRedisSentinelSet } from "@linkojob/testing/services";
import { WebhookInbox } from "../src/webhook/webhook-inbox.js";
import { benchDelivery } from "./payload.js";

const { values } = parseArgs({
  options: { appends: { type: "string" }, callers: { type: "string" }, rounds: { type: "string" } },
});
const appends = Number(values.appends ?? 5_000);
const callers = Number(values.callers ?? 32);
const rounds = Number(values.rounds ?? 3);

// No sentinels: on a loaded machine a busy primary could be failed over mid-run.
const set = await startRedisSentinelSet({ name: "benchwait", sentinels: 0 });
const url = `redis://127.0.0.1:${set.primaryPort}`;
const delivery = benchDelivery(TEST_SECRETS.appSecret);
const variants = {
  primary: undefined,
  "replica-ack": { replicas: 1, timeoutMs: 500 },
} as const;

const commands = async (r: ReturnType<typeof createRedis>): Promise<number> => {
  const info = await r.info("stats");
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0);
};

const results: Record<string, Array<{ perSecond: number; p50: number; p99: number; commandsPerAppend: number }>> = {};
try {
  const probe = createRedis(url);
  for (let round = 0; round < rounds; round++) {
    for (const [name, ack] of Object.entries(variants)) {
      const redis = createRedis(url, { failFast: true, connectionName: `bench-${name}` });
      await redisReady(redis);
      const inbox = new WebhookInbox(redis, `benchwait${round}${name}`, ack);
      const latency: number[] = [];
      let next = 0;
      const before = await commands(probe);
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: callers }, async () => {
          for (let i = next++; i < appends; i = next++) {
            const started = performance.now();
            await inbox.append(delivery.body, delivery.signature);
            latency.push(performance.now() - started);
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      // The probe's own INFO is one command.
      const used = (await commands(probe)) - before - 1;
      latency.sort((a, b) => a - b);
      (results[name] ??= []).push({
        perSecond: appends / seconds,
        p50: latency[Math.floor(latency.length * 0.5)]!,
        p99: latency[Math.floor(latency.length * 0.99)]!,
        commandsPerAppend: used / appends,
      });
      redis.disconnect();
    }
  }
  await probe.quit();
} finally {
  await set.destroy();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = Object.fromEntries(
  Object.entries(results).map(([name, rs]) => [
    name,
    {
      appendsPerSecond: Math.round(median(rs.map((r) => r.perSecond))),
      p50Ms: Number(median(rs.map((r) => r.p50)).toFixed(2)),
      p99Ms: Number(median(rs.map((r) => r.p99)).toFixed(2)),
      redisCommandsPerAppend: Number(median(rs.map((r) => r.commandsPerAppend)).toFixed(2)),
    },
  ]),
);
console.log(JSON.stringify({ appends, callers, rounds, summary }, null, 2));
console.log(
  `replica-ack / primary throughput: ${(summary["replica-ack"]!.appendsPerSecond / summary.primary!.appendsPerSecond).toFixed(2)}`,
);
process.exit(0);
