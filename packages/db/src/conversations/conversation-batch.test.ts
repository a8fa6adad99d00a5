import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Types } from "mongoose";
import { testServices } from "@linkojob/testing";
import { Database } from "../database.js";
import { COUNTED_IDS_KEPT, type ConversationRef } from "./conversation-batch.js";

let db: Database;

beforeAll(async () => {
  db = await Database.connect(testServices("convbatch").mongoUrl);
});
afterAll(async () => {
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
});

describe("ConversationBatch.resolve when another process creates a conversation meanwhile", () => {
  it("gives every person its own tenant's conversation (the ids created are known by id, not by upsert position)", async () => {
    const ours = db.conversationStore.batch();
    const theirs = db.conversationStore.batch();
    const tenantA = new Types.ObjectId();
    const tenantB = new Types.ObjectId();
    const refs: ConversationRef[] = [
      { clientId: tenantA, candidateKey: "212600000001", candidatePhone: "212600000001" },
      { clientId: tenantA, candidateKey: "212600000002", candidatePhone: "212600000002" },
      { clientId: tenantB, candidateKey: "212600000003", candidatePhone: "212600000003" },
      { clientId: tenantB, candidateKey: "212600000004", candidatePhone: "212600000004" },
    ];
    // The race made deterministic: our batch's find answers, then the other process creates the
    // second person's conversation before our upsert runs (so one of our upserts matches instead).
    const collection = db.conversations.collection as unknown as {
      find: (...a: unknown[]) => { toArray: () => Promise<unknown[]> };
    };
    const find = collection.find.bind(collection);
    collection.find = (...args: unknown[]) => {
      collection.find = find;
      const cursor = find(...args);
      const toArray = cursor.toArray.bind(cursor);
      cursor.toArray = async () => {
        const found = await toArray();
        await theirs.resolve([refs[1]!]);
        return found;
      };
      return cursor;
    };
    const ids = await ours.resolve(refs);
    for (const r of refs) {
      const id = ids.get(`${r.clientId.toHexString()}|${r.candidateKey}`);
      const doc = await db.conversations.findById(id).lean();
      expect({ clientId: doc?.clientId.toHexString(), candidateKey: doc?.candidateKey }).toEqual({
        clientId: r.clientId.toHexString(),
        candidateKey: r.candidateKey,
      });
    }
    expect(await db.conversations.countDocuments({ clientId: { $in: [tenantA, tenantB] } })).toBe(4);
  });
});

describe("ConversationBatch.resolve when the server stops its upserts at a duplicate key", () => {
  it("creates the conversations whose statements never ran, and takes the one another process created", async () => {
    const ours = db.conversationStore.batch();
    const theirs = db.conversationStore.batch();
    const clientId = new Types.ObjectId();
    const refs: ConversationRef[] = Array.from({ length: 5 }, (_, i) => ({
      clientId,
      candidateKey: `21261000000${i}`,
      candidatePhone: `21261000000${i}`,
    }));
    // Two processes upsert the first person at the same moment: ours loses with a duplicate key on
    // its first statement, and a server that stops a command at its first error (FerretDB v1 does,
    // even unordered; MongoDB does when ordered) runs none of the others. Made deterministic: the
    // other process creates the first person's conversation, and our command answers as that server
    // would, having run nothing.
    const collection = db.conversations.collection as unknown as { bulkWrite: (...a: unknown[]) => Promise<unknown> };
    const bulkWrite = collection.bulkWrite.bind(collection);
    collection.bulkWrite = async () => {
      collection.bulkWrite = bulkWrite;
      await theirs.resolve([refs[0]!]);
      throw Object.assign(new Error("E11000 duplicate key error"), {
        code: 11000,
        writeErrors: [{ index: 0, code: 11000 }],
        result: { upsertedIds: {} },
      });
    };
    const ids = await ours.resolve(refs);

    const theirId = (await theirs.resolve([refs[0]!])).get(`${clientId.toHexString()}|${refs[0]!.candidateKey}`);
    expect(ids.get(`${clientId.toHexString()}|${refs[0]!.candidateKey}`)?.toHexString()).toBe(theirId?.toHexString());
    const docs = await db.conversations.find({ clientId }, { candidateKey: 1 }).lean();
    expect(docs.map((d) => d.candidateKey).sort()).toEqual(refs.map((r) => r.candidateKey).sort());
    for (const r of refs) {
      const doc = docs.find((d) => d._id.equals(ids.get(`${clientId.toHexString()}|${r.candidateKey}`)));
      expect(doc?.candidateKey).toBe(r.candidateKey);
    }
  });
});

describe("ConversationBatch.recordInbound retried after an answer lost", () => {
  const counted = (messageId: Types.ObjectId, at: Date, takenOver = false) => ({
    messageId,
    takenOver,
    timestamp: at,
    receivedAt: at,
    sortKey: `${at.getTime()}|${messageId.toHexString()}`,
    preview: "bonjour",
    type: "text",
    opensWindow: true,
  });

  it("counts each message once when the write that counted it is applied again with other messages", async () => {
    const batch = db.conversationStore.batch();
    const clientId = new Types.ObjectId();
    const ids = await batch.resolve([{ clientId, candidateKey: "212600000099", candidatePhone: "212600000099" }]);
    const conversationId = ids.get(`${clientId.toHexString()}|212600000099`)!;
    const at = new Date();
    const [a, b, c] = [new Types.ObjectId(), new Types.ObjectId(), new Types.ObjectId()];

    // The first write reaches the database; its answer is lost, so the batch is retried: the same
    // messages come back taken over, along with one never counted.
    await batch.recordInbound([{ clientId, conversationId, messages: [counted(a, at), counted(b, at)] }]);
    await batch.recordInbound([
      { clientId, conversationId, messages: [counted(a, at, true), counted(b, at, true), counted(c, at)] },
    ]);
    // And once more, the retry's answer lost too.
    await batch.recordInbound([{ clientId, conversationId, messages: [counted(b, at, true), counted(c, at, true)] }]);

    const doc = await db.conversations.findById(conversationId).lean();
    expect({ messageCount: doc?.messageCount, unreadCount: doc?.unreadCount }).toEqual({
      messageCount: 3,
      unreadCount: 3,
    });
  });

  it("keeps the lists of counted ids bounded, whatever the server does with $slice", async () => {
    const batch = db.conversationStore.batch();
    const clientId = new Types.ObjectId();
    const ref = { clientId, candidateKey: "212600000098", candidatePhone: "212600000098" };
    const conversationId = (await batch.resolve([ref])).get(`${clientId.toHexString()}|212600000098`)!;
    const at = new Date();
    for (let round = 0; round < 3; round++) {
      const messages = Array.from({ length: COUNTED_IDS_KEPT }, () => counted(new Types.ObjectId(), at));
      await batch.recordInbound([{ clientId, conversationId, messages }]);
      await batch.read([{ clientId, conversationId }]);
    }
    const doc = await db.conversations
      .findById(conversationId, { countedIds: 1, unreadIds: 1, messageCount: 1 })
      .lean();
    expect(doc?.messageCount).toBe(3 * COUNTED_IDS_KEPT);
    expect(doc?.countedIds?.length).toBeLessThanOrEqual(2 * COUNTED_IDS_KEPT);
    expect(doc?.unreadIds?.length).toBeLessThanOrEqual(2 * COUNTED_IDS_KEPT);
  });
});
