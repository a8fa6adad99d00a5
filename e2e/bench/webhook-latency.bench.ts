/**
 * Webhook → recruiter's socket latency, by stage (a script, not a test). One tenant, texts from
 * `--candidates` candidates at fixed offered rates (open loop), each a signed delivery posted to the
 * listening ingress by the Meta simulator; a recruiter's Socket.io client on the realtime server
 * records when each `message:received` arrives.
 *
 *   pnpm --filter @linkojob/e2e bench:webhook-latency [--rates 50,150] [--seconds 10] [--candidates 200] [--concurrency 64]
 *
 * For each rate, p50/p99 of the whole path and of each stage, from the timestamps the path leaves:
 * - ingress: from the POST to the ingress's XADD (the job's `receivedAt`);
 * - stream + pump: XADD → the pump's enqueue (the job's `timestamp`);
 * - queue wait: enqueue → a worker takes the job (`processedOn`);
 * - batch, MongoDB writes, emit, Socket.io: taken → the event at the recruiter's socket;
 * - job completion: taken → the job finished (`finishedOn`: its batch stored and announced).
 * The batch stage is taken apart too: each step of the worker's batches (blocked check, conversation
 * resolve, message insert, lock wait, counter write, conversation read, emit, claims' release…, from
 * the worker's onBatchTimed), the batches' sizes and the share of the time the worker was writing
 * one, and the worker's database requests by shape (the driver's command monitoring: calls, time
 * per call as the driver saw it, i.e. inside the server plus the local round trip) with the
 * statements per update command.
 * Next to them, the raw single-document updateOne rate of the same server in the same run
 * (32 callers, 2,000 documents), and the highest rate whose p99 stayed under 1 s as a share of it.
 *
 * Redis and the MongoDB-protocol server are REDIS_URL / MONGODB_URI when set, else a redis-server and
 * a FerretDB of the bench's own. Everything listens on 127.0.0.1.
 */
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import pino from "pino";
import { Queue } from "bullmq";
import { io as connect } from "socket.io-client";
import { signJwt } from "@linkojob/auth";
import { Database } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { MetaSimulator, newWamid, textMessageDelivery } from "@linkojob/meta-simulator";
import { WEBHOOK_QUEUE, createRedis, type WebhookJob } from "@linkojob/queues";
import { CommandCounter, startFerretDb, startRedisServer } from "@linkojob/testing/services";
import { buildApp } from "@linkojob/ingress";
import { InboundWorker, type BatchTiming } from "@linkojob/inbound-worker";
import { createRealtimeServer } from "@linkojob/realtime";

const { values: args } = parseArgs({
  options: {
    rates: { type: "string", default: "50,150" },
    seconds: { type: "string", default: "10" },
    candidates: { type: "string", default: "200" },
    concurrency: { type: "string", default: "64" },
  },
});
const rates = args.rates.split(",").map((r) => Math.min(2_000, Math.max(1, Number(r))));
const seconds = Math.min(60, Math.max(1, Number(args.seconds)));
const candidates = Math.min(10_000, Math.max(1, Number(args.candidates)));
/** The worker's deliveries in flight (INBOUND_CONCURRENCY). */
const concurrency = Math.min(256, Math.max(1, Number(args.concurrency)));

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const jwtSecret = randomBytes(24).toString("hex");
const appSecret = randomBytes(16).toString("hex");
const prefix = `bench-lat-${randomBytes(3).toString("hex")}`;
const logger = pino({ level: "silent" });

const ownMongo = process.env.MONGODB_URI ? null : await startFerretDb();
const ownRedis = process.env.REDIS_URL ? null : await startRedisServer();
const mongoUrl = process.env.MONGODB_URI ?? `${ownMongo!.url}/bench_webhook_latency`;
const redisUrl = process.env.REDIS_URL ?? ownRedis!.url;
const db = await Database.connect(mongoUrl);
const conns: Array<ReturnType<typeof createRedis>> = [];
const redis = (blocking = false) => {
  const c = createRedis(redisUrl, blocking ? { autoPipelining: false } : {});
  conns.push(c);
  return c;
};
const [ingressRedis, queueRedis, eventsRedis, pubRedis, extraRedis] = [redis(), redis(), redis(), redis(), redis()];
const [pumpRedis, subRedis, rtSubRedis] = [redis(true), redis(true), redis(true)];

const app = await buildApp({
  config: { appSecret, verifyToken: "bench-verify", jwtSecret, queuePrefix: prefix },
  redis: ingressRedis,
  db,
  events: new DashboardEvents(eventsRedis),
});
const ingressUrl = await app.listen({ port: 0, host: "127.0.0.1" });
const sim = await MetaSimulator.create({ appSecret, webhookUrl: `${ingressUrl}/webhook` });
await sim.listen();
const realtime = createRealtimeServer({ pub: pubRedis, sub: rtSubRedis, db, jwtSecret, logger });
const realtimeUrl = `http://127.0.0.1:${await realtime.listen(0, "127.0.0.1")}`;
// The worker's own connection, monitored: its requests only, by shape and time.
const workerDb = await Database.connect(mongoUrl, { monitorCommands: true });
const counter = new CommandCounter(workerDb.connection);
/** Statements per update command, by collection. */
const updateSizes = new Map<string, number[]>();
workerDb.connection.getClient().on("commandStarted", (e) => {
  if (e.commandName !== "update") return;
  const cmd = e.command as { update?: string; updates?: unknown[] };
  const k = String(cmd.update);
  const list = updateSizes.get(k) ?? [];
  list.push(cmd.updates?.length ?? 0);
  updateSizes.set(k, list);
});
let batches: BatchTiming[] = [];
const inbound = new InboundWorker({
  db: workerDb,
  onBatchTimed: (t) => batches.push(t),
  concurrency,
  queueRedis,
  pumpRedis,
  subscriberRedis: subRedis,
  events: new DashboardEvents(extraRedis),
  logger,
  prefix,
  upkeep: false,
});
await inbound.start();
const client = await db.clients.create({
  userId: "bench-recruiter",
  companyName: "Bench",
  phoneNumberId: "910000",
  wabaId: "bench-waba",
  whatsappNumber: "212520000001",
  status: "active",
});
const business = { wabaId: client.wabaId, phoneNumberId: client.phoneNumberId };

// The raw single-document update rate of this server, now (the capacity's denominator).
const RAW_DOCS = 2_000;
const raw = db.connection.db!.collection<{ _id: number; v: number }>("bench_raw_updates");
await raw.insertMany(Array.from({ length: RAW_DOCS }, (_, i) => ({ _id: i, v: 0 })));
let nextRaw = 0;
const r0 = performance.now();
await Promise.all(
  Array.from({ length: 32 }, async () => {
    for (let i = nextRaw++; i < RAW_DOCS; i = nextRaw++) await raw.updateOne({ _id: i }, { $set: { v: 1 } });
  }),
);
const rawUpdatePerSec = RAW_DOCS / ((performance.now() - r0) / 1000);
await raw.drop();

// The recruiter's dashboard.
const socket = connect(realtimeUrl, {
  transports: ["websocket"],
  auth: { token: await signJwt(jwtSecret, { sub: "bench-recruiter", role: "recruiter" }, "1h") },
  reconnection: false,
});
await new Promise<void>((resolve, reject) => {
  socket.once("auth:session", () => resolve());
  socket.once("connect_error", reject);
});
const atSocket = new Map<string, number>();
socket.on("message:received", (payload: { message?: { wamid?: string } }) => {
  const wamid = payload?.message?.wamid;
  if (wamid) atSocket.set(wamid, Date.now());
});
const queue = new Queue<WebhookJob>(WEBHOOK_QUEUE, { connection: extraRedis, prefix });

interface Stages {
  total: number[];
  ingress: number[];
  streamAndPump: number[];
  queueWait: number[];
  toSocket: number[];
  jobDone: number[];
}
const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: Math.round(pct(s, 50)), p99: Math.round(pct(s, 99)) };
};

let seq = 0;
async function atRate(rate: number) {
  const n = Math.round(rate * seconds);
  batches = [];
  counter.reset();
  updateSizes.clear();
  const posted = new Map<string, number>();
  const t0 = performance.now();
  const wall0 = Date.now();
  const inFlight: Array<Promise<unknown>> = [];
  for (let i = 0; i < n;) {
    const now = performance.now();
    for (; i < n && t0 + (i * 1000) / rate <= now; i++) {
      const k = ++seq;
      const waId = `2126${String(30_000_000 + (k % candidates))}`;
      const wamid = newWamid();
      const body = textMessageDelivery(business, { waId, name: `Cand ${k % candidates}` }, `message ${k}`, {
        id: wamid,
      });
      // Due time on the wall clock (the other timestamps are Date.now() of the processes).
      posted.set(wamid, wall0 + (i * 1000) / rate);
      inFlight.push(sim.deliver(body).catch(() => undefined));
    }
    if (i < n) await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + (i * 1000) / rate - now)));
  }
  await Promise.all(inFlight);
  // Every message at the socket, or 60 s after the last was due.
  const deadline = Date.now() + 60_000;
  while ([...posted.keys()].some((w) => !atSocket.has(w)) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));

  const stages: Stages = { total: [], ingress: [], streamAndPump: [], queueWait: [], toSocket: [], jobDone: [] };
  const jobs = await queue.getJobs(["completed"], 0, -1);
  for (const job of jobs) {
    let wamids: string[] = [];
    try {
      const parsed = JSON.parse(job.data.body) as {
        entry: Array<{ changes: Array<{ value: { messages?: Array<{ id: string }> } }> }>;
      };
      wamids = parsed.entry.flatMap((e) => e.changes.flatMap((c) => (c.value.messages ?? []).map((m) => m.id)));
    } catch {
      continue;
    }
    for (const wamid of wamids) {
      const due = posted.get(wamid);
      const seen = atSocket.get(wamid);
      if (due === undefined || seen === undefined || !job.processedOn) continue;
      stages.total.push(seen - due);
      stages.ingress.push(job.data.receivedAt - due);
      stages.streamAndPump.push(job.timestamp - job.data.receivedAt);
      stages.queueWait.push(job.processedOn - job.timestamp);
      stages.toSocket.push(seen - job.processedOn);
      if (job.finishedOn) stages.jobDone.push(job.finishedOn - job.processedOn);
    }
  }
  await queue.clean(0, 100_000, "completed");
  // The batches: their steps, sizes, and how much of the run the worker spent writing one.
  const steps = new Map<string, number[]>();
  for (const b of batches) for (const [k, ms] of Object.entries(b.steps)) steps.set(k, [...(steps.get(k) ?? []), ms]);
  const total = (b: BatchTiming) => Object.values(b.steps).reduce((a, x) => a + x, 0);
  const span = batches.length ? batches.at(-1)!.startedAt + total(batches.at(-1)!) - batches[0]!.startedAt : 0;
  const mean = (xs: number[]) => Math.round(xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length));
  const missing = [...posted.keys()].filter((w) => !atSocket.has(w)).length;
  return {
    offered: rate,
    messages: n,
    atSocket: n - missing,
    missing,
    totalMs: summary(stages.total),
    byStageMs: {
      ingress: summary(stages.ingress),
      streamAndPump: summary(stages.streamAndPump),
      queueWait: summary(stages.queueWait),
      batchWritesEmitSocketIo: summary(stages.toSocket),
      jobCompletion: summary(stages.jobDone),
    },
    batches: {
      count: batches.length,
      deliveries: summary(batches.map((b) => b.deliveries)),
      conversations: summary(batches.map((b) => b.conversations)),
      totalMs: summary(batches.map(total)),
      busyShare: span ? Math.round((batches.reduce((a, b) => a + total(b), 0) / span) * 100) / 100 : 0,
      stepsMs: Object.fromEntries([...steps].map(([k, xs]) => [k, { ...summary(xs), mean: mean(xs) }])),
    },
    requestsByShape: counter.byShape(),
    statementsPerUpdate: Object.fromEntries(
      [...updateSizes].map(([k, xs]) => [k, { commands: xs.length, ...summary(xs), max: Math.max(...xs) }]),
    ),
  };
}

await atRate(10); // warm-up, not reported
const byRate = [];
for (const rate of rates) {
  console.error(`[bench] ${rate} msg/s for ${seconds} s`);
  byRate.push(await atRate(rate));
}
const sustained = byRate.filter((r) => r.missing === 0 && r.totalMs.p99 < 1_000).map((r) => r.offered);
const best = sustained.length ? Math.max(...sustained) : 0;
console.log(
  JSON.stringify(
    {
      machine: { cpus: cpus().length, load: loadavg().map((x) => Math.round(x * 10) / 10) },
      candidates,
      seconds,
      concurrency,
      rawUpdatePerSec: Math.round(rawUpdatePerSec),
      byRate,
      highestRateUnder1sP99: best,
      asShareOfRawUpdateRate: Math.round((best / rawUpdatePerSec) * 1000) / 1000,
    },
    null,
    2,
  ),
);

socket.disconnect();
await queue.close();
await inbound.close();
counter.stop();
await realtime.close();
await app.close();
await sim.close();
await Promise.allSettled(conns.map((c) => c.quit()));
await db.connection.db!.dropDatabase().catch(() => undefined);
await db.close();
await workerDb.close();
await ownMongo?.stop();
await ownRedis?.destroy();
