import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Types } from "mongoose";
import { Database, messageSortKey, type ConversationRef, type CountedInbound } from "../index.js";
import { CommandCounter, testServices } from "@linkojob/testing";

// The conversation batch's identity resolution on the real MongoDB-protocol server, its requests counted
// with the driver's command monitoring. Two instances play two worker processes (separate caches).

const services = testServices("identitybatch");
let db: Database;
let counter: CommandCounter;
const clientId = new Types.ObjectId();
let seq = 0;
const phone = () => `2127${String(Date.now() % 1_000_000).padStart(6, "0")}${String(++seq).padStart(2, "0")}`;
const userId = () => `MA.${Date.now()}${String(++seq).padStart(6, "0")}`;

/** The filters of the requests sent (find, findAndModify, update, delete), as the server receives them. */
const filters: Array<Record<string, unknown>> = [];
const recordFilters = (e: { command: Record<string, unknown> }) => {
  const c = e.command;
  if (c.filter) filters.push(c.filter as Record<string, unknown>);
  if (c.query) filters.push(c.query as Record<string, unknown>);
  for (const u of (c.updates ?? c.deletes ?? []) as Array<{ q: Record<string, unknown> }>) filters.push(u.q);
};

beforeAll(async () => {
  db = await Database.connect(services.mongoUrl, { monitorCommands: true });
  counter = new CommandCounter(db.connection);
  db.connection.getClient().on("commandStarted", recordFilters);
});
afterAll(async () => {
  counter?.stop();
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
});

const batch = () => db.conversationStore.batch();
/** A ref as the worker builds it: the key is the phone, else the user id (the normalizer's candidate key). */
const ref = (p?: string, u?: string): ConversationRef => ({
  clientId,
  candidateKey: (p ?? u)!,
  candidatePhone: p ?? null,
  candidateUserId: u ?? null,
});
const idOf = (ids: Map<string, Types.ObjectId>, r: ConversationRef) =>
  ids.get(`${clientId.toHexString()}|${r.candidateKey}`)!.toHexString();
const inbound = (at: number, extra: Partial<CountedInbound> = {}): CountedInbound => ({
  messageId: new Types.ObjectId(),
  timestamp: new Date(at),
  receivedAt: new Date(at),
  sortKey: `${at}`,
  preview: "x",
  type: "text",
  opensWindow: true,
  ...extra,
});

describe("conversations by phone or user id, in batches", () => {
  it("a batch of new people named by phone, user id or both: one find and one upsert; refs sharing an id are one conversation", async () => {
    const [p1, u1, u2, p3, u3] = [phone(), userId(), userId(), phone(), userId()];
    const refs = [ref(p1), ref(p1, u1), ref(undefined, u1), ref(undefined, u2), ref(p3, u3)];
    const conversations = batch();
    counter.reset();
    const ids = await conversations.resolve(refs);
    // One find; on FerretDB one per clause (BulkWriter.findEach): 3 user ids, 2 phones, and each as a key.
    expect(counter.byCommand()).toEqual({
      find: db.batchWriter.lookups(3 + 2 + 5),
      update: Math.ceil(3 / Math.min(3, db.batchWriter.statementsPerCommand)),
    });
    expect(new Set(refs.slice(0, 3).map((r) => idOf(ids, r))).size).toBe(1);
    expect(new Set(refs.map((r) => idOf(ids, r))).size).toBe(3);
    const stored = await db.conversations.findById(idOf(ids, refs[0]!)).lean();
    expect(stored).toMatchObject({ candidateKey: p1, candidatePhone: p1, candidateUserId: u1 });

    // A username-only person shows the phone: the cache knows the conversation (no request), and the
    // phone is recorded by the counters' bulkWrite (no extra request).
    const p2 = phone();
    counter.reset();
    const again = await conversations.resolve([ref(p2, u2)]);
    expect(counter.total).toBe(0);
    const id2 = again.get(`${clientId.toHexString()}|${p2}`)!;
    expect(id2.toHexString()).toBe(idOf(ids, refs[3]!));
    counter.reset();
    const changed = await conversations.recordInbound([
      { clientId, conversationId: id2, messages: [inbound(Date.now())] },
    ]);
    // The conversation's four writes (the phone, counters, unread, summary) go as one command (on
    // FerretDB, commands of `perCommand` statements).
    expect(counter.byCommand()).toEqual({ update: Math.ceil(4 / Math.min(4, db.batchWriter.statementsPerCommand)) });
    expect([...(changed.get(id2.toHexString()) ?? [])]).toEqual(["candidatePhone"]);
    expect(await db.conversations.findById(id2).lean()).toMatchObject({
      candidateKey: u2,
      candidatePhone: p2,
      candidateUserId: u2,
      messageCount: 1,
    });

    // Another process (empty cache) finds each by either id with one find (on FerretDB one per
    // clause: 1 user id, 2 phones, and each as a key).
    const other = batch();
    counter.reset();
    const found = await other.resolve([ref(undefined, u1), ref(p2), ref(p3)]);
    expect(counter.byCommand()).toEqual({ find: db.batchWriter.lookups(1 + 2 + 3) });
    expect(found.get(`${clientId.toHexString()}|${u1}`)!.toHexString()).toBe(idOf(ids, refs[0]!));
    expect(found.get(`${clientId.toHexString()}|${p2}`)!.toHexString()).toBe(id2.toHexString());
    expect(await db.conversations.countDocuments({ clientId })).toBe(3);
  });

  it("two processes creating the same new person at once meet on the key: one conversation", async () => {
    const [p, u] = [phone(), userId()];
    const [a, b] = await Promise.all([batch().resolve([ref(p, u)]), batch().resolve([ref(p, u)])]);
    expect(a.get(`${clientId.toHexString()}|${p}`)!.toHexString()).toBe(
      b.get(`${clientId.toHexString()}|${p}`)!.toHexString(),
    );
    expect(await db.conversations.countDocuments({ clientId, candidateUserId: u })).toBe(1);
  });

  it("when two processes created one person twice (phone+id in one, id only in the other), every later message goes to the one knowing both ids", async () => {
    // What the cross-process race leaves: both processes found nothing and created under different keys.
    const [p, u] = [phone(), userId()];
    const now = new Date();
    const base = {
      clientId,
      status: "active",
      messageCount: 1,
      unreadCount: 0,
      readUpTo: new Date(0),
      inWindow: false,
      createdAt: now,
      updatedAt: now,
    };
    const idOnly = new Types.ObjectId(); // the older one
    const both = new Types.ObjectId();
    await db.conversations.collection.insertMany([
      { _id: idOnly, ...base, candidateKey: u, candidatePhone: null, candidateUserId: u },
      { _id: both, ...base, candidateKey: p, candidatePhone: p, candidateUserId: u },
    ]);
    const ids = await batch().resolve([ref(p, u), ref(undefined, u), ref(p)]);
    // Three separate persons in one batch would be grouped; resolve them one by one from fresh caches too.
    for (const r of [ref(p, u), ref(undefined, u), ref(p)]) {
      expect(idOf(ids, r)).toBe(both.toHexString());
      expect(idOf(await batch().resolve([r]), r)).toBe(both.toHexString());
    }
  });

  it("identity changes apply in Meta's order whatever order they arrive in; the key never changes", async () => {
    const [p, u] = [phone(), userId()];
    const conversations = batch();
    const ids = await conversations.resolve([ref(p, u)]);
    const id = ids.get(`${clientId.toHexString()}|${p}`)!;
    const [later, earlier, newId] = [phone(), phone(), userId()];
    const t0 = Date.now() - 60_000;
    await conversations.recordInbound([
      {
        clientId,
        conversationId: id,
        messages: [
          inbound(t0 + 20_000, {
            type: "system",
            opensWindow: false,
            identityChange: { field: "candidatePhone", value: later, previous: earlier },
          }),
        ],
      },
    ]);
    const changed = await conversations.recordInbound([
      {
        clientId,
        conversationId: id,
        messages: [
          inbound(t0 + 10_000, {
            type: "system",
            opensWindow: false,
            identityChange: { field: "candidatePhone", value: earlier, previous: p },
          }),
          inbound(t0 + 30_000, {
            type: "system",
            opensWindow: false,
            identityChange: { field: "candidateUserId", value: newId, previous: u },
          }),
        ],
      },
    ]);
    expect([...(changed.get(id.toHexString()) ?? [])].sort()).toEqual(["candidatePhone", "candidateUserId"]);
    expect(await db.conversations.findById(id).lean()).toMatchObject({
      candidateKey: p,
      candidatePhone: later,
      candidateUserId: newId,
      messageCount: 3,
    });
    // The moved ids find it; the old user id no longer does (a message under it makes a new conversation).
    const found = await batch().resolve([ref(later), ref(undefined, newId)]);
    expect(found.get(`${clientId.toHexString()}|${later}`)!.toHexString()).toBe(id.toHexString());
    expect(found.get(`${clientId.toHexString()}|${newId}`)!.toHexString()).toBe(id.toHexString());

    // The number given up, now someone else's (another user id): a new conversation, keyed by the
    // newcomer's own user id since the moved one still holds that number as its key; another process
    // gets the same one.
    const stranger = userId();
    const theirs = await batch().resolve([ref(p, stranger)]);
    const theirId = theirs.get(`${clientId.toHexString()}|${p}`)!;
    expect(theirId.toHexString()).not.toBe(id.toHexString());
    expect(await db.conversations.findById(theirId).lean()).toMatchObject({
      candidateKey: stranger,
      candidatePhone: p,
      candidateUserId: stranger,
    });
    expect(
      (
        await db
          .forTenant(clientId)
          .conversations.ensure({ candidateKey: p, candidatePhone: p, candidateUserId: userId() })
      ).toHexString(),
    ).not.toBe(id.toHexString());
    expect(
      (await batch().resolve([ref(undefined, stranger)])).get(`${clientId.toHexString()}|${stranger}`)!.toHexString(),
    ).toBe(theirId.toHexString());

    // The number changes hands again: the third person gets a conversation of their own too.
    const third = userId();
    const thirdId = (await batch().resolve([ref(p, third)])).get(`${clientId.toHexString()}|${p}`)!;
    expect([id.toHexString(), theirId.toHexString()]).not.toContain(thirdId.toHexString());
    expect(await db.conversations.findById(thirdId).lean()).toMatchObject({
      candidateKey: third,
      candidateUserId: third,
    });
  });

  it("a number moved away by an identity change no longer names its conversation by the key: the number's new owner gets their own, and their user id is never written into the old one", async () => {
    // A phone-only conversation (opened by a send, or an older payload), then a change without user
    // ids (customer_changed_number): it keeps the old number as its key only.
    const [given, moved, strangerId] = [phone(), phone(), userId()];
    const first = batch();
    const id = (await first.resolve([ref(given)])).get(`${clientId.toHexString()}|${given}`)!;
    await first.recordInbound([
      {
        clientId,
        conversationId: id,
        messages: [
          inbound(Date.now() - 1_000, {
            type: "system",
            opensWindow: false,
            identityChange: { field: "candidatePhone", value: moved, previous: given },
          }),
        ],
      },
    ]);
    for (const r of [ref(given, strangerId), ref(given)]) {
      const conversations = batch();
      const theirs = (await conversations.resolve([r])).get(`${clientId.toHexString()}|${given}`)!;
      expect(theirs.toHexString()).not.toBe(id.toHexString());
      await conversations.recordInbound([{ clientId, conversationId: theirs, messages: [inbound(Date.now())] }]);
    }
    // The send side: a recruiter writing to the number reaches its new owner's conversation.
    const tenant = db.forTenant(clientId);
    for (const candidate of [{ candidatePhone: given }, { candidatePhone: given, candidateUserId: strangerId }])
      expect((await tenant.conversations.ensure({ candidateKey: given, ...candidate })).toHexString()).not.toBe(
        id.toHexString(),
      );
    const previous = await db.conversations.findById(id).lean();
    expect(previous).toMatchObject({ candidateKey: given, candidatePhone: moved, messageCount: 1 });
    expect(previous!.candidateUserId ?? null).toBeNull();
    expect(await db.conversations.countDocuments({ clientId, candidatePhone: given })).toBe(1);
  });

  it("a process that knew a conversation by its number alone does not give that number's new owner the old conversation after another process moved it", async () => {
    const [given, moved, regenerated, strangerId] = [phone(), phone(), userId(), userId()];
    const a = batch();
    const b = batch();
    // Both processes know the phone-only conversation (opened by a send, or an older payload).
    const id = (await a.resolve([ref(given)])).get(`${clientId.toHexString()}|${given}`)!;
    expect((await b.resolve([ref(given)])).get(`${clientId.toHexString()}|${given}`)!.toHexString()).toBe(
      id.toHexString(),
    );
    // Process A applies the number change (the user id regenerated with it).
    await a.recordInbound([
      {
        clientId,
        conversationId: id,
        messages: [
          inbound(Date.now() - 1_000, {
            type: "system",
            opensWindow: false,
            identityChange: [
              { field: "candidatePhone", value: moved, previous: given },
              { field: "candidateUserId", value: regenerated },
            ],
          }),
        ],
      },
    ]);
    // Process B, its cache unaware, receives the new owner's first message (with their user id).
    const theirs = (await b.resolve([ref(given, strangerId)])).get(`${clientId.toHexString()}|${given}`)!;
    expect(theirs.toHexString()).not.toBe(id.toHexString());
    expect(await db.conversations.findById(id).lean()).toMatchObject({
      candidatePhone: moved,
      candidateUserId: regenerated,
    });
  });

  it("the send side's lookup finds by either id, each lookup one equality on an indexed field: one request for a known conversation, two for a new one, one per id and the write when it learns an id", async () => {
    const [p, u] = [phone(), userId()];
    const ids = await batch().resolve([ref(undefined, u)]);
    const id = ids.get(`${clientId.toHexString()}|${u}`)!.toHexString();
    const tenant = db.forTenant(clientId);
    counter.reset();
    expect((await tenant.conversations.ensure({ candidateKey: u, candidateUserId: u })).toHexString()).toBe(id);
    expect(counter.total).toBe(1);
    counter.reset();
    filters.length = 0;
    const opened = await db
      .forTenant(clientId)
      .conversations.open({ candidateKey: p, candidatePhone: p, candidateUserId: u }, { jobTitle: "ignored" });
    // By user id, by phone, by the user id as key (three at once), by the phone as key, then the phone recorded.
    expect(counter.total).toBe(5);
    expect(filters.length).toBeGreaterThan(0);
    expect(filters.filter((f) => "$or" in f)).toEqual([]);
    expect(opened).toMatchObject({ candidateKey: u, candidatePhone: p, candidateUserId: u });
    expect(opened._id.toHexString()).toBe(id);
    expect((await tenant.conversations.ensure({ candidateKey: p, candidatePhone: p })).toHexString()).toBe(id);
    expect(
      await db.conversations.countDocuments({ clientId, $or: [{ candidatePhone: p }, { candidateUserId: u }] }),
    ).toBe(1);
    counter.reset();
    filters.length = 0;
    const fresh = phone();
    const created = await db
      .forTenant(clientId)
      .conversations.open({ candidateKey: fresh, candidatePhone: fresh }, { candidateName: "Ahmed Hassan" });
    // One lookup by phone, then the upsert on the key (which inserts).
    expect(counter.total).toBe(2);
    expect(filters.length).toBeGreaterThan(0);
    expect(filters.filter((f) => "$or" in f)).toEqual([]);
    counter.reset();
    expect((await tenant.conversations.ensure({ candidateKey: fresh, candidatePhone: fresh })).toHexString()).toBe(
      created._id.toHexString(),
    );
    expect(counter.total).toBe(1);
    expect(created).toMatchObject({ candidateKey: fresh, candidatePhone: fresh, candidateName: "Ahmed Hassan" });
  });
  it("a number given up and reused: the send side and the inbound batch open the newcomer's conversation under one successor key, so that concurrent openers meet on it", async () => {
    // The first owner's conversation, keyed by the number, then moved to another number.
    const moveAway = async (given: string) => {
      const ids = await batch().resolve([ref(given, userId())]);
      const id = ids.get(`${clientId.toHexString()}|${given}`)!;
      await db.conversations.updateOne(
        { _id: id, clientId },
        { $set: { candidatePhone: phone(), candidatePhoneAt: new Date() } },
      );
      return id;
    };
    // Opened by the send side alone: the newcomer's own user id is the key, as the batch takes it.
    const given = phone();
    const holder = await moveAway(given);
    const newcomer = userId();
    const sent = await db.forTenant(clientId).conversations.open({
      candidateKey: given,
      candidatePhone: given,
      candidateUserId: newcomer,
    });
    expect(sent._id.toHexString()).not.toBe(holder.toHexString());
    expect(sent).toMatchObject({ candidateKey: newcomer, candidatePhone: given, candidateUserId: newcomer });
    const received = await batch().resolve([ref(given, newcomer)]);
    expect(idOf(received, ref(given, newcomer))).toBe(sent._id.toHexString());
    // Opened by both at once: one conversation.
    const reused = phone();
    await moveAway(reused);
    const other = userId();
    const [both, inbound] = await Promise.all([
      db.forTenant(clientId).conversations.open({
        candidateKey: reused,
        candidatePhone: reused,
        candidateUserId: other,
      }),
      batch().resolve([ref(reused, other)]),
    ]);
    expect(idOf(inbound, ref(reused, other))).toBe(both._id.toHexString());
    expect(await db.conversations.countDocuments({ clientId, candidateUserId: other })).toBe(1);
  });
});

describe("the send side and the inbound batch choose among a person's conversations by one rule", () => {
  it("an older conversation known by the phone alone and a newer one holding the user id: both pick the one holding the user id", async () => {
    const [p, u] = [phone(), userId()];
    // Two conversations of one person, opened before anything linked the phone and the user id.
    const byPhone = idOf(await batch().resolve([ref(p)]), ref(p));
    const byUserId = idOf(await batch().resolve([ref(undefined, u)]), ref(undefined, u));
    expect(byPhone < byUserId).toBe(true);
    // A message naming both ids: the user id decides (bestMatch), though the phone's is older.
    const received = idOf(await batch().resolve([ref(p, u)]), ref(p, u));
    expect(received).toBe(byUserId);
    const sent = await db.forTenant(clientId).conversations.openForSend({ candidatePhone: p, candidateUserId: u });
    expect(sent._id.toHexString()).toBe(received);
    // And again once the send recorded the phone in the user id's conversation.
    expect((await batch().resolve([ref(p, u)])).get(`${clientId.toHexString()}|${p}`)!.toHexString()).toBe(received);
  });
});

describe("a send's first message counted by the insert that creates its conversation", () => {
  const first = (n: number) => {
    const messageId = new Types.ObjectId();
    const at = new Date(Date.now() + n);
    return {
      messageId,
      at,
      sortKey: messageSortKey(at, `out:${messageId.toHexString()}`),
      from: "recruiter" as const,
      preview: "[template t]",
      type: "template",
    };
  };

  it("a new conversation counts it in the same request; found again (a replay) it is not counted twice; a known conversation counts nothing by itself", async () => {
    const conversations = db.forTenant(clientId).conversations;
    const p = phone();
    const m1 = first(1);
    counter.reset();
    const opened = await conversations.openForSend({ candidatePhone: p }, m1);
    expect(counter.total).toBe(2);
    expect(opened.counted).toBe(true);
    expect(opened.doc).toMatchObject({ messageCount: 1, lastMessageSortKey: m1.sortKey, lastMessageFrom: "recruiter" });
    // The job run again (its worker died after the insert): the same message is found counted.
    const again = await conversations.openForSend({ candidatePhone: p }, m1);
    expect(again).toMatchObject({ counted: true, _id: opened._id });
    // The next message to the same candidate: found, counted by its own write (countSent).
    const next = await conversations.openForSend({ candidatePhone: p }, first(2));
    expect(next.counted).toBe(false);
    expect(next.doc.messageCount).toBe(1);
  });

  it("the message not stored after all (its key held by another): the count and the summary are taken back, once", async () => {
    const conversations = db.forTenant(clientId).conversations;
    const m = first(3);
    const opened = await conversations.openForSend({ candidatePhone: phone() }, m);
    await conversations.uncountFirst(opened._id, m);
    await conversations.uncountFirst(opened._id, m);
    const now = await db.conversations.findById(opened._id).lean();
    expect(now).toMatchObject({ messageCount: 0, lastMessageSortKey: null, lastMessagePreview: null });
    expect(now!.countedIds ?? []).toHaveLength(0);
  });
});
