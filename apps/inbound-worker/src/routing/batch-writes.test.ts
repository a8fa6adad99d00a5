import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import type { Redis } from "ioredis";
import { Database, type ClientDoc } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { newWamid, statusObject, textMessageDelivery, delivery, messagesValue } from "@linkojob/meta-simulator";
import { normalizeDelivery } from "@linkojob/whatsapp";
import { CommandCounter, testServices, sentOutboundMessage, seededShuffle } from "@linkojob/testing";
import { ClientDirectory } from "./client-directory.js";
import { CountPendingError, DeliveryProcessor, type PreparedDelivery } from "./delivery-processor.js";

// The batched write path on the real MongoDB-protocol server, counted with the driver's command
// monitoring: requests per message are a property of the code, not of the machine.

const services = testServices("batchwrites");
let db: Database;
let redis: Redis;
let counter: CommandCounter;
/** Statements per update command of this run's server (Infinity on MongoDB). */
const perCommandOf = () => db.batchWriter.statementsPerCommand;
/** Find commands a lookup of `n` equality clauses costs on this run's server (1 on MongoDB, n on FerretDB). */
const lookups = (n: number) => db.batchWriter.lookups(n);
let processor: DeliveryProcessor;
const clients: ClientDoc[] = [];
const TENANTS = 10;
const CANDIDATES = 40;

beforeAll(async () => {
  db = await Database.connect(services.mongoUrl, { monitorCommands: true });
  redis = createRedis(services.redisUrl);
  for (let i = 0; i < TENANTS; i++) {
    const c = await db.clients.create({
      userId: `batch-user-${services.id}-${i}`,
      companyName: `Batch ${i}`,
      phoneNumberId: `55${services.id.replace(/\D/g, "").slice(0, 4)}${i}`,
      wabaId: `66${i}${services.id}`,
      whatsappNumber: `2125210000${i}`,
      status: "active",
    });
    clients.push(c.toObject());
  }
  processor = new DeliveryProcessor({
    db,
    directory: new ClientDirectory(db, null),
    events: new DashboardEvents(redis),
    logger: pino({ level: "silent" }),
    writer: "test-writer",
  });
  counter = new CommandCounter(db.connection);
});

afterAll(async () => {
  counter?.stop();
  await redis?.quit();
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
});

const candidate = (k: number) => ({
  client: clients[k % TENANTS]!,
  waId: `2126300${String(k).padStart(5, "0")}`,
  name: `Candidat ${k}`,
});
const base = Math.floor(Date.now() / 1000) - 600;

function textDelivery(i: number, k = i % CANDIDATES) {
  const c = candidate(k);
  return JSON.stringify(
    textMessageDelivery(c.client, { waId: c.waId, name: c.name }, `message ${i}`, {
      id: `wamid.batch-${services.id}-${i}`,
      timestamp: String(base + i),
    }),
  );
}

async function prepareAll(bodies: string[], isRetry = false): Promise<PreparedDelivery[]> {
  const out: PreparedDelivery[] = [];
  for (const [i, b] of bodies.entries()) out.push({ ...(await processor.prepare(`d-${i}`, b)), isRetry });
  return out;
}

async function expectExactCounters(expected: Map<number, number>) {
  for (const [k, n] of expected) {
    const c = candidate(k);
    const conv = await db.conversations.findOne({ clientId: c.client._id, candidateKey: c.waId }).lean();
    expect(conv, c.waId).toBeTruthy();
    expect(await db.messages.countDocuments({ conversationId: conv!._id })).toBe(n);
    expect({ k, messageCount: conv!.messageCount, unreadCount: conv!.unreadCount }).toEqual({
      k,
      messageCount: n,
      unreadCount: n,
    });
    expect(conv!.candidateName).toBe(c.name);
  }
}

describe("inbound batch writes", () => {
  it("stores 200 messages of 10 tenants and 40 new conversations with a fixed number of requests, none that counts", async () => {
    const bodies = Array.from({ length: 200 }, (_, i) => textDelivery(i));
    const prepared = await prepareAll(bodies); // routes every tenant once: the directory's reads are not the batch's
    counter.reset();
    const results = await processor.storeBatch(prepared);
    const requests = counter.total;
    const byCommand = counter.byCommand();

    expect(results.every((r) => !(r instanceof Error) && r.messagesStored === 1)).toBe(true);
    expect(await db.messages.countDocuments({ clientId: { $in: clients.map((c) => c._id) } })).toBe(200);
    await expectExactCounters(new Map(Array.from({ length: CANDIDATES }, (_, k) => [k, 5])));

    // One insert of the batch; finds: the blocked candidates among the batch's (1, blockedCandidates),
    // conversations (1), their state for conversation:updated (1) and, since the batch created
    // conversations, their twins (1: a person's message from a new number stored before the number
    // change, ConversationMerger); updates: new conversations, their counters and summaries, the
    // claims' release. On FerretDB each find goes as one equality find per clause (BulkWriter.findEach):
    // per candidate (each named by phone and user id) both ids (blocked), both ids and each as a key
    // (conversations), its conversation (state), both ids (twins).
    const finds = lookups(2 * CANDIDATES) + lookups(4 * CANDIDATES) + lookups(CANDIDATES) + lookups(2 * CANDIDATES);
    expect(byCommand.insert).toBe(1);
    expect(byCommand.find).toBe(finds);
    expect(byCommand.aggregate ?? 0).toBe(0);
    expect(byCommand.count ?? 0).toBe(0);
    const upserts = Math.ceil(CANDIDATES / Math.min(CANDIDATES, perCommandOf()));
    // 4 statements per conversation: one bulkWrite, or on FerretDB commands of `perCommand` statements.
    const counterWrites = Number.isFinite(perCommandOf()) ? CANDIDATES * Math.ceil(4 / perCommandOf()) : 1;
    // The claims' release: one update, or on FerretDB one per message (its `$in` scans).
    const releases = Number.isFinite(perCommandOf()) ? 200 : 1;
    expect(byCommand.update).toBe(upserts + counterWrites + releases);
    expect(requests).toBe(1 + finds + upserts + counterWrites + releases);
    // On FerretDB every candidate of this batch is new: 9 equality finds each, besides its 4 writes.
    expect(requests / 200).toBeLessThanOrEqual(Number.isFinite(perCommandOf()) ? 3.9 : 0.05);
  });

  it("counts nothing twice when the same deliveries come back shuffled, in one batch or several, and costs three requests a batch", async () => {
    const bodies = Array.from({ length: 200 }, (_, i) => textDelivery(i));
    const again = seededShuffle([...bodies, ...bodies.slice(0, 50)], 20261129);
    counter.reset();
    const first = again.slice(0, 125);
    const results = await processor.storeBatch(await prepareAll(first));
    // The blocked-candidates find, the insert, and the find of what the duplicates' claims hold (on
    // FerretDB one per phone and user id of a candidate, and one per message).
    const candidatesIn = new Set(first.map((b) => bodies.indexOf(b) % CANDIDATES)).size;
    expect(counter.byCommand()).toEqual({
      insert: 1,
      find: lookups(2 * candidatesIn) + lookups(new Set(first).size),
    });
    await processor.storeBatch(await prepareAll(again.slice(125)));
    expect(results.every((r) => !(r instanceof Error) && r.messagesStored === 0)).toBe(true);
    await expectExactCounters(new Map(Array.from({ length: CANDIDATES }, (_, k) => [k, 5])));

    // New messages mixed with redeliveries: only the new ones count.
    const fresh = Array.from({ length: 40 }, (_, j) => textDelivery(200 + j, j));
    const mixed = seededShuffle([...fresh, ...bodies.slice(0, 40), ...fresh.slice(0, 10)], 7);
    counter.reset();
    await processor.storeBatch(await prepareAll(mixed));
    // Finds: the blocked candidates (phone and user id), the 40 redelivered messages, the 40
    // conversations' state.
    const finds = lookups(2 * CANDIDATES) + 2 * lookups(CANDIDATES);
    expect(counter.byCommand()).toMatchObject({ insert: 1, find: finds });
    // On FerretDB: commands of `perCommand` statements (4 per conversation), one release per new message.
    expect(counter.total).toBeLessThanOrEqual(
      1 + finds + (Number.isFinite(perCommandOf()) ? CANDIDATES * Math.ceil(4 / perCommandOf()) + fresh.length : 2),
    );
    await expectExactCounters(new Map(Array.from({ length: CANDIDATES }, (_, k) => [k, 6])));
  });

  it("counts a message whose writer died after storing it, once, when Meta redelivers it", async () => {
    const k = 3;
    const c = candidate(k);
    const before = (await db.conversations.findOne({ clientId: c.client._id, candidateKey: c.waId }).lean())!;
    const body = textDelivery(900, k);
    const [event] = normalizeDelivery(JSON.parse(body));
    if (event?.kind !== "message") throw new Error("not a message delivery");
    // A worker stored it, then died before counting it: its claim is older than the lease.
    const dead = db.messageStore.inboundBatch({ writer: "dead-writer" });
    const [stored] = await dead.insert(
      [{ clientId: c.client._id, conversationId: before._id, message: event.message }],
      new Date(Date.now() - 5 * 60_000),
    );
    expect(stored!.state).toBe("inserted");

    const [first, inSameBatch] = await processor.storeBatch(await prepareAll([body, body]));
    expect(first).toMatchObject({ messagesStored: 1, duplicates: 0 });
    expect(inSameBatch).toMatchObject({ messagesStored: 0, duplicates: 1 });
    const [second] = await processor.storeBatch(await prepareAll([body]));
    expect(second).toMatchObject({ messagesStored: 0, duplicates: 1 });
    const after = (await db.conversations.findOne({ _id: before._id }).lean())!;
    expect(after.messageCount).toBe(before.messageCount + 1);
    expect(after.unreadCount).toBe(before.unreadCount + 1);
    expect(after.lastMessagePreview).toBe("message 900");
    expect((await db.messages.findOne({ wamid: event.message.wamid }).lean())!.countClaim ?? null).toBeNull();
  });

  it("leaves a message a live worker is still counting to that worker, and retries its delivery", async () => {
    const k = 4;
    const c = candidate(k);
    const conv = (await db.conversations.findOne({ clientId: c.client._id, candidateKey: c.waId }).lean())!;
    const body = textDelivery(901, k);
    const [event] = normalizeDelivery(JSON.parse(body));
    if (event?.kind !== "message") throw new Error("not a message delivery");
    const busy = db.messageStore.inboundBatch({ writer: "busy-writer" });
    await busy.insert([{ clientId: c.client._id, conversationId: conv._id, message: event.message }]);

    const [result] = await processor.storeBatch(await prepareAll([body]));
    expect(result).toBeInstanceOf(CountPendingError);
    expect((await db.conversations.findOne({ _id: conv._id }).lean())!.messageCount).toBe(conv.messageCount);
  });

  it("applies a batch of statuses forward only with one lookup, one bulkWrite and one lookup, and parks unknown ones", async () => {
    const c = candidate(5);
    const conv = (await db.conversations.findOne({ clientId: c.client._id, candidateKey: c.waId }).lean())!;
    const now = new Date();
    const wamids = Array.from({ length: 30 }, () => newWamid());
    await db.messages.collection.insertMany(
      wamids.map((wamid, i) =>
        sentOutboundMessage({
          clientId: c.client._id,
          conversationId: conv._id,
          dedupeKey: `out:st${services.id}${i}`,
          wamid,
          at: now,
        }),
      ),
    );
    const ts = Math.floor(Date.now() / 1000);
    const biz = { wabaId: c.client.wabaId, phoneNumberId: c.client.phoneNumberId };
    const one = (wamid: string, status: string, dt: number) =>
      JSON.stringify(
        delivery([
          {
            wabaId: biz.wabaId,
            changes: [
              {
                field: "messages",
                value: messagesValue(biz, {
                  statuses: [statusObject(wamid, status, c.waId, { timestamp: String(ts + dt) })],
                }),
              },
            ],
          },
        ]),
      );
    // read before delivered, both redelivered, shuffled.
    const bodies = seededShuffle(
      wamids.flatMap((w) => [one(w, "read", 5), one(w, "delivered", 3), one(w, "read", 5)]),
      3,
    );
    counter.reset();
    await processor.storeBatch(await prepareAll(bodies));
    const byCommand = counter.byCommand();
    // The targets by wamid, then what they became by id: one find each on MongoDB, one per message
    // on FerretDB (whose `$in` reads the whole tenant).
    const lookups = 2 * db.batchWriter.lookups(wamids.length);
    expect(byCommand.find).toBe(lookups);
    // One bulkWrite; on FerretDB, commands of `perCommand` statements (two per message at most), one
    // message's statements never split across commands in flight at once.
    const updates = Number.isFinite(perCommandOf()) ? wamids.length * Math.ceil(2 / Math.min(2, perCommandOf())) : 1;
    if (Number.isFinite(perCommandOf())) expect(byCommand.update).toBeLessThanOrEqual(updates);
    else expect(byCommand.update).toBe(1);
    expect(counter.total).toBeLessThanOrEqual(lookups + updates);
    expect(counter.total / bodies.length).toBeLessThanOrEqual(Number.isFinite(perCommandOf()) ? 1.34 : 0.05);
    const docs = await db.messages.find({ wamid: { $in: wamids } }).lean();
    expect(
      docs.every((m) => m.status === "read" && new Date(m.statusAt?.delivered ?? NaN).getTime() === (ts + 3) * 1000),
    ).toBe(true);

    // A status for a message not stored yet waits for it.
    const unknown = newWamid();
    counter.reset();
    await processor.storeBatch(await prepareAll([one(unknown, "delivered", 4)]));
    expect(counter.byCommand()).toEqual({ find: 2, insert: 1 });
    expect(await db.pendingStatuses.countDocuments({ wamid: unknown })).toBe(1);
  });
});
