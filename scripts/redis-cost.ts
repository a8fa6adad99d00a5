/**
 * Redis cost per message (a benchmark script, not a test): how much work one inbound message and one
 * send give Redis, to size how many worker processes one Redis (one cluster master: every key of a
 * deployment lives in one slot) carries. Starts a redis-server of its own, then, all in this run:
 *
 * - the raw baseline: redis-benchmark's SET on that server (32 clients), and the server CPU per SET;
 * - the inbound benchmark (apps/inbound-worker/bench, text messages only, no redelivery) and the
 *   outbound benchmark (apps/outbound-worker/bench) against that server, each bracketed by the
 *   server's own INFO (RedisCommandCounter): Redis commands per message (Lua scripts' inner commands
 *   included), by command, and server CPU per message, also as a multiple of one raw SET's.
 *
 *   node_modules/.bin/tsx --conditions=@linkojob/source scripts/redis-cost.ts [--messages 1000] [--sends 200] [--bench-timeout 240]
 *
 * The benchmarks' own output (throughput, MongoDB requests per message) is printed as they print it.
 * Redis CPU per message divided into one core gives the messages/s one Redis master can carry;
 * divided by one worker process's messages/s (from the same benchmark output), the processes per Redis.
 */
import { execFileSync, spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { RedisCommandCounter, startRedisServer, type RedisWork } from "@linkojob/testing/services";

const { values: args } = parseArgs({
  options: {
    messages: { type: "string", default: "1000" },
    sends: { type: "string", default: "200" },
    "bench-timeout": { type: "string", default: "240" },
  },
});
const benchTimeoutMs = Math.max(10, Number(args["bench-timeout"])) * 1_000;
const messages = Math.min(20_000, Math.max(10, Number(args.messages)));
const sends = Math.min(5_000, Math.max(10, Number(args.sends)));
const root = new URL("..", import.meta.url).pathname;
const tsx = `${root}node_modules/.bin/tsx`;

const redis = await startRedisServer();
const counter = RedisCommandCounter.forNodes([{ host: "127.0.0.1", port: redis.port }]);

async function measure(
  label: string,
  work: () => void | Promise<void>,
  perUnit: number,
): Promise<{ work: RedisWork; perUnit: number }> {
  const before = await counter.snapshot();
  await work();
  const after = await counter.snapshot();
  const diff = RedisCommandCounter.diff(before, after);
  console.error(`[redis-cost] ${label}: ${diff.commands} commands, ${diff.cpuSeconds.toFixed(3)} s Redis CPU`);
  return { work: diff, perUnit };
}

/** Runs one benchmark against this Redis; one that has not finished within `--bench-timeout` seconds is ended and reported. */
function runBench(script: string, benchArgs: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, ["--conditions=@linkojob/source", script, ...benchArgs], {
      cwd: root,
      env: { ...process.env, REDIS_URL: redis.url },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const timer = setTimeout(() => child.kill("SIGINT"), benchTimeoutMs);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          new Error(`${script} ${signal ? `did not finish within ${benchTimeoutMs / 1000} s` : `exited with ${code}`}`),
        );
    });
  });
}

try {
  const rawOps = 200_000;
  const raw = await measure(
    "raw SET",
    () => {
      const out = execFileSync(
        "redis-benchmark",
        ["-h", "127.0.0.1", "-p", String(redis.port), "-t", "set", "-n", String(rawOps), "-c", "32", "-q"],
        { encoding: "utf8" },
      );
      console.error(`[redis-cost] ${out.trim().split("\r").pop()}`);
    },
    rawOps,
  );
  const cpuPerSet = raw.work.cpuSeconds / rawOps;

  const describe = (m: { work: RedisWork; perUnit: number }) => {
    const cpuPerMessage = m.work.cpuSeconds / m.perUnit;
    return {
      redisCommandsPerMessage: +(m.work.commands / m.perUnit).toFixed(1),
      byCommandPerMessage: Object.fromEntries(
        Object.entries(m.work.byCommand)
          .slice(0, 12)
          .map(([k, v]) => [k, +(v / m.perUnit).toFixed(2)]),
      ),
      redisCpuMicrosPerMessage: +(cpuPerMessage * 1e6).toFixed(1),
      asRawSets: +(cpuPerMessage / cpuPerSet).toFixed(1),
      messagesPerRedisCoreSecond: Math.round(1 / cpuPerMessage),
    };
  };
  // Each part is printed as soon as it is measured: a benchmark that fails does not lose the others.
  const print = (o: unknown) => console.log(JSON.stringify(o, null, 2));
  print({
    redisServer: execFileSync("redis-server", ["--version"], { encoding: "utf8" }).trim(),
    rawSet: { ops: rawOps, redisCpuMicrosPerSet: +(cpuPerSet * 1e6).toFixed(2) },
  });
  const parts: Array<[string, string, string[], number]> = [
    [
      "inboundTextMessage",
      "apps/inbound-worker/bench/inbound.bench.ts",
      ["--messages", String(messages), "--redeliver", "0", "--statuses", "0"],
      messages,
    ],
    ["outboundSend", "e2e/bench/sends.bench.ts", ["--messages", String(sends)], sends],
  ];
  let failed = false;
  for (const [name, script, benchArgs, units] of parts) {
    try {
      print({
        [name]: { messages: units, ...describe(await measure(name, () => runBench(script, benchArgs), units)) },
      });
    } catch (err) {
      failed = true;
      print({ [name]: { error: (err as Error).message } });
    }
  }
  if (failed) process.exitCode = 1;
} finally {
  counter.close();
  await redis.destroy();
}
