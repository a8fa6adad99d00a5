import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Types } from "mongoose";
import { CommandCounter, seededShuffle, testServices } from "@linkojob/testing";
import { Database } from "../database.js";
import type { AnalyticsProjector } from "./analytics-projector.js";
import { costFigures, replyHours, responseFigures, templateFigures } from "./analytics-report.js";
import type { LockCounters } from "./analytics-counters.js";

let db: Database;
let projector: AnalyticsProjector;
let other: AnalyticsProjector;
let mongoUrl: string;

/** One lock for every counter document: what RedisLockSet gives the workers, inside one process. */
function singleLock(): LockCounters {
  let tail: Promise<void> = Promise.resolve();
  return async () => {
    let release!: () => void;
    const previous = tail;
    tail = new Promise<void>((r) => (release = r));
    await previous;
    return () => Promise.resolve(release());
  };
}

beforeAll(async () => {
  mongoUrl = testServices("analytics").mongoUrl;
  db = await Database.connect(mongoUrl);
  const lock = singleLock();
  // Two projectors sharing the lock, as two worker processes share Redis's.
  projector = db.analytics({ lock });
  other = db.analytics({ lock });
});
afterAll(async () => {
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
});

const H = 3_600_000;
const T0 = new Date("2026-10-05T08:00:00Z");

/** A tenant with one conversation: a template delivered, read, answered 2 h later, a recruiter reply 30 min after. */
async function seedTenant(phone: string) {
  const clientId = new Types.ObjectId();
  const conversationId = new Types.ObjectId();
  await db.conversations.collection.insertOne({
    _id: conversationId,
    clientId,
    candidateKey: phone,
    candidatePhone: phone,
    messageCount: 3,
  });
  const template = {
    _id: new Types.ObjectId(),
    clientId,
    conversationId,
    dedupeKey: `out:${new Types.ObjectId().toHexString()}`,
    direction: "outbound",
    type: "template",
    kind: "template",
    timestamp: T0,
    receivedAt: T0,
    status: "sent",
    statusRank: 2,
    statusAt: { sent: new Date(T0.getTime() + 1_000) },
    wamid: `wamid.${new Types.ObjectId().toHexString()}`,
    template: { name: "application_received", language: "fr", category: "utility" },
    request: { candidatePhone: phone, applicationId: `app-${phone}` },
    cost: 0.4,
    costExpected: 0.4,
    costCategory: "utility",
    costSource: "estimate",
  };
  const reply = {
    _id: new Types.ObjectId(),
    clientId,
    conversationId,
    dedupeKey: `in:wamid.r${phone}`,
    direction: "inbound",
    type: "text",
    text: "Oui, intéressé",
    timestamp: new Date(T0.getTime() + 2 * H + 60_000),
    receivedAt: new Date(T0.getTime() + 2 * H + 60_000),
    status: "received",
    statusRank: 0,
  };
  const answer = {
    _id: new Types.ObjectId(),
    clientId,
    conversationId,
    dedupeKey: `out:${new Types.ObjectId().toHexString()}`,
    direction: "outbound",
    type: "text",
    kind: "text",
    timestamp: new Date(reply.timestamp.getTime() + 30 * 60_000),
    receivedAt: new Date(reply.timestamp.getTime() + 30 * 60_000),
    status: "sent",
    statusRank: 2,
    statusAt: { sent: new Date(reply.timestamp.getTime() + 30 * 60_000) },
    wamid: `wamid.${new Types.ObjectId().toHexString()}`,
    request: { candidatePhone: phone, message: "Merci" },
    cost: 0.4,
    costExpected: 0.4,
    costCategory: "service",
    costSource: "estimate",
  };
  await db.messages.collection.insertMany([template, reply, answer] as never[]);
  return { clientId, template, reply, answer };
}

describe("analytics counters kept as messages and statuses are written", () => {
  it("count every event once under redelivered statuses, retried batches, any order and two writers at once, and equal the rebuild", async () => {
    const a = await seedTenant("212600000001");
    const b = await seedTenant("33612345678");
    const ref = (t: typeof a, m: { _id: Types.ObjectId }) => ({ clientId: t.clientId, messageId: m._id });
    // The other writer names each message's conversation, as the inbound worker does: its reads differ, not its counts.
    const refIn = (t: typeof a, m: { _id: Types.ObjectId; conversationId: Types.ObjectId }) => ({
      ...ref(t, m),
      conversationId: m.conversationId,
    });

    // The reply and the recruiter's answer arrive before the template's delivery report.
    await Promise.all([projector.project([ref(a, a.reply)]), other.project([refIn(a, a.reply), refIn(a, a.answer)])]);
    // The template is then delivered and read, priced by Meta; each status delivered twice, by two workers.
    await db.messages.collection.updateOne(
      { _id: a.template._id },
      {
        $set: {
          status: "read",
          statusRank: 5,
          "statusAt.delivered": new Date(T0.getTime() + 60_000),
          "statusAt.read": new Date(T0.getTime() + 90_000),
          cost: 0.4,
          costSource: "meta",
        },
      },
    );
    for (let i = 0; i < 3; i++)
      await Promise.all([
        projector.project([ref(a, a.template), ref(b, b.template)]),
        other.project([refIn(a, a.template), refIn(a, a.reply), refIn(b, b.reply), refIn(b, b.answer)]),
      ]);

    const docsA = await projector.counters.read(a.clientId, "2026-10-01", "2026-10-31");
    const [tpl] = templateFigures(docsA);
    expect(tpl).toMatchObject({
      name: "application_received",
      language: "fr",
      sent: 1,
      delivered: 1,
      read: 1,
      replied24h: 1,
      replied72h: 1,
      optedOut: 0,
      replyRate: 1,
      failed: {},
    });
    // The reply came 2 h after the delivery (reported after the reply was stored): the 1–2 h bucket.
    expect(tpl!.replyTime.medianMinutes).toBeGreaterThan(60);
    expect(tpl!.replyTime.medianMinutes).toBeLessThanOrEqual(120);
    const costs = costFigures(docsA, "day");
    expect(costs.planned.byCategory).toEqual({ utility: { count: 1, cost: 0.4 }, service: { count: 1, cost: 0.4 } });
    expect(costs.billed.byCategory).toEqual({ utility: { count: 1, cost: 0.4 } });
    expect(costs).toMatchObject({ replies: 1, applications: 1, costPerReply: 0.8, costPerApplication: 0.8 });
    expect(responseFigures(docsA)).toMatchObject({ responses: 1, windowsUnanswered: 0 });
    expect(responseFigures(docsA).medianMinutes).toBeGreaterThan(15);
    expect(responseFigures(docsA).medianMinutes).toBeLessThanOrEqual(30);
    // 10:01 UTC on Monday 5 October 2026 is 11:01 in Casablanca (UTC+1).
    const hours = replyHours(docsA);
    expect(hours.total).toBe(1);
    expect(hours.counts[0]![11]).toBe(1);

    // Tenant B's candidate is in Paris (UTC+2 in October): 12:01 there; A's figures hold none of B's.
    const docsB = await projector.counters.read(b.clientId, "2026-10-01", "2026-10-31");
    expect(replyHours(docsB).counts[0]![12]).toBe(1);
    expect(templateFigures(docsB)[0]).toMatchObject({ sent: 1, delivered: 0, replied: 1 });
    expect(costFigures(docsB, "day").billed.count).toBe(0);

    // An outcome reported twice counts once; another tenant's application is not found.
    expect(await projector.recordOutcome(a.clientId, "app-212600000001", "interview")).not.toBeNull();
    await other.recordOutcome(a.clientId, "app-212600000001", "interview");
    expect(await projector.recordOutcome(b.clientId, "app-212600000001", "hired")).toBeNull();

    const live = stripSeen(await db.analyticsCounters.collection.find({ clientId: a.clientId }).toArray());
    await projector.rebuild(a.clientId);
    const rebuilt = stripSeen(await db.analyticsCounters.collection.find({ clientId: a.clientId }).toArray());
    expect(rebuilt).toEqual(live);
    expect(costFigures(await projector.counters.read(a.clientId, "2026-10-01", "2026-12-31"), "month")).toMatchObject({
      interviews: 1,
      costPerInterview: 0.8,
    });
  });
});

describe("a conversation longer than the projector's window", () => {
  it("counts from one read of the conversation when the messages are its newest, reads as before when they are older, and equals the rebuild", async () => {
    const clientId = new Types.ObjectId();
    const conversationId = new Types.ObjectId();
    const phone = "212600000077";
    await db.conversations.collection.insertOne({
      _id: conversationId,
      clientId,
      candidateKey: phone,
      candidatePhone: phone,
    });
    // 300 messages, an hour apart: every tenth a delivered template, each followed by the candidate's
    // reply and a recruiter's answer; the rest the candidate writing again (windows left unanswered).
    const docs = Array.from({ length: 300 }, (_, i) => {
      const at = new Date(T0.getTime() + i * H);
      const base = { _id: new Types.ObjectId(), clientId, conversationId, timestamp: at, receivedAt: at };
      if (i % 10 === 0)
        return {
          ...base,
          dedupeKey: `out:t${i}`,
          direction: "outbound",
          type: "template",
          kind: "template",
          status: "delivered",
          statusRank: 3,
          statusAt: { sent: at, delivered: new Date(at.getTime() + 60_000) },
          wamid: `wamid.t${i}`,
          template: { name: "relance", language: "fr" },
          request: { candidatePhone: phone },
          cost: 0.4,
          costCategory: "utility",
          costSource: "estimate",
        };
      if (i % 10 === 2)
        return {
          ...base,
          dedupeKey: `out:a${i}`,
          direction: "outbound",
          type: "text",
          kind: "text",
          text: "Merci",
          status: "sent",
          statusRank: 2,
          statusAt: { sent: at },
          wamid: `wamid.a${i}`,
          request: { candidatePhone: phone },
          cost: 0.4,
          costCategory: "service",
          costSource: "estimate",
        };
      return {
        ...base,
        dedupeKey: `in:wamid.i${i}`,
        direction: "inbound",
        type: "text",
        text: i % 10 === 5 ? "STOP" : "Bonjour",
        status: "received",
        statusRank: 0,
      };
    });
    await db.messages.collection.insertMany(docs);
    const refIn = (m: (typeof docs)[number]) => ({ clientId, messageId: m._id, conversationId });

    // A connection whose requests are counted, and a projector of its own on it.
    const watched = await Database.connect(mongoUrl, { monitorCommands: true });
    const counter = new CommandCounter(watched.connection);
    const counted = watched.analytics({ lock: singleLock() });
    // The newest messages, named with their conversation: one read serves them and their context.
    await counted.project(docs.slice(-20).map(refIn));
    const newest = counter.byShape();
    expect(Object.keys(newest).filter((k) => k.startsWith("find messages"))).toEqual([
      "find messages {clientId,conversationId} sort{timestamp,_id} limit",
    ]);
    expect(newest["find messages {clientId,conversationId} sort{timestamp,_id} limit"]!.calls).toBe(1);
    // The oldest ones, outside the window: read by id (one find on MongoDB, one per message on
    // FerretDB, whose `$in` reads the collection), with their context and what follows each template.
    counter.reset();
    await counted.project(docs.slice(0, 30).map(refIn));
    const byId =
      watched.batchWriter.lookups(30) > 1 ? "find messages {_id,clientId}" : "find messages {_id:$in,clientId}";
    expect(counter.byShape()[byId]!.calls).toBe(watched.batchWriter.lookups(30));
    expect(Object.keys(counter.byShape()).filter((k) => k.startsWith("find messages"))).toEqual(
      expect.arrayContaining([
        byId,
        "find messages {clientId,conversationId,timestamp:$lte} sort{timestamp,_id} limit",
        "find messages {clientId,conversationId,timestamp:$gte} sort{timestamp,_id} limit",
      ]),
    );
    counter.stop();
    await watched.close();
    // Every message again, as batches do (runs of consecutive messages), the runs in any order,
    // with and without their conversation named.
    const runs = Array.from({ length: 10 }, (_, i) => docs.slice(i * 30, i * 30 + 30));
    for (const [i, run] of seededShuffle(runs, 7).entries())
      await (i % 2 ? other : projector).project(run.map((m) => (i % 2 ? refIn(m) : { clientId, messageId: m._id })));

    const live = stripSeen(await db.analyticsCounters.collection.find({ clientId }).toArray());
    const rebuilt = await projector.rebuild(clientId);
    expect(rebuilt.messages).toBe(300);
    expect(stripSeen(await db.analyticsCounters.collection.find({ clientId }).toArray())).toEqual(live);
    const [tpl] = templateFigures(await projector.counters.read(clientId, "2026-10-01", "2026-10-31"));
    expect(tpl).toMatchObject({ sent: 30, delivered: 30, replied: 30 });
  });
});

function stripSeen(docs: Array<Record<string, unknown>>) {
  return docs
    .map(({ seen, ...d }) => ({ ...d, _id: String(d._id), seen: [...((seen as string[]) ?? [])].sort() }))
    .sort((x, y) => x._id.localeCompare(y._id));
}
