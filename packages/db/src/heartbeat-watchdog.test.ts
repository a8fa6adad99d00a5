import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Types } from "mongoose";
import { eventually, testServices } from "@linkojob/testing";
import { Database } from "./database.js";
import type { HeartbeatStall } from "./heartbeat-watchdog.js";

let db: Database;
const stalls: HeartbeatStall[] = [];

beforeAll(async () => {
  db = await Database.connect(testServices("watchdog").mongoUrl, {
    heartbeatStallMs: 500,
    onHeartbeatStall: (s) => stalls.push(s),
  });
});
afterAll(async () => {
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
});

describe("a MongoDB connection whose server monitor is stuck", () => {
  it("is reopened, and the same models read and write through the new client", async () => {
    const before = db.connection.getClient();
    // The driver's stuck heartbeat, as seen after a database restart: started, never ended.
    before.emit("serverHeartbeatStarted", { connectionId: "127.0.0.1:1", awaited: false });
    await eventually(() => db.reopens === 1, 10_000);
    expect(stalls.map((s) => s.address)).toEqual(["127.0.0.1:1"]);
    expect(db.connection.getClient()).not.toBe(before);

    const clientId = new Types.ObjectId();
    await db.webhookEvents.collection.insertOne({ clientId, kind: "probe", createdAt: new Date() });
    expect(await db.webhookEvents.collection.countDocuments({ clientId })).toBe(1);
    expect(await db.ping()).toBe(true);
  });
});
