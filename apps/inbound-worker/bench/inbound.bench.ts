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
 *        [--redeliver 0.1] [--statuses 400] [--concurrency 64]
 *
 * Printed next to each other, all from this one run:
 * - text messages: messages/s from the first append to the last message stored, MongoDB requests
 *   per message (total and by command); `--redeliver` of the deliveries are appended a second time
 *   (Meta's at-least-once), and the run checks each message is stored once and every conversation's
 *   messageCount and unreadCount are exact;
 * - statuses: `--statuses` outbound messages (stored directly, not counted) each get sent, delivered
 *   and read webhooks, one per delivery; statuses/s and MongoDB requests per status;
 * - the raw single-document insertOne and updateOne rates of the same server (driver alone, 32
 *   concurrent callers, 2,000 documents), measured just before, and messages/s as a ratio of them.
 *
 * Redis and the MongoDB-protocol server are REDIS_URL / MONGODB_URI when set, else a redis-server and
 * a FerretDB of the bench's own (the PostgreSQL backend when the test kit offers it, else SQLite).
 */
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { Types } from "mongoose";
import pino from "pino";
import { Database } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { createRedis, ingressStreamKey } from "@linkojob/queues";
import { delivery, messagesValue, newWamid, statusObject, textMessageDelivery } from "@linkojob/meta-simulator";
// The services entry point: @linkojob/testing's index also loads vitest helpers, which throw outside Vitest.
import { CommandCounter, startFerretDb, startRedisServer } from "@linkojob/testing/services";
import { InboundWorker } from "../src/inbound-worker.js";

const { values: args } = parseArgs({
  options: {
    tenants: { type: "string", default: "20" },
    candidates: { type: "string", default: "200" },
    messages: { type: "string", default: "2000" },
    redeliver: { type: "string", default: "0.1" },
    statuses: { type: "string", default: "400" },
    concurrency: { type: "string", default: "64" },
  },
});
const tenants = Math.min(500, Math.max(1, Number(args.tenants)));
const candidates = Math.min(100_000, Math.max(tenants, Number(args.candidates)));
const total = Math.min(50_000, Math.max(1, Number(args.messages)));
const redeliver = Math.min(1, Math.max(0, Number(args.redeliver)));
const statusMessages = Math.min(20_000, Math.max(0, Number(args.statuses)));
const concurrency = Math.min(256, Math.max(1, Number(args.concurrency)));

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

/** Waits until `done()` holds and the webhook queue is empty (bounded: 15 minutes). */
async function settle(done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    if (await done()) {
      const counts = await worker.queue.getJobCounts("waiting", "active", "delayed", "prioritized");
      if (Object.values(counts).every((n) => n === 0) && (await queueRedis.xlen(streamKey)) === 0) return;
    }
    if (Date.now() > deadline) throw new Error("bench did not settle in 15 minutes");
    await new Promise((r) => setTimeout(r, 100));
  }
}

// --- Text messages ------------------------------------------------------------------------------
const base = Math.floor(Date.now() / 1000) - 3_600;
const perCandidate = new Map<number, number>();
const bodies: string[] = [];
for (let i = 0; i < total; i++) {
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

console.error(
  `[bench] appending ${stream.length} deliveries (${total} messages, ${stream.length - total} redelivered)`,
);
const tenantIds = clients.map((c) => c.id);
counter.reset();
const t0 = performance.now();
const progress = setInterval(() => {
  void probe.messages
    .estimatedDocumentCount()
    .catch(() => -1)
    .then((n) => console.error(`[bench] ${((performance.now() - t0) / 1000).toFixed(0)} s: ${n} stored`));
}, 5_000);
await append(stream);
let storedAtMs = 0;
await settle(async () => {
  const n = await probe.messages.estimatedDocumentCount();
  if (n >= total && !storedAtMs) storedAtMs = performance.now() - t0;
  return n >= total;
});
clearInterval(progress);
const textRequests = { total: counter.total, byCommand: counter.byCommand() };

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

// --- Statuses -------------------------------------------------------------------------------------
let statusResult: Record<string, unknown> | null = null;
if (statusMessages > 0) {
  const now = new Date();
  const wamids: Array<{ wamid: string; c: ReturnType<typeof candidateOf> }> = [];
  const docs = [];
  for (let i = 0; i < statusMessages; i++) {
    const c = candidateOf(i % candidates);
    const conv = convs.find((x) => x.candidateKey === c.waId);
    const wamid = newWamid();
    wamids.push({ wamid, c });
    docs.push(
      sentOutboundMessage({
        clientId: c.tenant.id,
        conversationId: conv?._id ?? new Types.ObjectId(),
        dedupeKey: `out:bench${i}`,
        wamid,
        at: now,
      }),
    );
  }
  await probe.messages.collection.insertMany(docs);
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
  const s0 = performance.now();
  await append(statusBodies);
  await settle(
    async () =>
      (await probe.messages.countDocuments({ direction: "outbound", dedupeKey: /^out:bench/, status: "read" })) >=
      statusMessages,
  );
  const statusMs = performance.now() - s0;
  statusResult = {
    statuses: statusBodies.length,
    statusesPerSec: +(statusBodies.length / (statusMs / 1000)).toFixed(1),
    mongoRequestsPerStatus: +(counter.total / statusBodies.length).toFixed(2),
    byCommand: counter.byCommand(),
  };
}

const messagesPerSec = total / (storedAtMs / 1000);
const result = {
  machine: { cpus: cpus().length, loadavg: loadavg().map((l) => l.toFixed(2)) },
  setup: {
    tenants,
    candidates,
    messages: total,
    deliveries: stream.length,
    redelivered: stream.length - total,
    workerConcurrency: concurrency,
    mongo: backend,
  },
  text: {
    messagesPerSec: +messagesPerSec.toFixed(1),
    mongoRequestsPerMessage: +(textRequests.total / total).toFixed(2),
    byCommand: textRequests.byCommand,
    storedOnce: stored === total,
    conversations: convs.length,
    conversationsWithWrongCounters: wrongCounters,
  },
  statuses: statusResult,
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
process.exit(stored === total && wrongCounters === 0 ? 0 : 1);
