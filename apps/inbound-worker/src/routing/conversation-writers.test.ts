import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import type { Redis } from "ioredis";
import { Database, type ClientDoc } from "@linkojob/db";
import { DashboardEvents, EVENTS, type DashboardEventMap, type DashboardEventName } from "@linkojob/events";
import { WEBHOOK_JOB, createRedis, webhookJobOptions } from "@linkojob/queues";
import { textMessageDelivery } from "@linkojob/meta-simulator";
import { normalizeDelivery } from "@linkojob/whatsapp";
import { eventually, testServices } from "@linkojob/testing";
import { InboundWorker } from "../inbound-worker.js";

// Several inbound worker processes write the same conversations: what one of them does while another
// holds some of a batch's conversations, or is counting a message a redelivery brings again. The
// other worker is played by the test (its conversation lock in Redis, its count claim in MongoDB).

const services = testServices("convwriters");
let db: Database;
const conns: Redis[] = [];
let worker: InboundWorker;
let client: ClientDoc;
let seq = 0;

/** The real emitter (through Redis), with what the worker announced, in order. */
class RecordingEvents extends DashboardEvents {
  readonly seen: Array<{ event: DashboardEventName; payload: unknown }> = [];
  override toClient<E extends DashboardEventName>(clientId: string, event: E, payload: DashboardEventMap[E]): void {
    this.seen.push({ event, payload });
    super.toClient(clientId, event, payload);
  }
}
let events: RecordingEvents;

const redis = () => {
  const c = createRedis(services.redisUrl);
  conns.push(c);
  return c;
};

beforeAll(async () => {
  db = await Database.connect(services.mongoUrl);
  const stamp = `${Date.now() % 1_000_000}${services.id.replace(/\D/g, "").slice(0, 3)}`;
  client = (
    await db.clients.create({
      userId: `writers-${services.id}`,
      companyName: "Writers",
      phoneNumberId: `71${stamp}`,
      wabaId: `81${stamp}`,
      whatsappNumber: "212522000123",
      status: "active",
    })
  ).toObject();
  worker = new InboundWorker({
    db,
    queueRedis: redis(),
    pumpRedis: redis(),
    subscriberRedis: redis(),
    events: (events = new RecordingEvents(redis())),
    logger: pino({ level: "silent" }),
    prefix: services.prefix,
    concurrency: 4,
    pump: false,
    upkeep: false,
  });
  await worker.start();
});

afterAll(async () => {
  await worker?.close();
  await Promise.allSettled(conns.map((c) => c.quit()));
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
});

const tenant = () => ({ wabaId: client.wabaId, phoneNumberId: client.phoneNumberId });
/** One delivery (one job) carrying a text message of each candidate. */
const deliveryOf = (waIds: string[]) => {
  const parts = waIds.map((waId) => textMessageDelivery(tenant(), { waId, name: "Candidat" }, `message ${++seq}`));
  return JSON.stringify({ ...parts[0]!, entry: parts.flatMap((p) => p.entry) });
};
const enqueue = (body: string) => {
  const deliveryId = `writers-${services.id}-${++seq}`;
  return worker.queue.add(
    WEBHOOK_JOB,
    { deliveryId, receivedAt: Date.now(), body },
    { ...webhookJobOptions, jobId: deliveryId },
  );
};
const conversationOf = (waId: string) =>
  db.conversations.findOne({ clientId: client._id, candidatePhone: waId }).lean();
/** The job once completed, read after it completed (a read before would show it mid-finish). */
const settled = (id: string) =>
  eventually(
    async () => ((await worker.queue.getJobState(id)) === "completed" ? worker.queue.getJob(id) : null),
    60_000,
  );

describe("conversations written by several worker processes", () => {
  it("writes a batch's conversations that no other worker holds at once, and the held one once it is released", async () => {
    const [held, free] = ["212650000001", "212650000002"];
    await settled((await enqueue(deliveryOf([held]))).id!);
    const heldConversation = (await conversationOf(held))!;
    expect(heldConversation.messageCount).toBe(1);

    // Another worker is writing the first candidate's conversation (its lock, as that worker takes it).
    const lockKey = `${services.prefix}:lock:conversation:${heldConversation._id.toHexString()}`;
    const admin = redis();
    expect(await admin.set(lockKey, "another-worker", "PX", 60_000, "NX")).toBe("OK");

    // One delivery with a message of each: the free candidate's conversation is counted while the
    // other stays held (all-or-none locks would keep both waiting for the other worker's whole write).
    const job = await enqueue(deliveryOf([held, free]));
    await eventually(async () => (await conversationOf(free))?.messageCount === 1, 15_000);
    expect((await conversationOf(held))!.messageCount).toBe(1);
    expect(await job.isCompleted()).toBe(false);

    await admin.del(lockKey);
    const done = await settled(job.id!);
    expect(done.attemptsMade).toBe(1); // BullMQ counts the attempt that completed it: one, none failed
    expect((await conversationOf(held))!).toMatchObject({ messageCount: 2, unreadCount: 2 });
    expect((await conversationOf(free))!).toMatchObject({ messageCount: 1, unreadCount: 1 });
  });

  it("announces a stored message at once, while its conversation is still held by another writer; the counts follow", async () => {
    const waId = "212650000005";
    await settled((await enqueue(deliveryOf([waId]))).id!);
    const conversation = (await conversationOf(waId))!;
    const lockKey = `${services.prefix}:lock:conversation:${conversation._id.toHexString()}`;
    const admin = redis();
    expect(await admin.set(lockKey, "another-worker", "PX", 60_000, "NX")).toBe("OK");

    const body = deliveryOf([waId]);
    const [event] = normalizeDelivery(JSON.parse(body));
    if (event?.kind !== "message") throw new Error("not a message delivery");
    const job = await enqueue(body);
    const received = () =>
      events.seen.find(
        (e) =>
          e.event === EVENTS.messageReceived &&
          (e.payload as DashboardEventMap[typeof EVENTS.messageReceived]).message.wamid === event.message.wamid,
      );
    // The message reaches the recruiter although its conversation cannot be counted yet.
    await eventually(() => Promise.resolve(received() ?? null), 15_000);
    expect((received()!.payload as { conversationId: string }).conversationId).toBe(conversation._id.toHexString());
    expect((await conversationOf(waId))!.messageCount).toBe(1);
    expect(await job.isCompleted()).toBe(false);
    const updatesBefore = events.seen.filter((e) => e.event === EVENTS.conversationUpdated).length;

    await admin.del(lockKey);
    await settled(job.id!);
    expect((await conversationOf(waId))!).toMatchObject({ messageCount: 2, unreadCount: 2 });
    // Then the conversation's counts, announced once written.
    const after = events.seen.slice(events.seen.indexOf(received()!));
    expect(after.filter((e) => e.event === EVENTS.conversationUpdated).length).toBeGreaterThan(0);
    expect(events.seen.filter((e) => e.event === EVENTS.conversationUpdated).length).toBeGreaterThan(updatesBefore);
    expect(after.filter((e) => e.event === EVENTS.messageReceived && e === received())).toHaveLength(1);
  });

  it("gives a redelivery of a message another live worker is counting a short wait, not a spent attempt", async () => {
    const waId = "212650000003";
    await settled((await enqueue(deliveryOf([waId]))).id!);
    const conversation = (await conversationOf(waId))!;

    // Another worker stored the message and has not counted it yet (its claim is fresh).
    const body = deliveryOf([waId]);
    const [event] = normalizeDelivery(JSON.parse(body));
    if (event?.kind !== "message") throw new Error("not a message delivery");
    const other = db.messageStore.inboundBatch({ writer: "another-worker" });
    const [claimed] = await other.insert([
      { clientId: client._id, conversationId: conversation._id, message: event.message },
    ]);
    expect(claimed!.state).toBe("inserted");

    const job = await enqueue(body);
    // Put back to wait for the other worker, without an attempt spent or a backoff growing.
    await eventually(async () => (await job.getState()) === "delayed", 15_000);
    const waiting = (await worker.queue.getJob(job.id!))!;
    expect(waiting.attemptsMade).toBe(0);
    expect(waiting.delay).toBeLessThanOrEqual(1_500);

    // The other worker counts it (as its batch would) and releases its claim: the redelivery is a duplicate.
    await db.conversations.updateOne(
      { _id: conversation._id },
      { $inc: { messageCount: 1, unreadCount: 1 }, $push: { countedIds: claimed!.message._id } },
    );
    await other.release([claimed!.message]);
    const done = await settled(job.id!);
    expect(done.attemptsMade).toBe(1); // the attempt that completed it: the wait spent none
    expect(done.returnvalue).toMatchObject({ messagesStored: 0, duplicates: 1 });
    expect((await conversationOf(waId))!.messageCount).toBe(2);
    expect(await db.messages.countDocuments({ wamid: event.message.wamid })).toBe(1);
  });

  it("looks again later for an older claim (its writer may be slow or dead), never after the lease ends", async () => {
    const waId = "212650000004";
    await settled((await enqueue(deliveryOf([waId]))).id!);
    const conversation = (await conversationOf(waId))!;
    const body = deliveryOf([waId]);
    const [event] = normalizeDelivery(JSON.parse(body));
    if (event?.kind !== "message") throw new Error("not a message delivery");
    // Stored 30 s ago by another writer that has not counted it (its lease is 60 s).
    const other = db.messageStore.inboundBatch({ writer: "slow-worker" });
    const [claimed] = await other.insert(
      [{ clientId: client._id, conversationId: conversation._id, message: event.message }],
      new Date(Date.now() - 30_000),
    );

    const job = await enqueue(body);
    await eventually(async () => (await job.getState()) === "delayed", 15_000);
    const waiting = (await worker.queue.getJob(job.id!))!;
    expect(waiting.attemptsMade).toBe(0);
    // Half its age (15 s), not a second: it is no longer a batch in flight.
    expect(waiting.delay).toBeGreaterThanOrEqual(14_000);
    expect(waiting.delay).toBeLessThanOrEqual(16_500);

    await db.conversations.updateOne(
      { _id: conversation._id },
      { $inc: { messageCount: 1, unreadCount: 1 }, $push: { countedIds: claimed!.message._id } },
    );
    await other.release([claimed!.message]);
    await waiting.promote();
    const done = await settled(job.id!);
    expect(done.returnvalue).toMatchObject({ messagesStored: 0, duplicates: 1 });
    expect((await conversationOf(waId))!.messageCount).toBe(2);
  });
});
