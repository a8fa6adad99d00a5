/**
 * What the retention purge costs live traffic (a script, not a test): the whole gateway in one
 * process (startStack: ingress, both workers, the Meta simulator), old data seeded past its
 * retention, then the same offered load in three phases — inbound text webhooks (latency from the
 * signed POST to the message stored) and `POST /api/messages/send` (latency of the answer) — first
 * without the purge, then while the purge as it was first shipped runs (`unpaced`: 500 documents a
 * batch, a fixed 25 ms pause), then while the purge as the inbound worker now runs it (`paced`: 100 a
 * batch, a pause of 4 × each batch's duration, and waiting up to 10 s before a batch while deliveries
 * or sends are queued). Each purge phase starts on freshly seeded data and is stopped at the end of
 * its phase. Every phase, the baseline too, is preceded by the same seeding of old data and a wait
 * until the previous phase's deliveries and sends are all stored or sent (no phase inherits a
 * backlog). `--rounds` repeats the three phases, the two
 * purges swapping places every other round, so that a machine whose load changes meanwhile favours
 * neither. Prints p50 / p99 of each phase, their ratio to the same round's
 * baseline, and what each purge deleted during its phase.
 *
 *   pnpm --filter @linkojob/e2e bench:purge-impact [--rate 4] [--seconds 10] [--rounds 1] [--conversations 100] [--events 1000]
 *     [--paced-batch 100] [--paced-factor 4] [--paced-max-yield-ms 10000]
 *
 * Each send brings three status webhooks: the inbound worker sees about 4 × rate deliveries a second.
 *
 * Redis and the MongoDB-protocol server are REDIS_URL / MONGODB_URI when set, else a redis-server and
 * a FerretDB of the bench's own. Everything listens on 127.0.0.1.
 */
import { randomBytes, randomInt } from "node:crypto";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { Types } from "mongoose";
import { textMessageDelivery } from "@linkojob/meta-simulator";
import { RetentionPurge } from "@linkojob/privacy";
import { startFerretDb, startRedisServer } from "@linkojob/testing/services";
import { startStack } from "../src/harness/stack.harness.js";

const { values: args } = parseArgs({
  options: {
    rate: { type: "string", default: "4" },
    seconds: { type: "string", default: "10" },
    conversations: { type: "string", default: "100" },
    events: { type: "string", default: "1000" },
    rounds: { type: "string", default: "1" },
    // The paced purge's settings (default: the inbound worker's defaults), to compare others.
    "paced-batch": { type: "string" },
    "paced-factor": { type: "string" },
    "paced-max-yield-ms": { type: "string" },
  },
});
const rounds = Math.min(5, Math.max(1, Number(args.rounds)));
const pacedSettings = {
  ...(args["paced-batch"] ? { batchSize: Number(args["paced-batch"]) } : {}),
  ...(args["paced-factor"] ? { pauseFactor: Number(args["paced-factor"]) } : {}),
  ...(args["paced-max-yield-ms"] ? { maxYieldMs: Number(args["paced-max-yield-ms"]) } : {}),
};
const rate = Math.min(200, Math.max(1, Number(args.rate)));
const seconds = Math.min(60, Math.max(2, Number(args.seconds)));
const oldConversations = Math.min(20_000, Math.max(1, Number(args.conversations)));
const oldEvents = Math.min(100_000, Math.max(0, Number(args.events)));

const id = randomBytes(3).toString("hex");
const ownMongo = process.env.MONGODB_URI ? null : await startFerretDb();
const ownRedis = process.env.REDIS_URL ? null : await startRedisServer();
const services = {
  id,
  prefix: `bench-purge-${id}`,
  mongoUrl: process.env.MONGODB_URI ?? `${ownMongo!.url}/bench_purge_${id}`,
  redisUrl: process.env.REDIS_URL ?? ownRedis!.url,
};
const stack = await startStack({
  services,
  concurrency: 16,
  client: {
    companyName: "Bench Purge",
    phoneNumberId: `8${randomInt(10_000_000, 99_999_999)}`,
    wabaId: `waba-purge-${id}`,
    whatsappNumber: `2125${randomInt(10_000_000, 99_999_999)}`,
  },
});
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const business = { phoneNumberId: stack.client.phoneNumberId, wabaId: stack.client.wabaId };

/** Seeds conversations 30 months old (6 messages each) and webhook records 40 days old. */
let seeded = 0;
async function seed() {
  seeded++;
  const clientId = stack.client._id;
  const old = new Date(Date.now() - 30 * 31 * 86_400_000);
  for (let i = 0; i < oldConversations; i += 100) {
    const convs = Array.from({ length: Math.min(100, oldConversations - i) }, (_, j) => ({
      _id: new Types.ObjectId(),
      clientId,
      candidateKey: `2126${seeded}${String(1_000_000 + i + j)}`,
      candidatePhone: `2126${seeded}${String(1_000_000 + i + j)}`,
      lastMessageAt: old,
      createdAt: old,
      updatedAt: old,
      status: "active",
      messageCount: 6,
      unreadCount: 0,
      readUpTo: old,
      inWindow: false,
    }));
    await stack.db.conversations.collection.insertMany(convs);
    await stack.db.messages.collection.insertMany(
      convs.flatMap((c) =>
        Array.from({ length: 6 }, (_, k) => ({
          clientId,
          conversationId: c._id,
          dedupeKey: `in:old-${c._id.toHexString()}-${k}`,
          wamid: `old-${c._id.toHexString()}-${k}`,
          direction: "inbound",
          type: "text",
          text: "an old message",
          timestamp: old,
          receivedAt: old,
          status: "received",
          statusRank: 0,
          createdAt: old,
          updatedAt: old,
        })),
      ),
    );
  }
  const evOld = new Date(Date.now() - 40 * 86_400_000);
  for (let i = 0; i < oldEvents; i += 500)
    await stack.db.webhookEvents.collection.insertMany(
      Array.from({ length: Math.min(500, oldEvents - i) }, (_, j) => ({
        dedupeKey: `old-${id}-${seeded}-${i + j}`,
        kind: "unrouted",
        field: "messages",
        clientId,
        valid: true,
        deliveryId: `${i + j}-0`,
        value: { n: i + j },
        createdAt: evOld,
      })),
    );
}

/** The offered load for `seconds`: `rate` webhooks and `rate` sends per second; their latencies. */
async function load(phase: string) {
  const ingest: number[] = [];
  const send: number[] = [];
  const pending = new Map<string, number>();
  const total = Math.round(rate * seconds);
  const started = Date.now();
  let polling = true;
  let lastPost = Date.now();
  const poller = (async () => {
    while (polling || pending.size) {
      const wamids = [...pending.keys()];
      if (wamids.length) {
        // By the tenant's { clientId, wamid } index: the poll must not scan the collection it measures.
        const found = await stack.db.messages
          .find({ clientId: stack.client._id, wamid: { $in: wamids } }, { wamid: 1 })
          .lean();
        const now = Date.now();
        for (const m of found) {
          ingest.push(now - pending.get(m.wamid!)!);
          pending.delete(m.wamid!);
        }
      }
      // Messages not stored two minutes after the last post are counted as lost (reported as `n` below the offered count).
      if (!polling && Date.now() - lastPost > 120_000) break;
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  const calls: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const phone = `2127${String(10_000_000 + randomInt(0, 89_999_999))}`;
    const wamid = `wamid.bench${phase}${i}${randomBytes(6).toString("hex")}`;
    calls.push(
      (async () => {
        const res = await stack.sim.deliver(
          textMessageDelivery(business, { waId: phone }, `bench ${i}`, { id: wamid }),
        );
        if (res.status === 200) pending.set(wamid, due);
      })(),
      (async () => {
        const t0 = Date.now();
        const res = await fetch(`${stack.ingressUrl}/api/messages/send`, {
          method: "POST",
          headers: { authorization: `Bearer ${stack.jwt}`, "content-type": "application/json" },
          body: JSON.stringify({
            clientId: stack.clientId,
            candidatePhone: phone,
            candidateName: "Bench",
            jobTitle: "Dev",
          }),
        });
        await res.arrayBuffer();
        if (res.status === 202) send.push(Date.now() - Math.max(t0, due));
      })(),
    );
  }
  await Promise.all(calls);
  lastPost = Date.now();
  polling = false;
  await poller;
  ingest.sort((a, b) => a - b);
  send.sort((a, b) => a - b);
  return {
    ingest: { n: ingest.length, p50: pct(ingest, 50), p99: pct(ingest, 99) },
    send: { n: send.length, p50: pct(send, 50), p99: pct(send, 99) },
  };
}

type Phase = Awaited<ReturnType<typeof load>>;
const ratio = (a: number, b: number) => Math.round((b / a) * 100) / 100;
const ratios = (base: Phase, p: Phase) => ({
  ingestP50: ratio(base.ingest.p50, p.ingest.p50),
  ingestP99: ratio(base.ingest.p99, p.ingest.p99),
  sendP50: ratio(base.send.p50, p.send.p50),
  sendP99: ratio(base.send.p99, p.send.p99),
});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Waits until nothing of the previous phase is left (deliveries, status webhooks and sends stored or
 * sent, for 2 s in a row): a phase must not inherit its predecessor's backlog. Returns how long it waited.
 */
async function quiesce(): Promise<number> {
  const started = Date.now();
  let idle = 0;
  while (idle < 8 && Date.now() - started < 180_000) {
    idle = (await stack.inbound.liveBacklog()) === 0 ? idle + 1 : 0;
    await new Promise((r) => setTimeout(r, 250));
  }
  return Date.now() - started;
}

const progress = (what: string) => process.stderr.write(`${new Date().toISOString()} ${what}\n`);

/**
 * Every phase, the baseline too, starts the same way: the same old data (what a stopped purge left
 * removed, then seeded afresh), then the gateway idle (seeding makes the database busy for a while after the inserts; a baseline without it
 * would be measured on a quieter database than the purges).
 */
async function prepare(): Promise<number> {
  // What a stopped purge left of the previous seeding goes first: every phase starts with the same data.
  const cutoff = new Date(Date.now() - 35 * 86_400_000);
  await stack.db.messages.deleteMany({ clientId: stack.client._id, createdAt: { $lt: cutoff } });
  await stack.db.conversations.deleteMany({ clientId: stack.client._id, lastMessageAt: { $lt: cutoff } });
  await stack.db.webhookEvents.deleteMany({ createdAt: { $lt: cutoff } });
  await seed();
  return quiesce();
}

/** The load of one phase while `purge` runs; the purge is stopped when the phase ends. */
async function withPurge(label: string, purge: RetentionPurge) {
  const waited = await prepare();
  progress(`phase ${label} (purge) after ${waited} ms of quiescing`);
  const stop = new AbortController();
  const started = Date.now();
  let ms = 0;
  const running = purge.run({ signal: stop.signal }).then((r) => {
    ms = Date.now() - started;
    return r;
  });
  const phase = await load(label);
  // Still running when the phase's load ended: it overlapped the whole phase (then it is stopped).
  const coveredWholePhase = ms === 0;
  stop.abort();
  const purged = await running;
  return { phase, purge: { ranMs: ms || Date.now() - started, coveredWholePhase, purged } };
}

/**
 * One round: the baseline, then each purge on freshly seeded data, under the same offered load; the
 * two purges swap places every other round (a machine getting busier or quieter favours neither).
 */
async function round(r: number) {
  const waited = await prepare();
  progress(`round ${r}: baseline after ${waited} ms of quiescing`);
  const baseline = await load(`a${r}`);
  // As first shipped: RetentionPurge's former defaults (500 a batch, 25 ms between batches).
  const runUnpaced = () =>
    withPurge(
      `b${r}`,
      new RetentionPurge({ db: stack.db, events: stack.events, redis: stack.redis(), batchSize: 500, pauseFactor: 0 }),
    );
  // As the inbound worker runs it now: its defaults and the worker's own measure of live work.
  const runPaced = () =>
    withPurge(
      `c${r}`,
      new RetentionPurge({
        db: stack.db,
        events: stack.events,
        redis: stack.redis(),
        liveBacklog: () => stack.inbound.liveBacklog(),
        ...pacedSettings,
      }),
    );
  const unpacedFirst = r % 2 === 0;
  const first = await (unpacedFirst ? runUnpaced() : runPaced());
  const second = await (unpacedFirst ? runPaced() : runUnpaced());
  const [unpaced, paced] = unpacedFirst ? [first, second] : [second, first];
  return {
    order: unpacedFirst ? "baseline, unpaced, paced" : "baseline, paced, unpaced",
    baseline,
    unpaced: { ...unpaced.phase, ratio: ratios(baseline, unpaced.phase), purge: unpaced.purge },
    paced: { ...paced.phase, ratio: ratios(baseline, paced.phase), purge: paced.purge },
    loadAverage: loadavg().map((l) => Math.round(l * 10) / 10),
  };
}

const results: Array<Awaited<ReturnType<typeof round>>> = [];
for (let r = 0; r < rounds; r++) results.push(await round(r));
const medianRatio = (which: "unpaced" | "paced") =>
  Object.fromEntries(
    (["ingestP50", "ingestP99", "sendP50", "sendP99"] as const).map((k) => [
      k,
      median(results.map((x) => x[which].ratio[k])),
    ]),
  );
console.log(
  JSON.stringify(
    {
      offered: { perSecond: rate, seconds, webhooks: rate * seconds, sends: rate * seconds, rounds },
      pacedSettings,
      seededPerPurgePhase: {
        conversations: oldConversations,
        messages: oldConversations * 6,
        webhookEvents: oldEvents,
      },
      rounds: results,
      medianRatio: { unpaced: medianRatio("unpaced"), paced: medianRatio("paced") },
    },
    null,
    2,
  ),
);
await stack.close();
await ownRedis?.destroy();
await ownMongo?.stop();
