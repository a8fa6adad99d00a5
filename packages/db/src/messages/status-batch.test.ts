import { CommandCounter, sentOutboundMessage, testServices } from "@linkojob/testing";
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "../database.js";
import { isFerretDb } from "../ferretdb-adapter.js";

/**
 * The status batch on the run's real MongoDB-protocol server, for a batch mixing two tenants (the
 * status webhooks of two numbers drained together): what it applies, and what it asks. On FerretDB
 * every lookup goes as equality finds (an `$or` of tenants, or an `_id: {$in}`, would read the whole
 * `messages` collection), on MongoDB as one find each.
 */

const services = testServices("statusbatch");
let db: Database;
let counter: CommandCounter;
const tenants = [new Types.ObjectId(), new Types.ObjectId()];
const conversation = new Types.ObjectId();
let seq = 0;
const wamid = () => `wamid.sb${services.id}${seq++}`;

beforeAll(async () => {
  db = await Database.connect(services.mongoUrl, { monitorCommands: true });
  counter = new CommandCounter(db.connection);
  // Other messages of both tenants, which no lookup of the batch should need.
  await db.messages.collection.insertMany(
    Array.from({ length: 40 }, (_, i) =>
      sentOutboundMessage({
        clientId: tenants[i % 2]!,
        conversationId: conversation,
        wamid: wamid(),
        dedupeKey: `out:other${i}`,
      }),
    ),
  );
});

afterAll(async () => {
  counter?.stop();
  await db?.connection.dropDatabase();
  await db?.close();
});

const status = (w: string, s: string, at: number) => ({
  wamid: w,
  status: s,
  timestamp: new Date(at),
  recipientKey: null,
});

describe("StatusBatch across tenants", () => {
  it("applies a mixed batch forward only, by equality lookups on FerretDB and one find each on MongoDB", async () => {
    const sent = tenants.flatMap((clientId, t) =>
      Array.from({ length: 3 }, (_, i) => ({ clientId, wamid: wamid(), key: `out:mixed${t}${i}` })),
    );
    await db.messages.collection.insertMany(
      sent.map((m) =>
        sentOutboundMessage({ clientId: m.clientId, conversationId: conversation, wamid: m.wamid, dedupeKey: m.key }),
      ),
    );
    const t0 = Date.now() - 60_000;
    // Read before delivered, one redelivery, tenants interleaved.
    const items = sent.flatMap((m, i) => [
      { clientId: m.clientId, status: status(m.wamid, "read", t0 + 5_000 + i) },
      { clientId: m.clientId, status: status(m.wamid, "delivered", t0 + 3_000 + i) },
    ]);
    items.push({ ...items[0]! });

    counter.reset();
    const outcomes = await db.messageStore.applyStatuses(items);
    expect(outcomes.map((o) => o.outcome)).toEqual([...sent.flatMap(() => ["applied", "recorded"]), "recorded"]);
    const finds = counter.byCommand().find;
    expect(finds).toBe(2 * db.batchWriter.lookups(sent.length));
    const shapes = Object.keys(counter.byShape()).filter((s) => s.startsWith("find "));
    if (await isFerretDb(db.connection))
      expect(shapes.sort()).toEqual(["find messages {_id,clientId}", "find messages {clientId,wamid}"]);

    const docs = await db.messages.collection.find({ wamid: { $in: sent.map((m) => m.wamid) } }).toArray();
    expect(docs).toHaveLength(sent.length);
    for (const d of docs) {
      const i = sent.findIndex((m) => m.wamid === d.wamid);
      expect(String(d.clientId)).toBe(String(sent[i]!.clientId));
      expect(d.status).toBe("read");
      expect(new Date(d.statusAt.delivered).getTime()).toBe(t0 + 3_000 + i);
      expect(new Date(d.statusAt.read).getTime()).toBe(t0 + 5_000 + i);
    }
    // Each outcome shows its own tenant's message.
    outcomes.forEach((o, i) => expect(o.message?.wamid).toBe(items[i]!.status.wamid));
  });

  it("parks statuses of messages not stored yet, of either tenant, and a tenant's wamid never finds another's message", async () => {
    const shared = wamid();
    await db.messages.collection.insertOne(
      sentOutboundMessage({
        clientId: tenants[0]!,
        conversationId: conversation,
        wamid: shared,
        dedupeKey: "out:shared",
      }),
    );
    const unknown = wamid();
    const items = [
      { clientId: tenants[1]!, status: status(shared, "delivered", Date.now()) },
      { clientId: tenants[0]!, status: status(unknown, "delivered", Date.now()) },
      { clientId: tenants[0]!, status: status(shared, "delivered", Date.now()) },
    ];
    counter.reset();
    const outcomes = await db.messageStore.applyStatuses(items);
    expect(outcomes.map((o) => o.outcome)).toEqual(["pending", "pending", "applied"]);
    // The targets, the re-check of the two unknown ones, the read back of the one found.
    expect(counter.byCommand().find).toBe(db.batchWriter.lookups(3) + db.batchWriter.lookups(2) + 1);
    const waiting = await db.pendingStatuses.find({ wamid: { $in: [shared, unknown] } }).lean();
    expect(waiting.map((p) => `${String(p.clientId)}|${p.wamid}`).sort()).toEqual(
      [`${String(tenants[1])}|${shared}`, `${String(tenants[0])}|${unknown}`].sort(),
    );
  });
});
