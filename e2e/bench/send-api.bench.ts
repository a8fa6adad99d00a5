/**
 * Send API benchmark (a script, not a test): `POST /api/messages/send` alone (no worker runs, so
 * sends pile up in the send stream as they would behind a busy worker) at fixed offered rates, next to a
 * bare Fastify answering a same-size JSON body in the same process and the same run — the baseline
 * its figures are read against.
 *
 *   pnpm --filter @linkojob/e2e bench:send-api [--rates 100,300,1000] [--seconds 5] [--connections 32]
 *     [--cpu-profile /tmp/send-api]
 *
 * For each offered rate (open loop: request i is due at i/rate s, latency counted from when it was
 * due, so a server that falls behind shows it): p50/p99 and accepted/s, for the send API and for
 * bare Fastify, with what stalled the process's one event loop meanwhile (`stalls`: its delay, the
 * GC's pauses, full collections apart). Then saturation (closed loop, `--connections` callers,
 * `--seconds` one-second slices of each in turn): requests/s of each and their ratio, and the
 * process's CPU time per request of each (`cpuRatio`: bare's over the API's, what the rate ratio
 * would be with the process alone on its cores, Redis's own CPU aside); `--cpu-profile` writes a V8
 * CPU profile of each of the API's slices. And, counted over every accepted send: MongoDB requests of the API
 * (driver command monitoring; 0 expected) and Redis commands (the server's INFO commandstats, Lua
 * scripts' inner commands included).
 *
 * Redis and the MongoDB-protocol server are REDIS_URL / MONGODB_URI when set, else a redis-server and
 * a FerretDB of the bench's own. Everything listens on 127.0.0.1.
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { cpus, loadavg } from "node:os";
import { PerformanceObserver, constants, monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import Fastify from "fastify";
import { Pool } from "undici";
import { signJwt } from "@linkojob/auth";
import { Database } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { SendState } from "@linkojob/outbound";
import { createRedis } from "@linkojob/queues";
import { CommandCounter, RedisCommandCounter, startFerretDb, startRedisServer } from "@linkojob/testing/services";
import { buildApp } from "@linkojob/ingress";

const { values: args } = parseArgs({
  options: {
    rates: { type: "string", default: "100,300,1000" },
    seconds: { type: "string", default: "5" },
    connections: { type: "string", default: "32" },
    // A V8 CPU profile (.cpuprofile, for Chrome DevTools or speedscope) of the API's saturation slices only.
    "cpu-profile": { type: "string" },
  },
});
const rates = args.rates.split(",").map((r) => Math.min(5_000, Math.max(1, Number(r))));
const seconds = Math.min(60, Math.max(1, Number(args.seconds)));
const connections = Math.min(256, Math.max(1, Number(args.connections)));

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const jwtSecret = randomBytes(24).toString("hex");
const prefix = `bench-api-${randomBytes(3).toString("hex")}`;

const ownMongo = process.env.MONGODB_URI ? null : await startFerretDb();
const ownRedis = process.env.REDIS_URL ? null : await startRedisServer();
const mongoUrl = process.env.MONGODB_URI ?? `${ownMongo!.url}/bench_send_api`;
const redisUrl = process.env.REDIS_URL ?? ownRedis!.url;
const db = await Database.connect(mongoUrl, { maxPoolSize: 4 });
const apiDb = await Database.connect(mongoUrl, { monitorCommands: true });
const apiRedis = createRedis(redisUrl, { failFast: true });
const eventsRedis = createRedis(redisUrl);

// One tenant, its default template synced, its state in Redis (as the outbound worker leaves it).
const wabaId = "bench-waba";
const client = await db.clients.create({
  userId: "bench-user",
  companyName: "Bench",
  phoneNumberId: "900000",
  wabaId,
  whatsappNumber: "212520000000",
  status: "active",
});
await db.templates.create({
  wabaId,
  name: "application_received",
  language: "fr",
  status: "APPROVED",
  category: "UTILITY",
  components: [{ type: "BODY", text: "Bonjour {{1}}, candidature {{2}} reçue." }],
  headerParams: [],
  bodyParams: ["1", "2"],
});
await new SendState({ redis: apiRedis, prefix, db }).rebuild();
const jwt = await signJwt(jwtSecret, { sub: "bench-user", role: "recruiter" }, "1h");

const app = await buildApp({
  config: { appSecret: "bench-secret", verifyToken: "bench-verify", jwtSecret, queuePrefix: prefix },
  redis: apiRedis,
  db: apiDb,
  events: new DashboardEvents(eventsRedis),
});
const apiUrl = await app.listen({ port: 0, host: "127.0.0.1" });

// The baseline: Fastify answering 202 with a JSON body of the send API's size, after parsing the request.
const sample = JSON.stringify({
  success: true,
  messageId: "0123456789abcdef01234567",
  status: "queued",
  kind: "template",
  cost: 0.4,
});
const bare = Fastify();
bare.post("/api/messages/send", (_req, reply) =>
  reply.code(202).header("content-type", "application/json").send(sample),
);
const bareUrl = await bare.listen({ port: 0, host: "127.0.0.1" });

let seq = 0;
const body = () =>
  JSON.stringify({
    clientId: client._id.toHexString(),
    candidatePhone: `2126${String(10_000_000 + ++seq)}`,
    candidateName: "Yasmine",
    jobTitle: "Comptable",
  });
const headers = { authorization: `Bearer ${jwt}`, "content-type": "application/json" };

async function call(pool: Pool): Promise<number> {
  const res = await pool.request({ method: "POST", path: "/api/messages/send", headers, body: body() });
  await res.body.text();
  return res.statusCode;
}

/**
 * What stalled the one event loop (the client's and both servers') during a phase: its delay
 * (monitorEventLoopDelay, 1-ms resolution) and the garbage collector's pauses (PerformanceObserver).
 */
interface Stalls {
  loopP99Ms: number;
  loopMaxMs: number;
  gcCount: number;
  gcMaxMs: number;
  gcTotalMs: number;
  /** Full (mark-compact) collections among them, and their longest pause. */
  gcMajor: number;
  gcMajorMaxMs: number;
}
const gcPauses: Array<{ at: number; ms: number; major: boolean }> = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e.detail as { kind?: number } | undefined)?.kind;
    gcPauses.push({ at: e.startTime, ms: e.duration, major: kind === constants.NODE_PERFORMANCE_GC_MAJOR });
  }
}).observe({ entryTypes: ["gc"] });
/** Watches a phase; the pauses are taken by when they started (the observer hears of them later). */
function watchStalls(): () => Promise<Stalls> {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const from = performance.now();
  return async () => {
    loop.disable();
    const to = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const pauses = gcPauses.filter((p) => p.at >= from && p.at < to);
    gcPauses.length = 0;
    const major = pauses.filter((p) => p.major);
    return {
      loopP99Ms: loop.percentile(99) / 1e6,
      loopMaxMs: loop.max / 1e6,
      gcCount: pauses.length,
      gcMaxMs: Math.max(0, ...pauses.map((p) => p.ms)),
      gcTotalMs: pauses.reduce((a, p) => a + p.ms, 0),
      gcMajor: major.length,
      gcMajorMaxMs: Math.max(0, ...major.map((p) => p.ms)),
    };
  };
}

interface RateResult {
  offered: number;
  sent: number;
  accepted: number;
  acceptedPerSec: number;
  p50Ms: number;
  p99Ms: number;
  unfinished: number;
  stalls: Stalls;
}

/** Open loop: `rate` requests/s for `seconds`, each timed from when it was due. */
async function atRate(url: string, rate: number): Promise<RateResult> {
  const pool = new Pool(url, { connections });
  const n = Math.round(rate * seconds);
  const latency: number[] = [];
  let accepted = 0;
  let lastDone = 0;
  const stalls = watchStalls();
  const t0 = performance.now();
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i < n;) {
    const now = performance.now();
    // Every request due by now goes (a timer tick covers several at high rates).
    for (; i < n && t0 + (i * 1000) / rate <= now; i++) {
      const due = t0 + (i * 1000) / rate;
      inFlight.push(
        call(pool).then(
          (status) => {
            const done = performance.now();
            latency.push(done - due);
            lastDone = Math.max(lastDone, done);
            if (status === 202) accepted++;
          },
          () => undefined,
        ),
      );
    }
    if (i < n) await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + (i * 1000) / rate - now)));
  }
  // Bounded: whatever is not answered 30 s after the last request was due is reported unfinished.
  await Promise.race([Promise.all(inFlight), new Promise((resolve) => setTimeout(resolve, 30_000))]);
  const stalled = await stalls();
  await pool.close().catch(() => undefined);
  latency.sort((a, b) => a - b);
  return {
    offered: rate,
    sent: n,
    accepted,
    acceptedPerSec: accepted / ((lastDone - t0) / 1000),
    p50Ms: pct(latency, 50),
    p99Ms: pct(latency, 99),
    unfinished: n - latency.length,
    stalls: stalled,
  };
}

/**
 * Closed loop: `connections` callers for `forSeconds`; requests answered 202 per second, and the
 * process's CPU time per answered request (the client's share included, the same for both servers;
 * Redis's own CPU not: it is another process). CPU time depends less than a rate on what else the
 * machine runs meanwhile.
 */
async function saturation(url: string, forSeconds = seconds): Promise<{ rate: number; cpuUs: number; n: number }> {
  const pool = new Pool(url, { connections });
  let accepted = 0;
  const end = performance.now() + forSeconds * 1000;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) if ((await call(pool)) === 202) accepted++;
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const rate = accepted / ((performance.now() - t0) / 1000);
  await pool.close().catch(() => undefined);
  return { rate, cpuUs: cpu.user + cpu.system, n: accepted };
}

const redisNode = new URL(redisUrl);
const redisWork = RedisCommandCounter.forNodes([{ host: redisNode.hostname, port: Number(redisNode.port) }]);
// The start-up's garbage (the sources compiled, the app built, the tenant seeded) collected before
// the warm-up, not inside the first measured phase. Only once: a full collection also shrinks the
// young generation, so one before every phase would make its scavenges more frequent than they are.
const inspector = new Session();
inspector.connect();
await inspector.post("HeapProfiler.collectGarbage");
inspector.disconnect();
// Warm-up (JIT, connections, the in-process caches) on both, not counted.
await atRate(apiUrl, 100);
await atRate(bareUrl, 100);

const mongo = new CommandCounter(apiDb.connection);
const redisBefore = await redisWork.snapshot();
const byRate: Array<{ api: RateResult; bare: RateResult }> = [];
let acceptedTotal = 0;
for (const rate of rates) {
  console.error(`[bench] ${rate} req/s for ${seconds} s`);
  const api = await atRate(apiUrl, rate);
  acceptedTotal += api.accepted;
  // The bare server touches neither Redis nor MongoDB: the counts stay the API's.
  byRate.push({ api, bare: await atRate(bareUrl, rate) });
}
const redisSends = RedisCommandCounter.diff(redisBefore, await redisWork.snapshot());
const mongoRequests = mongo.total;
mongo.stop();
console.error("[bench] saturation");
// In alternating one-second slices, so that a load change on the machine during the run weighs on both.
let apiMax = 0;
let bareMax = 0;
const profiler = args["cpu-profile"] ? new Session() : null;
if (profiler) {
  profiler.connect();
  await profiler.post("Profiler.enable");
  await profiler.post("Profiler.setSamplingInterval", { interval: 200 });
}
const cpu = { api: { us: 0, n: 0 }, bare: { us: 0, n: 0 } };
for (let slice = 0; slice < seconds; slice++) {
  await profiler?.post("Profiler.start");
  const api = await saturation(apiUrl, 1);
  if (profiler) {
    const { profile } = await profiler.post("Profiler.stop");
    await writeFile(`${args["cpu-profile"]}.${slice}.cpuprofile`, JSON.stringify(profile));
  }
  const b = await saturation(bareUrl, 1);
  apiMax += api.rate / seconds;
  bareMax += b.rate / seconds;
  cpu.api.us += api.cpuUs;
  cpu.api.n += api.n;
  cpu.bare.us += b.cpuUs;
  cpu.bare.n += b.n;
}
profiler?.disconnect();

const r1 = (x: number) => Math.round(x * 10) / 10;
const stallsOut = (x: Stalls) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, r1(v)])) as unknown as Stalls;
const result = {
  machine: { cpus: cpus().length, load: loadavg().map(r1) },
  seconds,
  connections,
  byRate: byRate.map(({ api, bare: b }) => ({
    offered: api.offered,
    api: {
      p50Ms: r1(api.p50Ms),
      p99Ms: r1(api.p99Ms),
      acceptedPerSec: r1(api.acceptedPerSec),
      unfinished: api.unfinished,
      stalls: stallsOut(api.stalls),
    },
    bare: {
      p50Ms: r1(b.p50Ms),
      p99Ms: r1(b.p99Ms),
      acceptedPerSec: r1(b.acceptedPerSec),
      stalls: stallsOut(b.stalls),
    },
  })),
  saturation: {
    apiPerSec: r1(apiMax),
    barePerSec: r1(bareMax),
    ratio: Math.round((apiMax / bareMax) * 100) / 100,
    cpuUsPerRequest: { api: r1(cpu.api.us / cpu.api.n), bare: r1(cpu.bare.us / cpu.bare.n) },
    // bare's CPU per request over the API's: the rate ratio a machine with nothing else to do would show, Redis aside.
    cpuRatio: Math.round((cpu.bare.us / cpu.bare.n / (cpu.api.us / cpu.api.n)) * 100) / 100,
  },
  perAcceptedSend: {
    mongoRequests: acceptedTotal ? mongoRequests / acceptedTotal : NaN,
    redisCommands: acceptedTotal ? r1(redisSends.commands / acceptedTotal) : NaN,
    redisByCommand: Object.fromEntries(
      Object.entries(redisSends.byCommand).map(([k, v]) => [k, Math.round((v / acceptedTotal) * 100) / 100]),
    ),
  },
};
console.log(JSON.stringify(result, null, 2));

await app.close();
await bare.close();
redisWork.close();
await Promise.allSettled([apiRedis.quit(), eventsRedis.quit()]);
await db.connection.db!.dropDatabase().catch(() => undefined);
await db.close();
await apiDb.close();
await ownMongo?.stop();
await ownRedis?.destroy();
