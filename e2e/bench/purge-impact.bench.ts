/**
 * What the retention purge costs live traffic (a script, not a test): the whole gateway in one
 * process (startStack: ingress, both workers, the Meta simulator), old data seeded past its
 * retention, then the same offered load twice — inbound text webhooks (latency from the signed POST
 * to the message stored) and `POST /api/messages/send` (latency of the answer) — first without the
 * purge, then while RetentionPurge deletes the seeded data in bounded batches. Prints p50 / p99 of
 * both phases and their ratio (with / without), what the purge deleted and how long it ran.
 *
 *   pnpm --filter @linkojob/e2e bench:purge-impact [--rate 4] [--seconds 10] [--conversations 100] [--events 1000]
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
  },
});
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
async function seed() {
  const clientId = stack.client._id;
  const old = new Date(Date.now() - 30 * 31 * 86_400_000);
  for (let i = 0; i < oldConversations; i += 100) {
    const convs = Array.from({ length: Math.min(100, oldConversations - i) }, (_, j) => ({
      _id: new Types.ObjectId(),
      clientId,
      candidateKey: `2126${String(10_000_000 + i + j)}`,
      candidatePhone: `2126${String(10_000_000 + i + j)}`,
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
        dedupeKey: `old-${id}-${i + j}`,
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
        const found = await stack.db.messages.find({ wamid: { $in: wamids } }, { wamid: 1 }).lean();
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

await seed();
const without = await load("a");
const purge = new RetentionPurge({ db: stack.db, events: stack.events, redis: stack.redis() });
const purgeStarted = Date.now();
let purgeMs = 0;
const purging = purge.run().then((r) => {
  purgeMs = Date.now() - purgeStarted;
  return r;
});
const withPurge = await load("b");
const purged = await purging;
const ratio = (a: number, b: number) => Math.round((b / a) * 100) / 100;
console.log(
  JSON.stringify(
    {
      offered: { perSecond: rate, seconds, webhooks: rate * seconds, sends: rate * seconds },
      seeded: { conversations: oldConversations, messages: oldConversations * 6, webhookEvents: oldEvents },
      withoutPurge: without,
      withPurge,
      ratio: {
        ingestP50: ratio(without.ingest.p50, withPurge.ingest.p50),
        ingestP99: ratio(without.ingest.p99, withPurge.ingest.p99),
        sendP50: ratio(without.send.p50, withPurge.send.p50),
        sendP99: ratio(without.send.p99, withPurge.send.p99),
      },
      purge: { ms: purgeMs, overlappedLoad: purgeMs <= seconds * 1000 ? "partly" : "whole phase", purged },
      loadAverage: loadavg().map((l) => Math.round(l * 10) / 10),
    },
    null,
    2,
  ),
);
await stack.close();
await ownRedis?.destroy();
await ownMongo?.stop();
