import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import type { Redis } from "ioredis";
import { Types } from "mongoose";
import { Database, type ClientDoc, type ConversationDoc } from "@linkojob/db";
import { DashboardEvents, EVENTS, type DashboardEventMap, type DashboardEventName } from "@linkojob/events";
import { RedisLockSet, createRedis } from "@linkojob/queues";
import {
  newUserId,
  systemMessagesDelivery,
  textMessageDelivery,
  userChangedNumberMessage,
  type Candidate,
} from "@linkojob/meta-simulator";
import { testServices } from "@linkojob/testing";
import { ClientDirectory } from "./client-directory.js";
import { CountPendingError, DeliveryProcessor } from "./delivery-processor.js";
import { conversationLocks } from "./conversation-locks.js";

// A candidate changes number: Meta sends the `user_changed_number` notice from the old number and the
// person's messages from the new one, unordered and at least once. Whatever the order, and with two
// worker processes (two processors: separate caches, one Redis lock set) handling the deliveries at
// once, the person ends with one conversation, the older one, holding every message with exact
// counters. A number that changed hands to someone else is never merged.

const services = testServices("numberchange");
let db: Database;
let redis: Redis;
let client: ClientDoc;
let seq = 0;

/** The dashboards' events, as emitted (they also go to Redis like in production). */
class RecordedEvents extends DashboardEvents {
  readonly seen: Array<{ event: string; payload: unknown }> = [];
  override toClient<E extends DashboardEventName>(clientId: string, event: E, payload: DashboardEventMap[E]): void {
    this.seen.push({ event, payload });
    super.toClient(clientId, event, payload);
  }
}
let events: RecordedEvents;

/** A worker process: its own processor (and id cache), the deployment's conversation locks. */
function workerProcess(name: string): DeliveryProcessor {
  const locks = new RedisLockSet(redis);
  return new DeliveryProcessor({
    db,
    directory: new ClientDirectory(db, null),
    events,
    logger: pino({ level: process.env.NC_LOG ?? "silent" }),
    writer: `${name}-${services.id}`,
    lockConversations: conversationLocks(locks, services.prefix, pino({ level: "silent" })),
  });
}

beforeAll(async () => {
  db = await Database.connect(services.mongoUrl);
  redis = createRedis(services.redisUrl);
  events = new RecordedEvents(redis);
  client = (
    await db.clients.create({
      userId: `numberchange-${services.id}`,
      companyName: "Number Change",
      phoneNumberId: `77${services.id.replace(/\D/g, "").slice(0, 6)}1`,
      wabaId: `waba-numberchange-${services.id}`,
      whatsappNumber: "212520000077",
      status: "active",
    })
  ).toObject();
});
afterAll(async () => {
  await redis?.quit();
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
});

const phone = () => `2126${String(Date.now() % 1_000_000).padStart(6, "0")}${String(++seq).padStart(2, "0")}`;
const base = Math.floor(Date.now() / 1000) - 600;

/** One person, before and after the change (Meta regenerates the user id with the number). */
function person() {
  const before: Candidate & { waId: string } = { waId: phone(), userId: newUserId(), name: "Salma" };
  const after: Candidate & { waId: string } = { waId: phone(), userId: newUserId(), name: "Salma" };
  const n = ++seq;
  const wamid = (what: string) => `wamid.nc-${services.id}-${n}-${what}`;
  return {
    before,
    after,
    wamids: { hello: wamid("hello"), change: wamid("change"), fresh: wamid("fresh"), later: wamid("later") },
    hello: () =>
      JSON.stringify(
        textMessageDelivery(client, before, "Bonjour", { id: wamid("hello"), timestamp: String(base + n * 10) }),
      ),
    change: () =>
      JSON.stringify(
        systemMessagesDelivery(client, [
          userChangedNumberMessage(before, after.waId, {
            newUserId: after.userId!,
            id: wamid("change"),
            timestamp: String(base + n * 10 + 1),
          }),
        ]),
      ),
    fresh: () =>
      JSON.stringify(
        textMessageDelivery(client, after, "Mon nouveau numero", {
          id: wamid("fresh"),
          timestamp: String(base + n * 10 + 2),
        }),
      ),
    later: () =>
      JSON.stringify(
        textMessageDelivery(client, after, "Toujours moi", {
          id: wamid("later"),
          timestamp: String(base + n * 10 + 3),
        }),
      ),
  };
}

let delivery = 0;
/** One delivery as the webhook queue runs it: a message another worker is counting is retried later. */
const deliver = async (p: DeliveryProcessor, body: string) => {
  const id = `nc-${++delivery}`;
  for (let attempt = 0; ; attempt++) {
    try {
      return await p.process(id, body, { isRetry: attempt > 0 });
    } catch (err) {
      if (!(err instanceof CountPendingError) || attempt >= 300) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
};

const conversationOf = async (wamid: string) => {
  const m = await db.messages.findOne({ clientId: client._id, wamid }).lean();
  return m?.conversationId ?? null;
};

/** The person's conversations as the database holds them now: by either number or either user id. */
const conversationsOf = (p: ReturnType<typeof person>) =>
  db.conversations
    .find({
      clientId: client._id,
      $or: [
        { candidatePhone: { $in: [p.before.waId, p.after.waId] } },
        { candidateUserId: { $in: [p.before.userId, p.after.userId] } },
      ],
    })
    .lean<ConversationDoc[]>();

/** One conversation, the first one, holding the new ids, every message, and counters that count them exactly. */
async function expectOneConversation(p: ReturnType<typeof person>, first: Types.ObjectId, wamids: string[]) {
  const convs = await conversationsOf(p);
  expect(convs.map((c) => c._id.toHexString())).toEqual([first.toHexString()]);
  const conv = convs[0]!;
  expect(conv).toMatchObject({ candidatePhone: p.after.waId, candidateUserId: p.after.userId });
  for (const w of wamids) expect((await conversationOf(w))?.toHexString(), w).toBe(first.toHexString());
  const stored = await db.messages.countDocuments({ clientId: client._id, conversationId: first });
  expect(stored).toBe(wamids.length);
  expect({ messageCount: conv.messageCount, unreadCount: conv.unreadCount }).toEqual({
    messageCount: stored,
    unreadCount: stored,
  });
  expect(conv.lastMessagePreview).toBeTruthy();
  // Every message counted and its claim released: nothing left for a retry to count again.
  expect(
    await db.messages.countDocuments({ clientId: client._id, wamid: { $in: wamids }, countClaim: { $ne: null } }),
  ).toBe(0);
  expect(
    await db.messages.countDocuments({ clientId: client._id, conversationId: { $ne: first }, wamid: { $in: wamids } }),
  ).toBe(0);
}

const deletedEvents = (id: Types.ObjectId) =>
  events.seen.filter(
    (e) =>
      e.event === EVENTS.conversationDeleted &&
      (e.payload as { conversationId: string }).conversationId === id.toHexString(),
  );

describe("a candidate's number change, whatever the order of its deliveries", () => {
  it("the change first, then messages from the new number: one conversation", async () => {
    const p = person();
    const w = workerProcess("a");
    await deliver(w, p.hello());
    const first = (await conversationOf(p.wamids.hello))!;
    await deliver(w, p.change());
    await deliver(w, p.fresh());
    await expectOneConversation(p, first, [p.wamids.hello, p.wamids.change, p.wamids.fresh]);
  });

  it("a message from the new number first (it opens a conversation), then the change: merged into the first one, dashboards told", async () => {
    const p = person();
    const w = workerProcess("a");
    await deliver(w, p.hello());
    const first = (await conversationOf(p.wamids.hello))!;
    await deliver(w, p.fresh());
    const second = (await conversationOf(p.wamids.fresh))!;
    expect(second.equals(first)).toBe(false);
    await deliver(w, p.change());
    await expectOneConversation(p, first, [p.wamids.hello, p.wamids.change, p.wamids.fresh]);
    expect(deletedEvents(second)).toEqual([
      {
        event: EVENTS.conversationDeleted,
        payload: {
          clientId: client._id.toHexString(),
          conversationId: second.toHexString(),
          reason: "merged",
          mergedInto: first.toHexString(),
        },
      },
    ]);
    // Redelivered, in both orders, on this process and on one that never saw them: nothing moves.
    await deliver(w, p.fresh());
    await deliver(workerProcess("b"), p.change());
    await deliver(workerProcess("c"), p.fresh());
    // The next message from the new number goes to the first conversation, also on the process whose
    // cache knew the merged one.
    await deliver(w, p.later());
    await expectOneConversation(p, first, [p.wamids.hello, p.wamids.change, p.wamids.fresh, p.wamids.later]);
    expect(deletedEvents(second)).toHaveLength(1);
  });

  it("both in one batch: one conversation", async () => {
    const p = person();
    const w = workerProcess("a");
    await deliver(w, p.hello());
    const first = (await conversationOf(p.wamids.hello))!;
    const batch = [await w.prepare("nc-batch-1", p.fresh()), await w.prepare("nc-batch-2", p.change())];
    const results = await w.storeBatch(batch);
    expect(results.every((r) => !(r instanceof Error))).toBe(true);
    await expectOneConversation(p, first, [p.wamids.hello, p.wamids.change, p.wamids.fresh]);
  });

  it("on two processes at once, each delivery several times, in many rounds: always one conversation", async () => {
    for (let round = 0; round < 6; round++) {
      const p = person();
      const [a, b] = [workerProcess("a"), workerProcess("b")];
      await deliver(a, p.hello());
      const first = (await conversationOf(p.wamids.hello))!;
      // Each process knows the person's first conversation (cached), as after earlier messages.
      await deliver(b, p.hello());
      const changeOn = round % 2 ? a : b;
      const freshOn = round % 2 ? b : a;
      await Promise.all([
        deliver(changeOn, p.change()),
        deliver(freshOn, p.fresh()),
        deliver(freshOn, p.later()),
        deliver(changeOn, p.fresh()),
        deliver(freshOn, p.change()),
        deliver(changeOn, p.later()),
        deliver(freshOn, p.fresh()),
      ]);
      await Promise.all([deliver(a, p.later()), deliver(b, p.later())]);
      await expectOneConversation(p, first, Object.values(p.wamids));
    }
  });

  it("without user ids (older payloads), the number change alone joins them: the new number's message first, one conversation", async () => {
    const p = person();
    const before = { ...p.before, userId: null };
    const after = { ...p.after, userId: null };
    const w = workerProcess("a");
    const n = ++seq;
    const wamid = (what: string) => `wamid.nc-${services.id}-${n}-legacy-${what}`;
    await deliver(
      w,
      JSON.stringify(textMessageDelivery(client, before, "Bonjour", { id: wamid("hello"), timestamp: String(base) })),
    );
    const first = (await conversationOf(wamid("hello")))!;
    await deliver(
      w,
      JSON.stringify(
        textMessageDelivery(client, after, "Nouveau", { id: wamid("fresh"), timestamp: String(base + 2) }),
      ),
    );
    const second = (await conversationOf(wamid("fresh")))!;
    expect(second.equals(first)).toBe(false);
    await deliver(
      w,
      JSON.stringify(
        systemMessagesDelivery(client, [
          userChangedNumberMessage(before, after.waId, {
            newUserId: null,
            id: wamid("change"),
            timestamp: String(base + 1),
          }),
        ]),
      ),
    );
    const convs = await db.conversations
      .find({ clientId: client._id, candidatePhone: { $in: [before.waId, after.waId] } })
      .lean();
    expect(convs.map((c) => c._id.toHexString())).toEqual([first.toHexString()]);
    for (const what of ["hello", "fresh", "change"])
      expect((await conversationOf(wamid(what)))!.equals(first)).toBe(true);
    expect(convs[0]!.messageCount).toBe(3);
  });

  it("without user ids, a conversation that held the new number before the change (its previous owner's) is not merged", async () => {
    const p = person();
    const before = { ...p.before, userId: null };
    const w = workerProcess("a");
    // The number's previous owner wrote a year ago.
    const yearAgo = new Date(Date.now() - 365 * 86_400_000);
    const ownerConversation = new Types.ObjectId();
    await db.conversations.collection.insertOne({
      _id: ownerConversation,
      clientId: client._id,
      candidateKey: p.after.waId,
      candidatePhone: p.after.waId,
      candidateUserId: null,
      candidatePhoneAt: null,
      status: "active",
      messageCount: 0,
      unreadCount: 0,
      readUpTo: yearAgo,
      lastMessageAt: yearAgo,
      inWindow: false,
      createdAt: yearAgo,
      updatedAt: yearAgo,
    });
    const n = ++seq;
    const hello = `wamid.nc-${services.id}-${n}-recycled-hello`;
    await deliver(
      w,
      JSON.stringify(textMessageDelivery(client, before, "Bonjour", { id: hello, timestamp: String(base) })),
    );
    const first = (await conversationOf(hello))!;
    await deliver(
      w,
      JSON.stringify(
        systemMessagesDelivery(client, [
          userChangedNumberMessage(before, p.after.waId, {
            newUserId: null,
            id: `wamid.nc-${services.id}-${n}-recycled-change`,
            timestamp: String(base + 1),
          }),
        ]),
      ),
    );
    expect(await db.conversations.countDocuments({ _id: { $in: [ownerConversation, first] } })).toBe(2);
    expect(deletedEvents(ownerConversation)).toEqual([]);
    expect(deletedEvents(first)).toEqual([]);
    expect(await db.conversations.findById(first).lean()).toMatchObject({
      candidatePhone: p.after.waId,
      messageCount: 2,
    });
  });

  it("a number that changed hands is not merged: its earlier owner's conversation stays theirs", async () => {
    const p = person();
    const w = workerProcess("a");
    // Someone else wrote from the number the candidate is about to take (their own user id).
    const earlierOwner: Candidate = { waId: p.after.waId, userId: newUserId(), name: "Ancien" };
    const theirs = `wamid.nc-${services.id}-owner-${++seq}`;
    await deliver(
      w,
      JSON.stringify(textMessageDelivery(client, earlierOwner, "Salut", { id: theirs, timestamp: String(base) })),
    );
    const ownerConversation = (await conversationOf(theirs))!;
    await deliver(w, p.hello());
    const first = (await conversationOf(p.wamids.hello))!;
    await deliver(w, p.fresh());
    await deliver(w, p.change());
    const owner = await db.conversations.findById(ownerConversation).lean();
    expect(owner).toMatchObject({
      candidatePhone: p.after.waId,
      candidateUserId: earlierOwner.userId,
      messageCount: 1,
    });
    expect((await conversationOf(theirs))!.equals(ownerConversation)).toBe(true);
    expect((await conversationOf(p.wamids.fresh))!.equals(first)).toBe(true);
    expect((await db.conversations.findById(first).lean())!.messageCount).toBe(3);
  });
});
