import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database, mediaBucket } from "@linkojob/db";
import type { DashboardEvents } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { testServices } from "@linkojob/testing";
import { DEFAULT_RETENTION, RetentionPurge } from "./retention-purge.js";
import { TenantRetention } from "./tenant-retention.js";

let db: Database;
let redis: ReturnType<typeof createRedis>;
const announced: Array<{ conversationId: string; reason: string }> = [];
const events = {
  toClient: (_c: string, _e: string, p: { conversationId: string; reason: string }) => announced.push(p),
} as unknown as DashboardEvents;

beforeAll(async () => {
  const services = testServices("retention");
  db = await Database.connect(services.mongoUrl);
  redis = createRedis(services.redisUrl);
});
afterAll(async () => {
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
  await redis?.quit();
});

const NOW = Date.UTC(2026, 11, 7);
const daysAgo = (d: number) => new Date(NOW - d * 86_400_000);

async function conversationWithMedia(clientId: Types.ObjectId, key: string, lastMessageAt: Date) {
  const conv = await db.conversations.create({ clientId, candidateKey: key, candidatePhone: key, lastMessageAt });
  const upload = mediaBucket(db).openUploadStream(`cv-${key}.pdf`);
  await new Promise<void>((r, j) =>
    upload
      .once("finish", () => r())
      .once("error", j)
      .end(Buffer.from("%PDF")),
  );
  const base = {
    clientId,
    conversationId: conv._id,
    timestamp: lastMessageAt,
    receivedAt: lastMessageAt,
    statusRank: 0,
  };
  await db.messages.insertMany([
    {
      ...base,
      dedupeKey: `in:${key}`,
      direction: "inbound",
      type: "document",
      status: "received",
      media: { status: "stored", fileId: upload.id },
    },
    { ...base, dedupeKey: `out:${key}`, direction: "outbound", type: "template", status: "sent", statusRank: 2 },
  ]);
  await db.messages.collection.updateOne(
    { dedupeKey: `out:${key}` },
    {
      $set: {
        cost: 0.4,
        costExpected: 0.4,
        costCategory: "utility",
        costSource: "meta",
        kind: "template",
        createdAt: lastMessageAt,
      },
    },
  );
  return { conv, fileId: upload.id };
}

describe("RetentionPurge", () => {
  it("deletes what is past each retention, in batches, keeps the rest, a tenant's own retention and the cost totals", async () => {
    const a = new Types.ObjectId(); // defaults: 24 months, 30 days
    const b = new Types.ObjectId(); // keeps messages forever, webhook records 7 days
    await db.clients.create({
      _id: b,
      userId: "keeper",
      companyName: "Keeper",
      phoneNumberId: "770000001",
      wabaId: "w-keep",
      whatsappNumber: "212522770001",
      status: "active",
      retention: { messagesMonths: null, webhookEventsDays: 7 },
    });
    const old = await conversationWithMedia(a, "212600000001", daysAgo(800));
    const recent = await conversationWithMedia(a, "212600000002", daysAgo(100));
    const keptForever = await conversationWithMedia(b, "212600000003", daysAgo(2_000));
    const ev = (clientId: Types.ObjectId | null, kind: string, age: number, n: number) =>
      db.webhookEvents.collection.insertMany(
        Array.from({ length: n }, (_, i) => ({
          dedupeKey: `${String(clientId)}-${kind}-${age}-${i}`,
          kind,
          field: "messages",
          clientId,
          valid: kind !== "malformed",
          deliveryId: `${age}-${i}`,
          value: {},
          createdAt: daysAgo(age),
        })),
      );
    await ev(a, "unrouted", 40, 7); // past 30 days
    await ev(null, "malformed", 40, 2); // no tenant: the defaults
    await ev(a, "unrouted", 10, 3); // kept
    await ev(b, "account", 10, 4); // past b's 7 days
    await ev(a, "dead_letter", 100, 2); // past 90 days
    await ev(a, "dead_letter", 40, 1); // kept
    const costs = async (c: Types.ObjectId) =>
      (await db.forTenant(c).outbound.costTotals(new Date(0), new Date(NOW + 86_400_000))).total;
    const costA = await costs(a);

    const purged: Record<string, number> = {};
    const purge = new RetentionPurge({
      db,
      redis,
      events,
      batchSize: 3,
      pauseMs: 0,
      now: () => NOW,
      onPurged: (c, n) => (purged[c] = (purged[c] ?? 0) + n),
    });
    const result = await purge.run();

    expect(result).toMatchObject({
      webhook_events: 13,
      dead_letters: 2,
      conversations: 1,
      messages: 2,
      media_files: 1,
      erased_costs: 1,
    });
    expect(purged).toMatchObject({ webhook_events: 13, dead_letters: 2, conversations: 1 });
    expect(await db.conversations.exists({ _id: old.conv._id })).toBeNull();
    expect(await db.connection.collection("media.files").countDocuments({ _id: old.fileId })).toBe(0);
    expect(await db.connection.collection("media.chunks").countDocuments({ files_id: old.fileId })).toBe(0);
    expect(await db.conversations.exists({ _id: recent.conv._id })).toBeTruthy();
    expect(await db.conversations.exists({ _id: keptForever.conv._id })).toBeTruthy();
    expect(await db.messages.countDocuments({ conversationId: keptForever.conv._id })).toBe(2);
    expect(await db.webhookEvents.countDocuments({})).toBe(3 + 1);
    expect(announced).toEqual([
      { clientId: a.toHexString(), conversationId: old.conv._id.toHexString(), reason: "retention" },
    ]);
    expect(await costs(a)).toBe(costA);
    // Nothing left past its time: a second run deletes nothing.
    expect(Object.values(await purge.run()).every((n) => n === 0)).toBe(true);
  });

  it("honours a tenant's own periods set through TenantRetention (the retention API), field by field", async () => {
    const client = (n: number) =>
      db.clients.create({
        userId: `retention-${n}`,
        companyName: `Retention ${n}`,
        phoneNumberId: `78000000${n}`,
        wabaId: `w-ret-${n}`,
        whatsappNumber: `21252278000${n}`,
        status: "active",
      });
    const short = (await client(1))._id; // dead letters 5 days, messages 2 months, webhook records: default 30 days
    const never = (await client(2))._id; // dead letters never, messages: default 24 months
    const retention = new TenantRetention(db, DEFAULT_RETENTION);
    expect(await retention.set(short.toHexString(), { deadLettersDays: 5, messagesMonths: 2 })).toMatchObject({
      webhookEventsDays: 30,
      deadLettersDays: 5,
      messagesMonths: 2,
      overrides: { deadLettersDays: 5 },
    });
    await retention.set(never.toHexString(), { deadLettersDays: null });
    expect(await retention.get(never.toHexString())).toMatchObject({ deadLettersDays: null, messagesMonths: 24 });

    const shortOld = await conversationWithMedia(short, "212600000011", daysAgo(90)); // past 2 months
    const neverOld = await conversationWithMedia(never, "212600000012", daysAgo(90)); // within 24 months
    const letters = (clientId: Types.ObjectId, age: number, tag: string) =>
      db.webhookEvents.collection.insertOne({
        dedupeKey: `dl-${tag}`,
        kind: "dead_letter",
        field: "messages",
        clientId,
        valid: true,
        deliveryId: tag,
        value: {},
        createdAt: daysAgo(age),
      });
    await letters(short, 10, "short-10"); // past its 5 days (the default, 90, would keep it)
    await letters(short, 2, "short-2"); // kept
    await letters(never, 400, "never-400"); // kept for ever
    await letters(never, 20, "never-20"); // kept

    await new RetentionPurge({ db, redis, events, batchSize: 2, pauseMs: 0, now: () => NOW }).run();
    const left = (await db.webhookEvents.find({ clientId: { $in: [short, never] } }, { dedupeKey: 1 }).lean())
      .map((e) => e.dedupeKey)
      .sort();
    expect(left).toEqual(["dl-never-20", "dl-never-400", "dl-short-2"]);
    expect(await db.conversations.exists({ _id: shortOld.conv._id })).toBeNull();
    expect(await db.conversations.exists({ _id: neverOld.conv._id })).toBeTruthy();

    // Back to the defaults: the stored override is gone.
    expect(await retention.set(short.toHexString(), {})).toMatchObject({ deadLettersDays: 90, overrides: {} });
    expect((await db.clients.findById(short).lean())?.retention).toBeUndefined();
  });

  it("waits for live work between batches, and stops between two batches once aborted", async () => {
    const tenant = new Types.ObjectId();
    const seedEvents = (n: number, tag: string) =>
      db.webhookEvents.collection.insertMany(
        Array.from({ length: n }, (_, i) => ({
          dedupeKey: `pace-${tag}-${i}`,
          kind: "unrouted",
          field: "messages",
          clientId: tenant,
          valid: true,
          deliveryId: `${tag}-${i}`,
          value: {},
          createdAt: daysAgo(60),
        })),
      );
    const left = () => db.webhookEvents.countDocuments({ clientId: tenant });

    // Live work is waiting at the first two checks: the purge asks again before each batch and still finishes.
    await seedEvents(5, "a");
    const log: string[] = [];
    let busy = 2;
    const paced = new RetentionPurge({
      db,
      redis,
      events,
      batchSize: 2,
      pauseMs: 0,
      pauseFactor: 0,
      now: () => NOW,
      liveBacklog: () => {
        log.push(`check:${busy}`);
        return Promise.resolve(busy > 0 ? busy-- : 0);
      },
      onPurged: (c, n) => log.push(`${c}:${n}`),
    });
    expect((await paced.run()).webhook_events).toBeGreaterThanOrEqual(5);
    expect(await left()).toBe(0);
    // Between the first and the second batch: asked until nothing waits (2, 1, 0), then the next batch.
    const first = log.indexOf("webhook_events:2");
    expect(log.slice(first + 1, first + 4)).toEqual(["check:2", "check:1", "check:0"]);

    // Aborted after its first batch (the worker closing): it stops there and says so in its counts.
    await seedEvents(6, "b");
    const stop = new AbortController();
    const stopped = new RetentionPurge({
      db,
      redis,
      events,
      batchSize: 2,
      pauseMs: 0,
      now: () => NOW,
      liveBacklog: () => {
        stop.abort();
        return Promise.resolve(0);
      },
    });
    const partial = await stopped.run({ signal: stop.signal });
    expect(partial).toMatchObject({ webhook_events: 2, stoppedEarly: 1 });
    expect(await left()).toBe(4);
    // The next run continues where it stopped.
    await new RetentionPurge({ db, redis, events, batchSize: 2, pauseMs: 0, now: () => NOW }).run();
    expect(await left()).toBe(0);
  });
});
