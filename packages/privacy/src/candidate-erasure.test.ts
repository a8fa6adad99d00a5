import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database, mediaBucket } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { OUTBOUND_QUEUE, WEBHOOK_QUEUE, createRedis } from "@linkojob/queues";
import { testServices } from "@linkojob/testing";
import { CandidateErasure, ErasureInFlightError } from "./candidate-erasure.js";
import { ErasureRequests } from "./erasure-requests.js";
import { IdentifierHasher } from "./keyed-hash.js";
import { scanKeys } from "./redis-scan.js";

// The erasure on real parts: its own database and key prefix.
let db: Database;
let redis: Redis;
let prefix: string;
let requests: ErasureRequests;
let erasure: CandidateErasure;
const hasher = new IdentifierHasher(Buffer.alloc(32, 7));
const deleted: string[] = [];

beforeAll(async () => {
  const services = testServices("erasure");
  prefix = services.prefix;
  db = await Database.connect(services.mongoUrl);
  redis = createRedis(services.redisUrl);
  const events = new DashboardEvents(redis);
  const spy = { toClient: (_c: string, _e: string, p: { conversationId: string }) => deleted.push(p.conversationId) };
  requests = new ErasureRequests(db, redis, prefix, hasher);
  erasure = new CandidateErasure({
    db,
    redis,
    prefix,
    events: Object.assign(events, spy),
    hasher,
    logger: { info: () => undefined, warn: () => undefined } as never,
    batchSize: 3,
  });
});
afterAll(async () => {
  await requests?.close();
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
  await redis?.quit();
});

/** Every string the person's data holds, and where any of them is still found (collections, GridFS, Redis). */
async function findTraces(needles: string[]): Promise<string[]> {
  const hits: string[] = [];
  for (const { name } of await db.connection.db!.listCollections().toArray()) {
    for (const doc of await db.connection.db!.collection(name).find({}).toArray()) {
      const text =
        JSON.stringify(doc) + (name === "media.chunks" ? Buffer.from(doc.data.buffer).toString("latin1") : "");
      for (const n of needles) if (text.includes(n)) hits.push(`${name}: ${n}`);
    }
  }
  for (const key of await scanKeys(redis, `${prefix}:*`)) {
    const type = await redis.type(key);
    const content =
      type === "string"
        ? await redis.get(key)
        : type === "hash"
          ? JSON.stringify(await redis.hgetall(key))
          : type === "stream"
            ? JSON.stringify(await redis.xrange(key, "-", "+"))
            : type === "list"
              ? JSON.stringify(await redis.lrange(key, 0, -1))
              : type === "zset"
                ? JSON.stringify(await redis.zrange(key, 0, -1))
                : type === "set"
                  ? JSON.stringify(await redis.smembers(key))
                  : "";
    for (const n of needles) if (`${key}\n${content}`.includes(n)) hits.push(`redis ${key}: ${n}`);
  }
  return hits;
}

describe("CandidateErasure", () => {
  it("removes every record naming the person, through a number change, and keeps another candidate and the costs", async () => {
    const client = await db.clients.create({
      userId: "erasure-recruiter",
      companyName: "Erase Co",
      phoneNumberId: "551000111",
      wabaId: "waba-erasure",
      whatsappNumber: "212522000111",
      status: "active",
    });
    const clientId = client._id;
    const oldPhone = "212611223344";
    const newPhone = "212655667788";
    const userId = "MA.Er4s3dUs3r01";
    const name = "Salma Erasable";
    const text = "my CV is attached, Salma";
    const other = { phone: "212699887766", text: "I stay here" };

    const conv = await db.conversations.create({
      clientId,
      candidateKey: oldPhone,
      candidatePhone: newPhone,
      candidateUserId: userId,
      candidateName: name,
      lastMessagePreview: text,
      readUpTo: new Date(0),
    });
    const keep = await db.conversations.create({ clientId, candidateKey: other.phone, candidatePhone: other.phone });
    const upload = mediaBucket(db).openUploadStream("cv-salma.pdf", { metadata: { clientId: clientId.toHexString() } });
    await new Promise<void>((r, j) =>
      upload
        .once("finish", () => r())
        .once("error", j)
        .end(Buffer.from(`%PDF ${name}`)),
    );
    const wamidIn = "wamid.HBgMMjEyNjExMjIzMzQ0FQIAEhgUM0VSQVNFMDAx";
    const wamidOut = "wamid.HBgMMjEyNjU1NjY3Nzg4FQIAERgSRVJBU0VPVVQwMDE=";
    const base = { clientId, conversationId: conv._id, timestamp: new Date(), receivedAt: new Date(), statusRank: 0 };
    const [inbound, , outbound] = await db.messages.insertMany([
      {
        ...base,
        dedupeKey: `in:${wamidIn}`,
        wamid: wamidIn,
        direction: "inbound",
        type: "document",
        status: "received",
        text,
        raw: { from: oldPhone, text: { body: text } },
        media: { status: "stored", fileId: upload.id },
      },
      {
        ...base,
        dedupeKey: "in:wamid.sys1",
        wamid: "wamid.sys1",
        direction: "inbound",
        type: "system",
        status: "received",
        raw: { from: oldPhone, system: { type: "user_changed_number", wa_id: newPhone, body: `${name} changed` } },
      },
      {
        ...base,
        dedupeKey: "out:x1",
        wamid: wamidOut,
        direction: "outbound",
        type: "template",
        status: "delivered",
        statusRank: 4,
        text: "Bonjour Salma",
      },
      {
        ...base,
        conversationId: keep._id,
        dedupeKey: "in:wamid.keep",
        wamid: "wamid.keep",
        direction: "inbound",
        type: "text",
        status: "received",
        text: other.text,
      },
    ]);
    await db.messages.collection.updateOne(
      { _id: outbound!._id },
      { $set: { cost: 0.4, costExpected: 0.4, costCategory: "utility", costSource: "meta", kind: "template" } },
    );
    const costsBefore = await db.forTenant(clientId).outbound.costTotals(new Date(0), new Date(Date.now() + 60_000));
    await db.pendingStatuses.create({
      clientId,
      wamid: "wamid.late",
      status: "read",
      payload: { recipient_id: newPhone },
    });
    await db.webhookEvents.create([
      {
        dedupeKey: "dl-1",
        kind: "dead_letter",
        field: "messages",
        clientId,
        valid: false,
        deliveryId: "1-0",
        value: { body: JSON.stringify({ from: newPhone, text: { body: text } }) },
      },
      {
        dedupeKey: "acct-1",
        kind: "account",
        field: "account_update",
        clientId,
        valid: true,
        deliveryId: "2-0",
        value: { event: "VERIFIED" },
      },
    ]);
    await redis.set(`${prefix}:send-state:window:${clientId.toHexString()}:${newPhone}`, "1", "PX", 60_000);
    await redis.set(`${prefix}:pace:r:${client.phoneNumberId}:${newPhone}`, "1", "PX", 60_000);
    const webhooks = new Queue(WEBHOOK_QUEUE, { connection: redis, prefix });
    const sends = new Queue(OUTBOUND_QUEUE, { connection: redis, prefix });
    const queued = await webhooks.add("delivery", {
      deliveryId: "3-0",
      receivedAt: 1,
      body: JSON.stringify({ from: newPhone }),
    });
    await sends.add(
      "send",
      {
        clientId: clientId.toHexString(),
        messageId: new Types.ObjectId().toHexString(),
        accepted: { candidatePhone: newPhone, candidateName: name },
      },
      { delay: 3_600_000 },
    );

    // A campaign still expanding: its chunk not yet decided names them beside another candidate.
    const campaignId = new Types.ObjectId();
    await db.campaignsOf(clientId).storeRecipients(campaignId, [
      [
        { index: 0, phone: other.phone, userId: null, vars: ["Karim"], applicationId: null },
        { index: 1, phone: newPhone, userId: null, vars: ["Salma"], applicationId: null },
      ],
    ]);

    const needles = [oldPhone, newPhone, userId, name, text, wamidIn, wamidOut, "Salma", inbound!._id.toHexString()];
    // The scan sees the person everywhere they were written before the erasure.
    const before = (await findTraces(needles)).join("\n");
    for (const where of [
      "conversations:",
      "messages:",
      "media.chunks:",
      "webhook_events:",
      "pending_statuses:",
      "send-state:window",
      "pace:r",
      "webhook-deliveries",
      "outbound-sends",
      "campaign_recipients:",
    ])
      expect(before).toContain(where);

    const view = await requests.request({
      clientIds: [clientId],
      allTenants: false,
      phones: [newPhone],
      userIds: [],
      reason: "candidate asked by email",
      requestedBy: { role: "recruiter", sub: "erasure-recruiter" },
    });
    const id = new Types.ObjectId(view.erasureId);
    // A delivery naming them is still queued: the erasure waits for it, having done only what is safe.
    await expect(erasure.run(id)).rejects.toBeInstanceOf(ErasureInFlightError);
    const halfway = await db.erasures.findById(id).lean();
    expect(halfway?.status).toBe("running");
    expect(halfway?.steps).toEqual(["opt-out", "campaign-recipients"]);
    await queued.remove(); // the delivery was processed (its job gone); the retry finishes the erasure
    const done = await erasure.run(id);
    expect(done?.status).toBe("done");
    expect(done?.subject).toBeUndefined();
    expect(done?.removed).toMatchObject({
      messages: 3,
      conversations: 1,
      media_files: 1,
      pending_statuses: 1,
      webhook_events: 1,
      erased_costs: 1,
      redis_keys: 2,
      campaign_recipients: 1,
    });
    expect(done?.removed.bullmq_jobs).toBeGreaterThanOrEqual(1);
    expect(deleted).toContain(conv._id.toHexString());

    expect(await findTraces(needles)).toEqual([]);
    expect(await db.messages.countDocuments({ conversationId: keep._id })).toBe(1);
    expect(await db.webhookEvents.countDocuments({ dedupeKey: "acct-1" })).toBe(1);
    // The other recipient of the campaign is still to be decided.
    expect((await db.campaignsOf(clientId).recipientChunk(campaignId, 0))?.recipients).toEqual([
      { index: 0, phone: other.phone, userId: null, vars: ["Karim"], applicationId: null },
    ]);
    const costsAfter = await db.forTenant(clientId).outbound.costTotals(new Date(0), new Date(Date.now() + 60_000));
    expect(costsAfter).toEqual(costsBefore);
    // A second run (a retried job) finds it done and changes nothing.
    expect((await erasure.run(id))?.removed).toEqual(done?.removed);
    await webhooks.close();
    await sends.close();
  });

  it("answers a second request for the same person with the erasure already running", async () => {
    const clientId = new Types.ObjectId();
    const ask = () =>
      requests.request({
        clientIds: [clientId],
        allTenants: false,
        phones: ["212600000009"],
        userIds: [],
        reason: "twice",
        requestedBy: { role: "service", sub: "backend" },
      });
    const first = await ask();
    const second = await ask();
    expect(second.erasureId).toBe(first.erasureId);
    expect(JSON.stringify(await requests.get(new Types.ObjectId(first.erasureId), [clientId]))).not.toContain(
      "212600000009",
    );
    expect(await requests.get(new Types.ObjectId(first.erasureId), [new Types.ObjectId()])).toBeNull();
  });

  it("erases one person in every tenant for an admin's request, and only in the named tenant otherwise", async () => {
    const phone = "212611000777";
    const tenants = await db.clients.create(
      [1, 2].map((n) => ({
        userId: `tenant-${n}`,
        companyName: `Tenant ${n}`,
        phoneNumberId: `5520000${n}`,
        wabaId: `waba-all-${n}`,
        whatsappNumber: `21252200077${n}`,
        status: "active",
      })),
    );
    const convs = await db.conversations.create(
      tenants.map((t) => ({ clientId: t._id, candidateKey: phone, candidatePhone: phone })),
    );
    const byRecruiter = await requests.request({
      clientIds: [tenants[0]!._id],
      allTenants: false,
      phones: [phone],
      userIds: [],
      reason: "one tenant",
      requestedBy: { role: "recruiter", sub: "tenant-1" },
    });
    await erasure.run(new Types.ObjectId(byRecruiter.erasureId));
    expect(await db.conversations.exists({ _id: convs[0]!._id })).toBeNull();
    expect(await db.conversations.exists({ _id: convs[1]!._id })).toBeTruthy();
    const byAdmin = await requests.request({
      clientIds: [tenants[0]!._id],
      allTenants: true,
      phones: [phone],
      userIds: [],
      reason: "everywhere",
      requestedBy: { role: "admin", sub: "ops" },
    });
    const done = await erasure.run(new Types.ObjectId(byAdmin.erasureId));
    expect(done).toMatchObject({ status: "done", removed: { conversations: 1 } });
    expect(await db.conversations.countDocuments({ candidatePhone: phone })).toBe(0);
  });
});
