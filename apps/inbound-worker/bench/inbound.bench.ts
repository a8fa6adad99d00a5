// The fixtures entry point: @linkojob/testing's index loads vitest helpers, which throw outside Vitest.
import { sentOutboundMessage } from "@linkojob/testing/fixtures";
/**
 * Inbound benchmark (a script, not a test): webhook deliveries per second end to end on real parts —
 * deliveries appended to the ingress stream exactly as the ingress appends them (after its signature
 * check), the worker's pump → BullMQ → the delivery processor → the MongoDB-protocol server — and
 * the MongoDB requests it costs per message, counted with the driver's command monitoring
 * (CommandCounter on the worker's own connection), broken down by command.
 *
 *   pnpm --filter @linkojob/inbound-worker bench [--tenants 20] [--candidates 200] [--messages 2000]
 *        [--redeliver 0.1] [--statuses 400] [--concurrency 64] [--seed 0] [--settle-minutes 15]
 *
 * Printed next to each other, all from this one run:
 * - text messages: messages/s from the first append to the last message stored, MongoDB requests
 *   per message (total and by command); `--redeliver` of the deliveries are appended a second time
 *   (Meta's at-least-once), and the run checks each message is stored once and every conversation's
 *   messageCount and unreadCount are exact;
 * - statuses: `--statuses` outbound messages (stored directly, not counted) each get sent, delivered
 *   and read webhooks, one per delivery; statuses/s and MongoDB requests per status;
 * - the raw single-document insertOne and updateOne rates of the same server (driver alone, 32
 *   concurrent callers, 2,000 documents), measured just before, and messages/s as a ratio of them;
 * - every figure also by request shape (collection, filter fields, sort: CommandCounter.byShape) with
 *   the time the driver saw each take, and the bench's FerretDB's CPU time per message (/proc).
 * A message counts once its webhook job and its analytics projection are done.
 *
 * `--seed N` runs it twice in one process: on the empty database (phase 0), then, after N history
 * messages were stored directly into the same conversations (one in ten a delivered template), on
 * the same number of new messages and statuses (phase 1). `seedComparison` prints each shape's time
 * per call in phase 1 as a multiple of phase 0: a shape whose cost grows with the data shows there.
 * A phase not drained within `--settle-minutes` is reported as measured so far (`settled: false`).
 *
 * Redis and the MongoDB-protocol server are REDIS_URL / MONGODB_URI when set, else a redis-server and
 * a FerretDB of the bench's own (the PostgreSQL backend when the test kit offers it, else SQLite).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { Types } from "mongoose";
import pino from "pino";
import { Database } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { createRedis, ingressStreamKey } from "@linkojob/queues";
import { delivery, messagesValue, newWamid, statusObject, textMessageDelivery } from "@linkojob/meta-simulator";
// The services entry point: @linkojob/testing's index also loads vitest helpers, which throw outside Vitest.
import { CommandCounter, startFerretDb, startRedisServer, type ShapeTally } from "@linkojob/testing/services";
import { InboundWorker } from "../src/inbound-worker.js";

const { values: args } = parseArgs({
  options: {
    tenants: { type: "string", default: "20" },
    candidates: { type: "string", default: "200" },
    messages: { type: "string", default: "2000" },
    redeliver: { type: "string", default: "0.1" },
    statuses: { type: "string", default: "400" },
    concurrency: { type: "string", default: "64" },
    seed: { type: "string", default: "0" },
    "settle-minutes": { type: "string", default: "15" },
  },
});
const tenants = Math.min(500, Math.max(1, Number(args.tenants)));
const candidates = Math.min(100_000, Math.max(tenants, Number(args.candidates)));
const total = Math.min(50_000, Math.max(1, Number(args.messages)));
const redeliver = Math.min(1, Math.max(0, Number(args.redeliver)));
const statusMessages = Math.min(20_000, Math.max(0, Number(args.statuses)));
const concurrency = Math.min(256, Math.max(1, Number(args.concurrency)));
const seed = Math.min(1_000_000, Math.max(0, Number(args.seed)));
const settleMinutes = Math.min(60, Math.max(1, Number(args["settle-minutes"])));

const prefix = `bench-in-${randomBytes(3).toString("hex")}`;
// The PostgreSQL backend is asked for; a test kit without that option starts SQLite and says nothing.
const ownMongo = process.env.MONGODB_URI
  ? null
  : await (startFerretDb as (o?: { backend?: string }) => ReturnType<typeof startFerretDb>)({ backend: "postgresql" });
const ownRedis = process.env.REDIS_URL ? null : await startRedisServer();
const dbName = `bench_inbound_${randomBytes(3).toString("hex")}`;
const mongoUrl = process.env.MONGODB_URI ?? `${ownMongo!.url}/${dbName}`;
const redisUrl = process.env.REDIS_URL ?? ownRedis!.url;
const backend = process.env.MONGODB_URI
  ? "MONGODB_URI"
  : `FerretDB of the bench (${(ownMongo as { backend?: string }).backend ?? "sqlite"})`;
const logger = pino({ level: "silent" });

// The worker's connection is counted; the bench reads and seeds through a connection of its own.
const db = await Database.connect(mongoUrl, { monitorCommands: true });
const probe = await Database.connect(mongoUrl);
const conns = [
  createRedis(redisUrl),
  createRedis(redisUrl, { autoPipelining: false }),
  createRedis(redisUrl, { autoPipelining: false }),
  createRedis(redisUrl),
  createRedis(redisUrl),
];
const [queueRedis, pumpRedis, subRedis, eventsRedis, appendRedis] = conns as [
  (typeof conns)[0],
  (typeof conns)[0],
  (typeof conns)[0],
  (typeof conns)[0],
  (typeof conns)[0],
];

/** `count` single-document operations by 32 concurrent callers; returns operations per second. */
async function rawRate(count: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let i = next++; i < count; i = next++) await op(i);
    }),
  );
  return count / ((performance.now() - t0) / 1000);
}

// Raw rates of this server, now, with the driver alone: the ratios' denominators.
const RAW_DOCS = 2_000;
const raw = probe.connection.db!.collection<{ _id: number; v: number }>("bench_raw");
const rawInsertPerSec = await rawRate(RAW_DOCS, (i) => raw.insertOne({ _id: i, v: 0 }));
const rawUpdatePerSec = await rawRate(RAW_DOCS, (i) => raw.updateOne({ _id: i }, { $set: { v: 1 } }));
await raw.drop();
console.error(
  `[bench] raw insertOne ${rawInsertPerSec.toFixed(0)}/s, updateOne ${rawUpdatePerSec.toFixed(0)}/s (${backend})`,
);

// Tenants: one client and number each; candidates spread over them round-robin.
const clients: Array<{ id: Types.ObjectId; wabaId: string; phoneNumberId: string }> = [];
for (let i = 0; i < tenants; i++) {
  const c = await probe.clients.create({
    userId: `bench-in-user-${i}`,
    companyName: `Bench ${i}`,
    phoneNumberId: `8${String(i).padStart(6, "0")}`,
    wabaId: `biw${i}`,
    whatsappNumber: `2125300${String(i).padStart(5, "0")}`,
    status: "active",
  });
  clients.push({ id: c._id, wabaId: c.wabaId, phoneNumberId: c.phoneNumberId });
}
const candidateOf = (k: number) => ({
  tenant: clients[k % tenants]!,
  waId: `2126${String(20_000_000 + k)}`,
  name: `Candidat ${k}`,
});
const TEXTS = [
  "Bonjour, je suis intéressé par le poste",
  "مرحبا، هل الوظيفة متاحة؟",
  "Merci 🙏 à bientôt",
  "Je peux venir demain à 10h",
  "Voici mon CV",
];

const worker = new InboundWorker({
  db,
  queueRedis,
  pumpRedis,
  subscriberRedis: subRedis,
  events: new DashboardEvents(eventsRedis),
  logger,
  prefix,
  concurrency,
  upkeep: false,
  onStatus: () => Promise.resolve(),
});
await worker.start();
const counter = new CommandCounter(db.connection);
const streamKey = ingressStreamKey(prefix);

/** Appends bodies to the ingress stream as the ingress does (field `b`), pipelined. */
async function append(bodies: string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 500) {
    const pipe = appendRedis.pipeline();
    for (const b of bodies.slice(i, i + 500)) pipe.xadd(streamKey, "*", "b", b);
    await pipe.exec();
  }
}

/**
 * Waits until the stream, the webhook queue and the analytics queue are empty (twice in a row, 250 ms
 * apart), then until `done()` holds (bounded: `--settle-minutes`); returns the milliseconds since `t0` at
 * which the queues were found drained, and the FerretDB CPU time then (before `done()` reads). Polls Redis only: a count of the messages on the
 * stand-in reads the whole collection, a cost that would grow with the seed and pollute the figures.
 */
async function settle(
  t0: number,
  done: () => Promise<boolean>,
): Promise<{ ms: number; cpu: number | null; settled: boolean }> {
  const deadline = Date.now() + settleMinutes * 60_000;
  const drained = async () => {
    // The analytics projection the batches queued is part of a message's cost: it is waited for too.
    const counts = [
      await worker.queue.getJobCounts("waiting", "active", "delayed", "prioritized"),
      await worker.analytics.queue.getJobCounts("waiting", "active", "delayed", "prioritized"),
    ];
    return counts.every((c) => Object.values(c).every((n) => n === 0)) && (await queueRedis.xlen(streamKey)) === 0;
  };
  for (;;) {
    if ((await drained()) && (await new Promise((r) => setTimeout(r, 250)).then(drained))) {
      const at = { ms: performance.now() - t0 - 250, cpu: ferretCpuMs(), settled: true };
      if (await done()) return at;
    }
    // Not drained in time: what was measured so far is reported, and the run fails.
    if (Date.now() > deadline) return { ms: performance.now() - t0, cpu: ferretCpuMs(), settled: false };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** CPU milliseconds the bench's own FerretDB process has used so far (from /proc), or null. */
function ferretCpuMs(): number | null {
  const pid = (ownMongo as { pid?: () => number | undefined } | null)?.pid?.();
  if (!pid) return null;
  try {
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th (clock ticks).
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}
const TICKS_PER_SECOND = 100;

const tenantIds = clients.map((c) => c.id);
// Timestamps: phase p's message i at base + p × total + i seconds, the seed before all of them.
const base = Math.floor(Date.now() / 1000) - 3_600 - 2 * total;
const perCandidate = new Map<number, number>();
let expectedStored = 0;

/** Phase `p`: `total` text messages (10 % redelivered), then the statuses of `--statuses` outbound messages. */
async function phase(p: number) {
  const bodies: string[] = [];
  for (let j = 0; j < total; j++) {
    const i = p * total + j;
    const k = i % candidates;
    perCandidate.set(k, (perCandidate.get(k) ?? 0) + 1);
    const c = candidateOf(k);
    bodies.push(
      JSON.stringify(
        textMessageDelivery(c.tenant, { waId: c.waId, name: c.name }, TEXTS[i % TEXTS.length]!, {
          timestamp: String(base + i),
        }),
      ),
    );
  }
  const redelivered = bodies.filter((_, i) => i % Math.round(1 / Math.max(redeliver, 1e-9)) === 0 && redeliver > 0);
  // Redeliveries go in among the rest, not at the end: Meta redelivers while new traffic flows.
  const stream = bodies
    .flatMap((b, i) => (i % 10 === 9 && redelivered.length ? [b, redelivered.pop()!] : [b]))
    .concat(redelivered);
  expectedStored += total;

  console.error(
    `[bench] phase ${p}: appending ${stream.length} deliveries (${total} messages, ${stream.length - total} redelivered)`,
  );
  counter.reset();
  const cpu0 = ferretCpuMs();
  const t0 = performance.now();
  const progress = setInterval(() => {
    void worker.queue
      .getJobCounts("waiting", "active", "completed")
      .catch(() => ({}))
      .then((c) => console.error(`[bench] ${((performance.now() - t0) / 1000).toFixed(0)} s: ${JSON.stringify(c)}`));
  }, 5_000);
  await append(stream);
  const {
    ms: storedAtMs,
    cpu: cpu1,
    settled,
  } = await settle(
    t0,
    async () => (await probe.messages.countDocuments({ clientId: { $in: tenantIds } })) >= expectedStored,
  );
  clearInterval(progress);
  const text = {
    settled,
    messagesPerSec: +(total / (storedAtMs / 1000)).toFixed(1),
    mongoRequestsPerMessage: +(counter.total / total).toFixed(2),
    ferretCpuMsPerMessage: cpu0 !== null && cpu1 !== null ? +((cpu1 - cpu0) / total).toFixed(2) : null,
    mongoMsPerMessage: +(sumMs(counter.byShape()) / total).toFixed(2),
    byCommand: counter.byCommand(),
    byShape: counter.byShape(),
  };

  let statuses: {
    settled: boolean;
    statuses: number;
    statusesPerSec: number;
    mongoRequestsPerStatus: number;
    ferretCpuMsPerStatus: number | null;
    mongoMsPerStatus: number;
    byCommand: Record<string, number>;
    byShape: Record<string, ShapeTally>;
  } | null = null;
  if (statusMessages > 0 && settled) {
    const convs = await probe.conversations.find({ clientId: { $in: tenantIds } }, { candidateKey: 1 }).lean();
    const convOf = new Map(convs.map((x) => [x.candidateKey, x._id]));
    const now = new Date();
    const wamids: Array<{ wamid: string; c: ReturnType<typeof candidateOf> }> = [];
    const docs = [];
    for (let i = 0; i < statusMessages; i++) {
      const c = candidateOf(i % candidates);
      const wamid = newWamid();
      wamids.push({ wamid, c });
      const doc = sentOutboundMessage({
        clientId: c.tenant.id,
        conversationId: convOf.get(c.waId) ?? new Types.ObjectId(),
        dedupeKey: `out:bench${p}-${i}`,
        wamid,
        at: now,
        type: i % 2 ? "template" : "text",
      });
      // Half of them templates: a delivered template's first reply is looked for after it.
      docs.push(i % 2 ? { ...doc, template: { name: "bench_relance", language: "fr" } } : doc);
    }
    await probe.messages.collection.insertMany(docs);
    expectedStored += statusMessages;
    const ts = Math.floor(Date.now() / 1000);
    const statusBodies = ["delivered", "read"].flatMap((s, si) =>
      wamids.map(({ wamid, c }) =>
        JSON.stringify(
          delivery([
            {
              wabaId: c.tenant.wabaId,
              changes: [
                {
                  field: "messages",
                  value: messagesValue(c.tenant, {
                    statuses: [statusObject(wamid, s, c.waId, { timestamp: String(ts + si + 1) })],
                  }),
                },
              ],
            },
          ]),
        ),
      ),
    );
    counter.reset();
    const c0 = ferretCpuMs();
    const s0 = performance.now();
    await append(statusBodies);
    const {
      ms: statusMs,
      cpu: c1,
      settled: statusesSettled,
    } = await settle(
      s0,
      async () =>
        (await probe.messages.countDocuments({
          direction: "outbound",
          dedupeKey: new RegExp(`^out:bench${p}-`),
          status: "read",
        })) >= statusMessages,
    );
    statuses = {
      settled: statusesSettled,
      statuses: statusBodies.length,
      statusesPerSec: +(statusBodies.length / (statusMs / 1000)).toFixed(1),
      mongoRequestsPerStatus: +(counter.total / statusBodies.length).toFixed(2),
      ferretCpuMsPerStatus: c0 !== null && c1 !== null ? +((c1 - c0) / statusBodies.length).toFixed(2) : null,
      mongoMsPerStatus: +(sumMs(counter.byShape()) / statusBodies.length).toFixed(2),
      byCommand: counter.byCommand(),
      byShape: counter.byShape(),
    };
  }
  return { text, statuses, storedAtMs, deliveries: stream.length, settled: settled && statuses?.settled !== false };
}

function sumMs(shapes: Record<string, { totalMs: number }>): number {
  return Object.values(shapes).reduce((a, s) => a + s.totalMs, 0);
}

/**
 * `--seed` history messages, stored directly (not counted by the worker's connection), spread over
 * the conversations phase 0 created and older than every phase's messages: one in ten an outbound
 * template that was delivered, the rest the candidate's text messages.
 */
async function seedHistory(n: number): Promise<number> {
  const convs = await probe.conversations.find({ clientId: { $in: tenantIds } }, { clientId: 1 }).lean();
  const sample = await probe.messages.collection.findOne({ clientId: { $in: tenantIds }, direction: "inbound" });
  if (!sample || !convs.length) throw new Error("seed: phase 0 stored nothing to copy");
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1_000) {
    const docs = [];
    for (let j = i; j < Math.min(n, i + 1_000); j++) {
      const conv = convs[j % convs.length]!;
      const at = new Date((base - n + j) * 1000);
      if (j % 10 === 0) {
        docs.push({
          ...sentOutboundMessage({
            clientId: conv.clientId,
            conversationId: conv._id,
            dedupeKey: `out:seed${j}`,
            wamid: newWamid(),
            type: "template",
            at,
          }),
          template: { name: "bench_seed", language: "fr" },
          status: "delivered",
          statusRank: 3,
          statusAt: { sent: at, delivered: at },
        });
        continue;
      }
      const { _id, ...rest } = sample;
      void _id;
      const wamid = newWamid();
      docs.push({
        ...rest,
        clientId: conv.clientId,
        conversationId: conv._id,
        dedupeKey: `in:seed${j}`,
        wamid,
        timestamp: at,
        receivedAt: at,
        createdAt: at,
        updatedAt: at,
      });
    }
    await probe.messages.collection.insertMany(docs, { ordered: false });
  }
  expectedStored += n;
  console.error(`[bench] seeded ${n} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return n;
}

const phases: Array<Awaited<ReturnType<typeof phase>> & { seeded: number }> = [];
phases.push({ ...(await phase(0)), seeded: 0 });
if (seed > 0 && phases[0]!.settled) {
  const seeded = await seedHistory(seed);
  phases.push({ ...(await phase(1)), seeded });
}

// Exactly once, exact counters.
const stored = await probe.messages.countDocuments({ clientId: { $in: tenantIds } });
const convs = await probe.conversations
  .find({ clientId: { $in: tenantIds } }, { candidateKey: 1, messageCount: 1, unreadCount: 1 })
  .lean();
let wrongCounters = 0;
for (const conv of convs) {
  const k = Number(conv.candidateKey.slice(4)) - 20_000_000;
  const want = perCandidate.get(k) ?? -1;
  if (conv.messageCount !== want || conv.unreadCount !== want) wrongCounters++;
}

/** Per shape, the time per call with the seed as a multiple of the time without it. */
function growth(
  a: Record<string, ShapeTally>,
  b: Record<string, ShapeTally>,
): Record<string, { callsPerPhase: number[]; msPerCall: number[]; ratio: number }> {
  const rows: Array<[string, { callsPerPhase: number[]; msPerCall: number[]; ratio: number }]> = [];
  for (const [k, v] of Object.entries(b)) {
    const w = a[k];
    if (!w) continue;
    const ratio = +(v.msPerCall / Math.max(w.msPerCall, 0.01)).toFixed(2);
    rows.push([k, { callsPerPhase: [w.calls, v.calls], msPerCall: [w.msPerCall, v.msPerCall], ratio }]);
  }
  return Object.fromEntries(rows.sort((x, y) => y[1].ratio - x[1].ratio));
}
const last = phases[phases.length - 1]!;
const seedComparison =
  phases.length === 2
    ? {
        seed,
        text: {
          ferretCpuMsPerMessage: phases.map((x) => x.text.ferretCpuMsPerMessage),
          mongoMsPerMessage: phases.map((x) => x.text.mongoMsPerMessage),
          mongoMsPerMessageRatio: +(phases[1]!.text.mongoMsPerMessage / phases[0]!.text.mongoMsPerMessage).toFixed(2),
          ferretCpuRatio:
            phases[0]!.text.ferretCpuMsPerMessage && phases[1]!.text.ferretCpuMsPerMessage
              ? +(phases[1]!.text.ferretCpuMsPerMessage / phases[0]!.text.ferretCpuMsPerMessage).toFixed(2)
              : null,
          messagesPerSec: phases.map((x) => x.text.messagesPerSec),
          byShape: growth(phases[0]!.text.byShape, phases[1]!.text.byShape),
        },
        statuses:
          phases[0]!.statuses && phases[1]!.statuses
            ? {
                ferretCpuMsPerStatus: phases.map((x) => x.statuses!.ferretCpuMsPerStatus),
                mongoMsPerStatus: phases.map((x) => x.statuses!.mongoMsPerStatus),
                byShape: growth(phases[0]!.statuses.byShape, phases[1]!.statuses.byShape),
              }
            : null,
      }
    : null;

const messagesPerSec = total / (last.storedAtMs / 1000);
const result = {
  machine: { cpus: cpus().length, loadavg: loadavg().map((l) => l.toFixed(2)) },
  setup: {
    tenants,
    candidates,
    messages: total,
    deliveries: last.deliveries,
    redelivered: last.deliveries - total,
    seed,
    workerConcurrency: concurrency,
    mongo: backend,
  },
  text: {
    ...last.text,
    storedOnce: stored === expectedStored,
    conversations: convs.length,
    conversationsWithWrongCounters: wrongCounters,
  },
  statuses: last.statuses,
  seedComparison,
  raw: {
    insertOnePerSec: +rawInsertPerSec.toFixed(1),
    updateOnePerSec: +rawUpdatePerSec.toFixed(1),
    messagesPerSecToRawInsert: +(messagesPerSec / rawInsertPerSec).toFixed(3),
    messagesPerSecToRawUpdate: +(messagesPerSec / rawUpdatePerSec).toFixed(3),
  },
};
console.log(JSON.stringify(result, null, 2));

counter.stop();
await worker.close();
await probe.connection.dropDatabase().catch(() => undefined);
await probe.close();
await db.close();
await appendRedis.del(streamKey).catch(() => undefined);
await Promise.allSettled(conns.map((c) => c.quit()));
await ownMongo?.stop();
await ownRedis?.destroy();
process.exit(stored === expectedStored && wrongCounters === 0 && phases.every((x) => x.settled) ? 0 : 1);
