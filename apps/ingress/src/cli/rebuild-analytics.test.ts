import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Types } from "mongoose";
import { Database } from "@linkojob/db";
import { DEFAULT_PRICE_TABLE_MAD } from "@linkojob/outbound";
import { testServices } from "@linkojob/testing";
import { UsageError } from "./connect.command.js";
import { parseRebuildAnalyticsArgs, rebuildAnalytics } from "./rebuild-analytics.command.js";

let db: Database;
beforeAll(async () => {
  db = await Database.connect(testServices("rebuildanalytics").mongoUrl);
});
afterAll(async () => {
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
});

/** A free-form reply to a Moroccan candidate, stored as the gateway planned it before the rate change (free). */
function serviceReply(clientId: Types.ObjectId, conversationId: Types.ObjectId, at: string, priced: boolean) {
  const when = new Date(at);
  return {
    _id: new Types.ObjectId(),
    clientId,
    conversationId,
    dedupeKey: `out:${new Types.ObjectId().toHexString()}`,
    wamid: `wamid.${new Types.ObjectId().toHexString()}`,
    direction: "outbound",
    type: "text",
    kind: "text",
    timestamp: when,
    receivedAt: when,
    status: "delivered",
    statusRank: 4,
    statusAt: { sent: when, delivered: when },
    request: { candidatePhone: "212612345678", message: "Merci" },
    pricing: priced ? { billable: true, pricingModel: "PMP", type: "regular", category: "service" } : null,
    cost: 0,
    costExpected: 0,
    costCategory: "service",
    costSource: priced ? "meta" : "estimate",
  };
}

describe("the analytics backfill (cli:rebuild-analytics)", () => {
  it("reprices service replies sent since 2026-10-01 by the rows then in force, keeps a 30 September one free, and recounts", async () => {
    const client = await db.clients.create({
      userId: "backfill-user",
      companyName: "Atlas",
      phoneNumberId: `66${Date.now() % 1_000_000}`,
      wabaId: "waba-backfill",
      whatsappNumber: "212522000000",
      status: "active",
    });
    const conversationId = new Types.ObjectId();
    await db.conversations.collection.insertOne({
      _id: conversationId,
      clientId: client._id,
      candidateKey: "212612345678",
      candidatePhone: "212612345678",
    });
    const before = serviceReply(client._id, conversationId, "2026-09-30T21:00:00Z", true);
    const after = serviceReply(client._id, conversationId, "2026-10-02T09:00:00Z", true);
    const unpriced = serviceReply(client._id, conversationId, "2026-10-03T09:00:00Z", false);
    await db.messages.collection.insertMany([before, after, unpriced] as never[]);

    const [result] = await rebuildAnalytics(
      db,
      parseRebuildAnalyticsArgs(["--client", client._id.toHexString()]),
      DEFAULT_PRICE_TABLE_MAD,
    );
    expect(result).toMatchObject({ repriced: { examined: 2, repriced: 2 }, messages: 3 });
    const stored = await db.messages.collection.find({ clientId: client._id }).sort({ timestamp: 1 }).toArray();
    expect(stored.map((m) => [m.costExpected, m.cost, m.costSource])).toEqual([
      [0, 0, "meta"],
      [0.4, 0.4, "meta"],
      [0.4, 0.4, "estimate"],
    ]);
    const docs = await db.analytics().counters.read(client._id, "2026-09-01", "2026-10-31");
    const day = (d: string) =>
      docs.find((x) => x.day === d && x.scope === "all")?.c as Record<string, Record<string, Record<string, number>>>;
    expect(day("2026-10-02").billed!.service).toEqual({ count: 1, centimes: 40 });
    expect(day("2026-09-30").billed!.service).toEqual({ count: 1, centimes: 0 });
    expect(day("2026-10-03").planned!.service).toEqual({ count: 1, centimes: 40 });

    // Run again: nothing left to reprice, the same counters.
    const [again] = await rebuildAnalytics(
      db,
      parseRebuildAnalyticsArgs(["--client", client._id.toHexString()]),
      DEFAULT_PRICE_TABLE_MAD,
    );
    expect(again!.repriced).toEqual({ examined: 2, repriced: 0 });
  });

  it("refuses malformed arguments with a usage error", () => {
    expect(() => parseRebuildAnalyticsArgs(["--client", "nope"])).toThrow(UsageError);
    expect(() => parseRebuildAnalyticsArgs(["--reprice-since", "October"])).toThrow(UsageError);
    expect(() => parseRebuildAnalyticsArgs(["--what"])).toThrow(UsageError);
    expect(parseRebuildAnalyticsArgs(["--no-reprice"]).repriceSince).toBeNull();
  });
});
