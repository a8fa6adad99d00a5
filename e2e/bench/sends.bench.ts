/**
 * Outbound benchmark (a script, not a test): sends per second across many tenants, end to end on
 * real parts — the send API (buildApp, listening) over HTTP → Redis/BullMQ → the outbound worker →
 * the Meta simulator over HTTP (enforcing 80 msg/s per number like Meta) — with the queue latency of
 * each message (API's 202 → accepted at the simulator), p50/p99.
 *
 *   pnpm --filter @linkojob/e2e bench:sends [--tenants 20] [--messages 400]
 *        [--producers 16] [--concurrency 64] [--mps 80] [--statuses]
 *
 * Printed next to each other, all from this one run:
 * - MongoDB requests per send, counted with the driver's command monitoring (CommandCounter), on the
 *   API side (the ingress's own connection) and the worker side (the worker's own connection);
 * - the send API's p50/p99 with `--producers` concurrent callers (default 16);
 * - Redis commands per send end to end (the server's INFO commandstats, Lua inner commands included);
 * - sends/s end to end, and the headline: its ratio to the raw single-document `updateOne` rate of
 *   the same MongoDB-protocol server (32 concurrent callers, 2,000 documents, by _id), measured
 *   just before; and a direct-to-simulator baseline (no API, queue or database).
 *
 * Redis and the MongoDB-protocol server are REDIS_URL / MONGODB_URI when set, else a redis-server and
 * a FerretDB of the bench's own. Everything listens on 127.0.0.1. `--statuses` also has the simulator
 * deliver each send's sent/delivered/read webhooks to the ingress and runs an inbound worker (with
 * the outbound status hook) on a third counted connection: requests per send then include them.
 */
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import pino from "pino";
import { request } from "undici";
import { signJwt } from "@linkojob/auth";
import { Database } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { TokenVault } from "@linkojob/vault";
import { GraphClient, sendTemplate } from "@linkojob/whatsapp";
import { MetaSimulator, messagingState, rateStats, simTemplate } from "@linkojob/meta-simulator";
// The services entry point: @linkojob/testing's index also loads vitest helpers, which throw outside Vitest.
import { CommandCounter, RedisCommandCounter, startFerretDb, startRedisServer } from "@linkojob/testing/services";
import { buildApp } from "@linkojob/ingress";
import { InboundWorker } from "@linkojob/inbound-worker";
import { OutboundWorker } from "@linkojob/outbound-worker";

const { values: args } = parseArgs({
  options: {
    tenants: { type: "string", default: "20" },
    messages: { type: "string", default: "400" },
    producers: { type: "string", default: "16" },
    concurrency: { type: "string", default: "64" },
    mps: { type: "string", default: "80" },
    statuses: { type: "boolean", default: false },
  },
});
const tenants = Math.min(500, Math.max(1, Number(args.tenants)));
const total = Math.min(20_000, Math.max(1, Number(args.messages)));
const producers = Math.min(256, Math.max(1, Number(args.producers)));
const concurrency = Math.min(512, Math.max(1, Number(args.concurrency)));
const mps = Math.max(1, Number(args.mps));

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const jwtSecret = randomBytes(24).toString("hex");
const appSecret = randomBytes(16).toString("hex");
const prefix = `bench-out-${randomBytes(3).toString("hex")}`;

// FerretDB's own default of 50 PostgreSQL connections, not the test harness's 20: FerretDB v1 waits
// forever once more requests run at once than its pool can serve (measured here: 48 concurrent
// updateOne with 20 connections; none with 50), and this bench runs up to 40 (two pools of 20).
const ownMongo = process.env.MONGODB_URI ? null : await startFerretDb({ pgMaxConnections: 50 });
const ownRedis = process.env.REDIS_URL ? null : await startRedisServer();
const mongoUrl = process.env.MONGODB_URI ?? `${ownMongo!.url}/bench_outbound`;
const redisUrl = process.env.REDIS_URL ?? ownRedis!.url;
const logger = pino({ level: "silent" });
const vault = new TokenVault([randomBytes(32).toString("hex")]);
// The API and the worker each have a connection of their own, so their requests are counted apart.
// Three counted connections with statuses: their pools stay within FerretDB's 50.
const poolSize = args.statuses ? 15 : 20;
const db = await Database.connect(mongoUrl, { monitorCommands: true, maxPoolSize: poolSize });
const apiDb = await Database.connect(mongoUrl, { monitorCommands: true, maxPoolSize: poolSize });
// Polls the bench's own progress without being counted.
const pollDb = await Database.connect(mongoUrl, { maxPoolSize: 2 });
const inboundDb = args.statuses
  ? await Database.connect(mongoUrl, { monitorCommands: true, maxPoolSize: poolSize })
  : null;
const conns = [
  createRedis(redisUrl, { failFast: true }),
  createRedis(redisUrl),
  createRedis(redisUrl),
  createRedis(redisUrl, { autoPipelining: false }),
  createRedis(redisUrl),
];
const [ingressRedis, queueRedis, cmdRedis, subRedis, eventsRedis] = conns as [
  (typeof conns)[0],
  (typeof conns)[0],
  (typeof conns)[0],
  (typeof conns)[0],
  (typeof conns)[0],
];

const app = await buildApp({
  config: { appSecret, verifyToken: "bench-verify-token", jwtSecret, queuePrefix: prefix },
  redis: ingressRedis,
  db: apiDb,
  events: new DashboardEvents(eventsRedis),
});
const ingressUrl = await app.listen({ port: 0, host: "127.0.0.1" });
const sim = await MetaSimulator.create({
  appSecret,
  ...(args.statuses ? { webhookUrl: `${ingressUrl}/webhook` } : {}),
});
await sim.listen();
const simState = messagingState(sim.state);
simState.statusFlow.enabled = !!args.statuses;
simState.limits.defaultMps = mps;
const graph = new GraphClient({ baseUrl: sim.url, version: "v26.0", connections: Math.max(16, concurrency) });
const worker = new OutboundWorker({
  db,
  queueRedis,
  redis: cmdRedis,
  subscriberRedis: subRedis,
  graph,
  vault,
  events: new DashboardEvents(eventsRedis),
  logger,
  prefix,
  concurrency,
  templateSyncIntervalMs: 0,
});

const extra = <T extends (typeof conns)[number]>(c: T): T => (conns.push(c), c);
const inbound = inboundDb
  ? new InboundWorker({
      db: inboundDb,
      queueRedis,
      pumpRedis: extra(createRedis(redisUrl, { autoPipelining: false })),
      subscriberRedis: extra(createRedis(redisUrl, { autoPipelining: false })),
      events: new DashboardEvents(eventsRedis),
      logger,
      prefix,
      concurrency: 16,
      onStatus: worker.statusHook,
      upkeep: false,
    })
  : null;
console.error("[bench] services up; creating tenants");
// Tenants: one client, number and WABA each, with the default template synced.
const clients: Array<{ id: string; jwt: string; phoneNumberId: string }> = [];
for (let i = 0; i < tenants; i++) {
  const wabaId = `bw${i}`;
  const c = await db.clients.create({
    userId: `bench-user-${i}`,
    companyName: `Bench ${i}`,
    phoneNumberId: `9${String(i).padStart(6, "0")}`,
    wabaId,
    whatsappNumber: `2125200${String(i).padStart(5, "0")}`,
    status: "active",
    throughputMps: mps,
    accessToken: vault.encrypt(`bench-token-${i}`),
  });
  simState.numbers.set(c.phoneNumberId, wabaId);
  simState.templates.set(wabaId, [
    simTemplate({ name: "application_received", language: "fr", body: "Bonjour {{1}}, candidature {{2}} reçue." }),
  ]);
  await worker.syncTemplates(c._id.toHexString());
  clients.push({
    id: c._id.toHexString(),
    jwt: await signJwt(jwtSecret, { sub: String(c.userId), role: "recruiter" }, "1h"),
    phoneNumberId: c.phoneNumberId,
  });
}

// The raw single-document update rate of this server, now, with the driver alone: 2,000 documents,
// 32 concurrent callers, each `updateOne({ _id }, { $set })` once. The headline ratio's denominator.
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
console.error(`[bench] raw updateOne: ${rawUpdatePerSec.toFixed(0)}/s`);

await worker.start();
await inbound?.start();
const apiCount = new CommandCounter(apiDb.connection);
const workerCount = new CommandCounter(db.connection);
const inboundCount = inboundDb ? new CommandCounter(inboundDb.connection) : null;
// Redis commands end to end (API, pump, queue, worker, pacing; Lua scripts' inner commands included),
// from the server's own INFO: exact on the bench's own redis-server; with REDIS_URL, others' count too.
const redisNode = new URL(redisUrl);
const redisWork = RedisCommandCounter.forNodes([{ host: redisNode.hostname, port: Number(redisNode.port) }]);
const redisBefore = await redisWork.snapshot();
console.error("[bench] worker started; producing");

// Produce: `producers` concurrent API callers, messages spread round-robin over tenants, each to a
// distinct candidate (first contact: a template each; the pair rate does not bind).
const t0 = Date.now();
const progress = setInterval(
  () =>
    console.error(
      `[bench] ${((Date.now() - t0) / 1000).toFixed(0)} s: ${acceptedAt.size} accepted by the API, ${simState.accepted.length} sent, ${simState.rejected.length} refused by the simulator`,
    ),
  5_000,
);
const acceptedAt = new Map<string, number>();

/**
 * `producers` concurrent callers of the send API, `total` first-contact sends round-robin over the
 * tenants, each to a new candidate (`phonePrefix` + a number). Returns each call's latency, sorted.
 */
async function callSendApi(phonePrefix: string, onAccepted: (messageId: string) => void = () => {}): Promise<number[]> {
  const latency: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: producers }, async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const c = clients[i % tenants]!;
        const started = performance.now();
        const res = await request(`${ingressUrl}/api/messages/send`, {
          method: "POST",
          headers: { authorization: `Bearer ${c.jwt}`, "content-type": "application/json" },
          body: JSON.stringify({
            clientId: c.id,
            candidatePhone: `${phonePrefix}${String(10_000_000 + i)}`,
            candidateName: `Cand ${i}`,
            jobTitle: "Agent",
          }),
        });
        const body = (await res.body.json()) as { messageId?: string };
        if (res.statusCode !== 202 || !body.messageId)
          throw new Error(`send API answered ${res.statusCode}: ${JSON.stringify(body)}`);
        latency.push(performance.now() - started);
        onAccepted(body.messageId);
      }
    }),
  );
  return latency.sort((a, b) => a - b);
}

const apiLatency = await callSendApi("2126", (id) => acceptedAt.set(id, Date.now()));
const producedMs = Date.now() - t0;

// Wait for every message to reach the simulator (bounded).
const deadline = Date.now() + 10 * 60_000;
while (simState.accepted.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
clearInterval(progress);
const sentMs = Math.max(...simState.accepted.map((m) => m.at)) - t0;
// Let the last sends' own writes (sent, conversation) finish before reading the counters; with
// statuses, until every message is read (the simulator sends sent, delivered, read).
await new Promise((r) => setTimeout(r, 1_000));
if (inbound) {
  const until = Date.now() + 5 * 60_000;
  for (;;) {
    const pending = await pollDb.messages.countDocuments({ direction: "outbound", status: { $ne: "read" } });
    if (pending === 0 || Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 500));
  }
}
const redisSends = RedisCommandCounter.diff(redisBefore, await redisWork.snapshot());
redisWork.close();
const statusRequests = inboundCount ? { total: inboundCount.total, byCommand: inboundCount.byCommand() } : null;
inboundCount?.stop();
const apiRequests = { total: apiCount.total, byCommand: apiCount.byCommand() };
const workerRequests = { total: workerCount.total, byCommand: workerCount.byCommand() };
apiCount.stop();
workerCount.stop();
const queueLatency = simState.accepted
  .filter((m) => m.bizOpaque && acceptedAt.has(m.bizOpaque))
  .map((m) => m.at - acceptedAt.get(m.bizOpaque!)!)
  .sort((a, b) => a - b);
const stats = rateStats(simState);
const dupes = simState.accepted.length - new Set(simState.accepted.map((m) => m.bizOpaque)).size;
const maxPerNumber = Math.max(...Object.values(stats.maxPerSecondByNumber));

await inbound?.close();
// Baseline, same run, same machine: the same number of template sends posted straight to the
// simulator by the same number of concurrent callers through the same GraphClient — no API, no
// queue, no database. The ratio says what the whole pipeline keeps of what "Meta" here can take.
await worker.close();
const acceptedBefore = simState.accepted.length;

// The send API alone, same callers and tenants, once the worker is stopped (its 64 concurrent jobs no
// longer share the database): what a caller of the API waits for when sends are not being made at the
// same moment on the same two cores. New candidates, so every call is a first contact again.
const a0 = Date.now();
const aloneLatency = await callSendApi("2125");
const aloneMs = Date.now() - a0;

// Meta's per-number limit off for the baseline: with few tenants its burst would be refused (130429),
// and the baseline is what the simulator can take, not what a number may send.
simState.limits.enforce = false;
const b0 = Date.now();
let nextDirect = 0;
await Promise.all(
  Array.from({ length: producers }, async () => {
    for (;;) {
      const i = nextDirect++;
      if (i >= total) return;
      const c = clients[i % tenants]!;
      await sendTemplate(graph, {
        phoneNumberId: c.phoneNumberId,
        to: `2127${String(10_000_000 + i)}`,
        token: `bench-token-${i % tenants}`,
        template: {
          name: "application_received",
          language: "fr",
          bodyParams: [
            { type: "text", text: `Cand ${i}` },
            { type: "text", text: "Agent" },
          ],
        },
      });
    }
  }),
);
const directPerSec = (simState.accepted.length - acceptedBefore) / ((Date.now() - b0) / 1000);
const endToEndPerSec = simState.accepted.filter((m) => m.bizOpaque).length / (sentMs / 1000);

const result = {
  machine: { cpus: cpus().length, loadavg: loadavg().map((l) => l.toFixed(2)) },
  setup: {
    tenants,
    messages: total,
    producers,
    workerConcurrency: concurrency,
    mpsPerNumber: mps,
    statuses: !!args.statuses,
    mongo: ownMongo ? `FerretDB (${ownMongo.backend}) of the bench` : "MONGODB_URI",
    mongoPoolPerConnection: poolSize,
  },
  mongoRequestsPerSend: {
    api: +(apiRequests.total / total).toFixed(2),
    worker: +(workerRequests.total / Math.max(1, acceptedBefore)).toFixed(2),
    ...(statusRequests
      ? {
          statusWebhooks: +(statusRequests.total / Math.max(1, acceptedBefore)).toFixed(2),
          total: +(
            (apiRequests.total + workerRequests.total + statusRequests.total) /
            Math.max(1, acceptedBefore)
          ).toFixed(2),
          statusByCommand: statusRequests.byCommand,
        }
      : {}),
    apiByCommand: apiRequests.byCommand,
    workerByCommand: workerRequests.byCommand,
  },
  redisCommandsPerSend: {
    endToEnd: +(redisSends.commands / Math.max(1, total)).toFixed(1),
    byCommand: Object.fromEntries(
      Object.entries(redisSends.byCommand)
        .slice(0, 12)
        .map(([k, v]) => [k, +(v / Math.max(1, total)).toFixed(2)]),
    ),
  },
  headline: {
    endToEndSendsPerSec: +endToEndPerSec.toFixed(1),
    rawUpdateOnePerSec: +rawUpdatePerSec.toFixed(1),
    ratioToRawUpdate: +(endToEndPerSec / rawUpdatePerSec).toFixed(3),
  },
  api: {
    acceptedPerSec: +(total / (producedMs / 1000)).toFixed(1),
    p50Ms: +pct(apiLatency, 50).toFixed(1),
    p99Ms: +pct(apiLatency, 99).toFixed(1),
  },
  apiAlone: {
    acceptedPerSec: +(total / (aloneMs / 1000)).toFixed(1),
    p50Ms: +pct(aloneLatency, 50).toFixed(1),
    p99Ms: +pct(aloneLatency, 99).toFixed(1),
  },
  sends: {
    sentAtSimulator: acceptedBefore,
    duplicates: dupes,
    endToEndPerSec: +endToEndPerSec.toFixed(1),
    baselineDirectToSimulatorPerSec: +directPerSec.toFixed(1),
    ratioToBaseline: +(endToEndPerSec / directPerSec).toFixed(3),
    queueLatencyP50Ms: pct(queueLatency, 50),
    queueLatencyP99Ms: pct(queueLatency, 99),
    maxPerSecondOneNumber: maxPerNumber,
    rejectedByCause: stats.rejectedByCause,
  },
};
console.log(JSON.stringify(result, null, 2));

await app.close();
await sim.close();
await graph.close();
await db.connection.dropDatabase().catch(() => undefined);
await db.close();
await apiDb.close();
await inboundDb?.close();
await pollDb.close();
await Promise.allSettled(conns.map((c) => c.quit()));
await ownMongo?.stop();
await ownRedis?.destroy();
