import { Types } from "mongoose";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "@linkojob/db";
import { createRedis } from "@linkojob/queues";
import { testServices } from "@linkojob/testing";
import { CommandCounter } from "@linkojob/testing/services";
import { SendState } from "./send-state.js";

// SendState on real parts: the test's own key prefix on Redis, its own database.
let db: Database;
let redis: Redis;
let state: SendState;
let seq = 0;

beforeAll(async () => {
  const services = testServices("sendstate");
  db = await Database.connect(services.mongoUrl, { monitorCommands: true });
  redis = createRedis(services.redisUrl);
  state = new SendState({ redis, prefix: services.prefix, db });
});
afterAll(async () => {
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
  await redis?.quit();
});

const newClient = async (status: "active" | "reauth_required" = "active") => {
  const n = ++seq;
  return db.clients.create({
    userId: `state-user-${n}`,
    companyName: "State Co",
    phoneNumberId: `78${String(n).padStart(6, "0")}`,
    wabaId: `sw${n}-${new Types.ObjectId().toHexString()}`,
    whatsappNumber: `21253${String(n).padStart(7, "0")}`,
    status,
  });
};

describe("SendState", () => {
  it("keeps no token in Redis, and serves the client without MongoDB once copied", async () => {
    const c = await newClient();
    await db.clients.updateOne({ _id: c._id }, { $set: { accessToken: "secret-token-value" } });
    await state.writeClient(c._id);
    expect(await redis.get(state.clientKey(c._id.toHexString()))).not.toContain("secret-token-value");
    const counter = new CommandCounter(db.connection);
    const got = await state.client(c._id.toHexString());
    counter.stop();
    expect(got).toMatchObject({ status: "active", wabaId: c.wabaId, userId: "state-user-" + String(seq) });
    expect(got?._id.equals(c._id)).toBe(true);
    expect(counter.total).toBe(0);
  });

  it("a window is open until its end, under the phone and the user id, and closed once the state is built", async () => {
    const clientId = new Types.ObjectId();
    const until = new Date(Date.now() + 3_600_000);
    await state.writeWindows([
      { clientId, windowExpiresAt: until, candidatePhone: "212611000001", candidateUserId: "MA.window1" },
      { clientId, windowExpiresAt: new Date(Date.now() - 1_000), candidatePhone: "212611000002" },
    ]);
    await redis.set(state.builtKey, "1");
    const counter = new CommandCounter(db.connection);
    expect((await state.windowExpiresAt(clientId.toHexString(), "212611000001"))?.getTime()).toBe(until.getTime());
    expect((await state.windowExpiresAt(clientId.toHexString(), "MA.window1"))?.getTime()).toBe(until.getTime());
    expect(await state.windowExpiresAt(clientId.toHexString(), "212611000002")).toBeNull();
    counter.stop();
    expect(counter.total).toBe(0);
    expect(await redis.pttl(state.windowKey(clientId.toHexString(), "212611000001"))).toBeGreaterThan(3_500_000);
  });

  it("without the built marker, a window missing from Redis is read from MongoDB and copied", async () => {
    const c = await newClient();
    const until = new Date(Date.now() + 600_000);
    await db.conversations.create({
      clientId: c._id,
      candidateKey: "212611000009",
      candidatePhone: "212611000009",
      windowExpiresAt: until,
    });
    await redis.del(state.builtKey);
    expect((await state.windowExpiresAt(c._id.toHexString(), "212611000009"))?.getTime()).toBe(until.getTime());
    expect(await redis.exists(state.windowKey(c._id.toHexString(), "212611000009"))).toBe(1);
  });

  it("rebuild copies clients, templates and open windows, then sets the marker", async () => {
    const c = await newClient("reauth_required");
    await db.templates.create({
      wabaId: c.wabaId,
      name: "application_received",
      language: "fr",
      status: "PAUSED",
      statusReason: "LOW_QUALITY",
      category: "UTILITY",
      components: [],
      headerParams: [],
      bodyParams: ["1", "2"],
    });
    await db.conversations.create({
      clientId: c._id,
      candidateKey: "212611000010",
      candidatePhone: "212611000010",
      windowExpiresAt: new Date(Date.now() + 600_000),
    });
    const keys = await redis.keys(`${state.builtKey.replace(/:built$/, "")}:*`);
    if (keys.length) await redis.del(...keys);

    const copied = await state.rebuild();
    expect(copied.clients).toBeGreaterThanOrEqual(1);
    expect(await redis.exists(state.builtKey)).toBe(1);
    const counter = new CommandCounter(db.connection);
    expect(await state.client(c._id.toHexString())).toMatchObject({ status: "reauth_required" });
    expect(await state.template(c.wabaId, "application_received", "fr")).toMatchObject({
      status: "PAUSED",
      statusReason: "LOW_QUALITY",
      bodyParams: ["1", "2"],
    });
    expect(await state.windowExpiresAt(c._id.toHexString(), "212611000010")).not.toBeNull();
    counter.stop();
    expect(counter.total).toBe(0);
  });

  it("an Idempotency-Key claimed by concurrent requests: one claims it, the others get its answer once queued", async () => {
    const clientId = new Types.ObjectId().toHexString();
    const key = `race-${++seq}`;
    const claims = Array.from({ length: 5 }, (_, i) => state.claimIdempotent(clientId, key, { messageId: `m${i}` }));
    // The winner is the one that got null; it confirms after its enqueue, which releases the others.
    const first = await Promise.race(
      claims.map((p, i) => p.then((r) => (r === null ? i : new Promise<number>(() => undefined)))),
    );
    await state.confirmIdempotent(clientId, key, { messageId: `m${first}` });
    const results = await Promise.all(claims);
    expect(results.filter((r) => r === null)).toHaveLength(1);
    for (const r of results.filter((x) => x !== null))
      expect(r).toEqual({ state: "queued", answer: { messageId: `m${first}` } });
  });

  it("a released key (its enqueue failed) is claimed afresh by the next request", async () => {
    const clientId = new Types.ObjectId().toHexString();
    const key = `released-${++seq}`;
    expect(await state.claimIdempotent(clientId, key, { messageId: "a" })).toBeNull();
    await state.releaseIdempotent(clientId, key);
    expect(await state.claimIdempotent(clientId, key, { messageId: "b" })).toBeNull();
  });
});
