/**
 * Ingress benchmark (a script, not a test): signed webhooks per second and ack latency of the real
 * `POST /webhook` (buildApp: signature check, JSON check, XADD to Redis, 200 only after Redis
 * answered), side by side in one run with a bare Fastify route (the ceiling), a variant that only
 * verifies (to split the cost), and a "naive" variant doing one BullMQ queue.add per request. Then a
 * fixed-rate run at 5,000 deliveries/s for the p99. See README.md next to this file.
 *
 *   pnpm bench:ingress [--duration 8] [--warmup 2] [--rounds 2] [--connections 32] [--rate 5000]
 *                      [--variants ceiling,verify-only,ingress,naive-bullmq] [--profile ingress[,ceiling]]
 *                      [--server-node-options "--max-semi-space-size=64"] [--out file.json]
 *
 * Servers run in child processes (bench-server.ts), the load generator (autocannon) here, all on
 * 127.0.0.1. Redis and the MongoDB-protocol server are REDIS_URL / MONGODB_URI when set, else a
 * redis-server and a FerretDB of the bench's own.
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { Queue } from "bullmq";
import { WEBHOOK_QUEUE, createRedis, ingressStreamKey } from "@linkojob/queues";
// The services entry point: @linkojob/testing's index also loads vitest helpers, which throw outside Vitest.
import { startFerretDb, startRedisServer } from "@linkojob/testing/services";
import type { Variant } from "./bench-server.js";
import { benchDelivery } from "./payload.js";
import { printProfileSummary, summarizeProfile, type ProfileSummary } from "./profile-summary.js";

const here = dirname(fileURLToPath(import.meta.url));
const DEFAULT_VARIANTS: Variant[] = ["ceiling", "verify-only", "ingress", "naive-bullmq"];
/** Also known: experiments to size a change to the ingress (see bench-server.ts). */
const ALL_VARIANTS: Variant[] = [...DEFAULT_VARIANTS, "verify-xadd", "lean"];

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "8" },
    warmup: { type: "string", default: "2" },
    rounds: { type: "string", default: "2" },
    connections: { type: "string", default: "32" },
    rate: { type: "string", default: "5000" },
    variants: { type: "string", default: DEFAULT_VARIANTS.join(",") },
    profile: { type: "string" },
    /** Extra node flags for every server child, e.g. "--max-semi-space-size=64" (to try GC settings). */
    "server-node-options": { type: "string", default: "" },
    out: { type: "string", default: join(here, "results", "latest.json") },
  },
});
const duration = Math.min(30, Math.max(1, Number(args.duration)));
const warmup = Math.min(10, Math.max(0, Number(args.warmup)));
const rounds = Math.min(5, Math.max(1, Number(args.rounds)));
const connections = Math.min(256, Math.max(1, Number(args.connections)));
const rate = Math.max(0, Number(args.rate));
const variants = args.variants.split(",").map((v) => v.trim()) as Variant[];
for (const v of variants)
  if (!ALL_VARIANTS.includes(v)) throw new Error(`unknown variant ${v}; known: ${ALL_VARIANTS.join(", ")}`);
const profiled = (args.profile ?? "")
  .split(",")
  .map((v) => v.trim())
  .filter(Boolean) as Variant[];
for (const v of profiled) if (!variants.includes(v)) throw new Error(`--profile ${v} is not among --variants`);
const profilesDir = join(here, "results", "profiles");

const appSecret = "bench-app-secret-" + randomBytes(8).toString("hex");
const prefix = `bench-${randomBytes(3).toString("hex")}`;

// ---------------------------------------------------------------------------------------------
// Services and server children
// ---------------------------------------------------------------------------------------------

const stops: Array<() => Promise<void>> = [];
async function services() {
  let redisUrl = process.env.REDIS_URL;
  let mongoUrl = process.env.MONGODB_URI;
  const ownRedis = !redisUrl;
  if (!redisUrl) {
    const r = await startRedisServer();
    stops.push(() => r.destroy());
    redisUrl = r.url;
  }
  if (!mongoUrl && variants.includes("ingress")) {
    const f = await startFerretDb();
    stops.push(() => f.stop());
    mongoUrl = f.url;
  }
  // A database of the bench's own (the webhook path never touches it; buildApp needs a connection).
  const withDb = (url: string, name: string) =>
    url.replace(/^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?/, `$1/${name}`);
  return { redisUrl, mongoUrl: mongoUrl ? withDb(mongoUrl, `bench_${prefix.replace(/-/g, "_")}`) : "", ownRedis };
}

interface Server {
  variant: Variant;
  url: string;
  child: ChildProcess;
}

function startServer(variant: Variant, env: Record<string, string>): Promise<Server> {
  const extra = args["server-node-options"].split(/\s+/).filter(Boolean);
  const execArgv = [
    ...process.execArgv,
    "--conditions=@linkojob/source",
    ...extra,
    ...(profiled.includes(variant) ? ["--cpu-prof", `--cpu-prof-dir=${profilesDir}`] : []),
  ];
  const child = fork(join(here, "bench-server.ts"), [variant], {
    execArgv,
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${variant} server did not start in 60 s`)), 60_000);
    child.once("exit", (code) => reject(new Error(`${variant} server exited with ${code} before it was ready`)));
    child.once("message", (m: { ready?: boolean; port?: number }) => {
      clearTimeout(timer);
      if (m.ready && m.port) resolve({ variant, url: `http://127.0.0.1:${m.port}/webhook`, child });
      else reject(new Error(`${variant} server sent ${JSON.stringify(m)}`));
    });
  });
}

async function stopServer(s: Server): Promise<void> {
  if (s.child.exitCode !== null) return;
  const exited = new Promise((r) => s.child.once("exit", r));
  s.child.send("close");
  const timer = setTimeout(() => s.child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// Load
// ---------------------------------------------------------------------------------------------

interface RunResult {
  variant: Variant;
  round: number;
  mode: "max" | "fixed-rate";
  targetRate?: number;
  reqPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; p99_9: number; max: number; mean: number };
  requests: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Deliveries Redis holds after the run (ingress: stream length; naive: queued jobs); null when the variant stores nothing. */
  stored: number | null;
  /** CPU microseconds per acknowledged request, by process (null where /proc is not available). */
  cpuUsPerReq: { server: number | null; redis: number | null; loadGenerator: number };
}

function load(
  url: string,
  body: Buffer,
  signature: string,
  seconds: number,
  overallRate?: number,
): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-hub-signature-256": signature,
          "user-agent": "facebookexternalua",
        },
        body,
        connections: overallRate ? Math.max(connections, 50) : connections,
        pipelining: 1,
        duration: seconds,
        ...(overallRate ? { overallRate } : {}),
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

/**
 * CPU time (ms, user + system) a process has used so far, from /proc (Linux; null elsewhere). CPU per
 * request is steadier than throughput on a machine shared with other work: it says what each
 * delivery costs the server and Redis, whoever else wanted the cores.
 */
function cpuMsOf(pid: number | undefined): number | null {
  if (!pid || !existsSync(`/proc/${pid}/stat`)) return null;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round2 = (x: number) => Math.round(x * 100) / 100;

async function main() {
  mkdirSync(join(here, "results"), { recursive: true });
  if (profiled.length) mkdirSync(profilesDir, { recursive: true });
  const startedAt = new Date();
  const load0 = loadavg();
  const { redisUrl, mongoUrl, ownRedis } = await services();
  const redis = createRedis(redisUrl, { connectionName: "bench-main" });
  const queue = new Queue(WEBHOOK_QUEUE, {
    connection: createRedis(redisUrl, { connectionName: "bench-queue" }),
    prefix,
  });
  const streamKey = ingressStreamKey(prefix);
  // Redis's pid, for its CPU per request (only meaningful when it runs on this machine).
  const redisPid = /^redis:\/\/(127\.0\.0\.1|localhost)[:/]/.test(redisUrl)
    ? Number(/process_id:(\d+)/.exec(await redis.info("server"))?.[1]) || undefined
    : undefined;

  /** Empties what the previous run stored (the bench's own Redis, or only its prefix in a shared one). */
  async function resetStore() {
    if (ownRedis) {
      await redis.flushall();
      return;
    }
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== "0");
  }
  async function storedBy(variant: Variant): Promise<number | null> {
    if (variant === "ingress" || variant === "verify-xadd" || variant === "lean") return redis.xlen(streamKey);
    if (variant === "naive-bullmq") return queue.count();
    return null;
  }

  const { body, signature, bytes } = benchDelivery(appSecret);
  const env = {
    BENCH_APP_SECRET: appSecret,
    BENCH_REDIS_URL: redisUrl,
    BENCH_MONGODB_URI: mongoUrl,
    BENCH_PREFIX: prefix,
  };
  const servers = new Map<Variant, Server>();
  try {
    for (const v of variants) servers.set(v, await startServer(v, env));

    // Sanity: every variant acknowledges a signed delivery; the checking ones refuse a forged one.
    for (const s of servers.values()) {
      const ok = await fetch(s.url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-hub-signature-256": signature },
        body,
      });
      if (ok.status !== 200)
        throw new Error(`${s.variant} answered ${ok.status} to a signed delivery: ${await ok.text()}`);
      if (s.variant !== "ceiling") {
        const forged = await fetch(s.url, {
          method: "POST",
          headers: { "content-type": "application/json", "x-hub-signature-256": "sha256=" + "0".repeat(64) },
          body,
        });
        if (forged.status !== 401) throw new Error(`${s.variant} answered ${forged.status} to a forged signature`);
      }
    }
    const storing = variants.filter((v) => v === "ingress" || v === "verify-xadd" || v === "lean").length;
    if ((await redis.xlen(streamKey)) !== storing)
      throw new Error("a variant acknowledged a delivery it did not store");

    console.log(
      `ingress bench: ${variants.join(", ")}; ${rounds} round(s) × ${duration} s (+${warmup} s warm-up) at ${connections} connections; payload ${bytes} B; ` +
        `${cpus().length} CPUs, load ${load0.map((l) => l.toFixed(2)).join(" ")}; redis ${ownRedis ? "own" : redisUrl}`,
    );
    const runs: RunResult[] = [];
    const measure = async (variant: Variant, roundNo: number, overallRate?: number) => {
      const url = servers.get(variant)!.url;
      await resetStore();
      if (warmup > 0) await load(url, body, signature, warmup, overallRate);
      await resetStore();
      const serverPid = servers.get(variant)!.child.pid;
      const before = { server: cpuMsOf(serverPid), redis: cpuMsOf(redisPid), self: process.cpuUsage() };
      const r = await load(url, body, signature, duration, overallRate);
      const selfUs = process.cpuUsage(before.self);
      const after = { server: cpuMsOf(serverPid), redis: cpuMsOf(redisPid) };
      const stored = await storedBy(variant);
      const ok2xx = r["2xx"] ?? 0;
      const perReq = (a: number | null, b: number | null) =>
        a !== null && b !== null && ok2xx > 0 ? round2(((a - b) * 1000) / ok2xx) : null;
      const run: RunResult = {
        variant,
        round: roundNo,
        mode: overallRate ? "fixed-rate" : "max",
        ...(overallRate ? { targetRate: overallRate } : {}),
        reqPerSec: Math.round(ok2xx / r.duration),
        latencyMs: {
          p50: r.latency.p50,
          p90: r.latency.p90,
          p99: r.latency.p99,
          p99_9: r.latency.p99_9,
          max: r.latency.max,
          mean: round2(r.latency.average),
        },
        requests: r.requests.total,
        ok2xx,
        non2xx: r.non2xx,
        errors: r.errors,
        timeouts: r.timeouts,
        stored,
        cpuUsPerReq: {
          server: perReq(after.server, before.server),
          redis: perReq(after.redis, before.redis),
          loadGenerator: round2((selfUs.user + selfUs.system) / Math.max(1, ok2xx)),
        },
      };
      runs.push(run);
      console.log(
        `  ${run.mode === "max" ? `round ${roundNo}` : `${overallRate}/s  `} ${variant.padEnd(13)} ${String(run.reqPerSec).padStart(7)} req/s  ` +
          `p50 ${run.latencyMs.p50} ms  p99 ${run.latencyMs.p99} ms  non-2xx ${run.non2xx}  errors ${run.errors}` +
          (stored !== null ? `  stored ${stored} / acked ${ok2xx}` : "") +
          (run.cpuUsPerReq.server !== null
            ? `  cpu/req: server ${run.cpuUsPerReq.server} µs, redis ${run.cpuUsPerReq.redis ?? "?"} µs`
            : ""),
      );
      return run;
    };

    // Interleaved rounds: each visits every variant in a rotated order (so that a burst of noise from
    // other processes on the 2 cores spreads over all of them), then the fixed-rate runs: the real
    // ingress, and the ceiling as the same-round baseline of what the machine allows.
    const fixedRate = rate > 0 ? variants.filter((v) => v === "ceiling" || v === "ingress") : [];
    for (let r = 1; r <= rounds; r++) {
      const order = variants.map((_, i) => variants[(i + r - 1) % variants.length]!);
      for (const v of order) await measure(v, r);
      for (const v of r % 2 ? fixedRate : [...fixedRate].reverse()) await measure(v, r, rate);
    }

    // Summary.
    const maxRuns = runs.filter((r) => r.mode === "max");
    const ceilingByRound = new Map(maxRuns.filter((r) => r.variant === "ceiling").map((r) => [r.round, r.reqPerSec]));
    const summary = variants.map((v) => {
      const mine = maxRuns.filter((r) => r.variant === v);
      const ratios = mine
        .filter((r) => ceilingByRound.has(r.round))
        .map((r) => r.reqPerSec / ceilingByRound.get(r.round)!);
      return {
        variant: v,
        reqPerSec: Math.round(median(mine.map((r) => r.reqPerSec))),
        ratioToCeiling: ratios.length ? round2(median(ratios)) : null,
        ratioRange: ratios.length ? [round2(Math.min(...ratios)), round2(Math.max(...ratios))] : null,
        p50Ms: median(mine.map((r) => r.latencyMs.p50)),
        p99Ms: median(mine.map((r) => r.latencyMs.p99)),
        serverCpuUsPerReq: mine.every((r) => r.cpuUsPerReq.server !== null)
          ? round2(median(mine.map((r) => r.cpuUsPerReq.server!)))
          : null,
        redisCpuUsPerReq: mine.every((r) => r.cpuUsPerReq.redis !== null)
          ? round2(median(mine.map((r) => r.cpuUsPerReq.redis!)))
          : null,
        loadGeneratorCpuUsPerReq: round2(median(mine.map((r) => r.cpuUsPerReq.loadGenerator))),
        non2xx: mine.reduce((a, r) => a + r.non2xx, 0),
        errors: mine.reduce((a, r) => a + r.errors, 0),
        storedNotLess: mine.every((r) => r.stored === null || r.stored >= r.ok2xx),
      };
    });
    const fixed = fixedRate.map((v) => {
      const mine = runs.filter((r) => r.mode === "fixed-rate" && r.variant === v);
      return {
        variant: v,
        targetRate: rate,
        achieved: Math.round(median(mine.map((r) => r.reqPerSec))),
        p50Ms: median(mine.map((r) => r.latencyMs.p50)),
        p99Ms: median(mine.map((r) => r.latencyMs.p99)),
        p99PerRound: mine.map((r) => r.latencyMs.p99),
        p99_9Ms: median(mine.map((r) => r.latencyMs.p99_9)),
        maxMs: Math.max(...mine.map((r) => r.latencyMs.max)),
        non2xx: mine.reduce((a, r) => a + r.non2xx, 0),
        errors: mine.reduce((a, r) => a + r.errors, 0),
      };
    });

    console.log(
      `\nmax throughput, median of ${rounds} round(s); ratio = median of per-round ratios to the ceiling measured in the same round`,
    );
    console.table(
      summary.map((s) => ({
        variant: s.variant,
        "req/s": s.reqPerSec,
        "× ceiling": s.ratioToCeiling,
        "ratio range": s.ratioRange ? s.ratioRange.join("–") : "",
        "p50 ms": s.p50Ms,
        "p99 ms": s.p99Ms,
        "server µs/req": s.serverCpuUsPerReq,
        "redis µs/req": s.redisCpuUsPerReq,
        "loadgen µs/req": s.loadGeneratorCpuUsPerReq,
        "non-2xx": s.non2xx,
        errors: s.errors,
        "stored ≥ acked": s.storedNotLess,
      })),
    );
    if (fixed.length) {
      console.log(
        `fixed rate ${rate}/s for ${duration} s, median of ${rounds} round(s) (latency corrected for coordinated omission by autocannon)`,
      );
      console.table(
        fixed.map((f) => ({
          variant: f.variant,
          "achieved/s": f.achieved,
          "p50 ms": f.p50Ms,
          "p99 ms": f.p99Ms,
          "p99 per round": f.p99PerRound.join(", "),
          "p99.9 ms": f.p99_9Ms,
          "max ms": f.maxMs,
          "non-2xx": f.non2xx,
          errors: f.errors,
        })),
      );
    }
    const ing = summary.find((s) => s.variant === "ingress");
    const ingFixed = fixed.find((f) => f.variant === "ingress");
    if (ing?.ratioToCeiling != null) console.log(`ingress / ceiling = ${ing.ratioToCeiling} (target ≥ 0.70)`);
    if (ingFixed) console.log(`ingress p99 at ${rate}/s = ${ingFixed.p99Ms} ms (target < 15 ms)`);

    // Stop the servers now: a profiled child writes its profile as it exits.
    for (const s of servers.values()) await stopServer(s);
    const profiles: Array<{ variant: Variant; file: string; summary: ProfileSummary }> = [];
    for (const v of profiled) {
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (tsx's loader
      // runs in a worker thread that writes its own, idle, profile).
      const pid = servers.get(v)!.child.pid;
      const file = readdirSync(profilesDir).find((f) =>
        new RegExp(`^CPU\\.\\d+\\.\\d+\\.${pid}\\.0\\.\\d+\\.cpuprofile$`).test(f),
      );
      if (!file) continue;
      const summary = summarizeProfile(join(profilesDir, file));
      profiles.push({ variant: v, file: join(profilesDir, file), summary });
      console.log(`\nprofile of the ${v} server: ${join(profilesDir, file)}`);
      printProfileSummary(summary);
    }

    const result = {
      startedAt: startedAt.toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        node: process.version,
        loadAvgBefore: load0,
        loadAvgAfter: loadavg(),
      },
      options: {
        duration,
        warmup,
        rounds,
        connections,
        rate,
        variants,
        payloadBytes: bytes,
        serverNodeOptions: args["server-node-options"],
        redis: ownRedis ? "own redis-server" : "REDIS_URL",
      },
      summary,
      fixedRate: fixed,
      runs,
      ...(profiles.length ? { profiles } : {}),
    };
    writeFileSync(args.out, JSON.stringify(result, null, 2) + "\n");
    console.log(`\nresults written to ${args.out}`);
  } finally {
    for (const s of servers.values()) await stopServer(s).catch(() => undefined);
    await queue.close().catch(() => undefined);
    await (queue.opts.connection as { quit?: () => Promise<unknown> }).quit?.().catch(() => undefined);
    await resetStore().catch(() => undefined);
    redis.disconnect();
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
