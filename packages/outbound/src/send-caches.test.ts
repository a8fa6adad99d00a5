import { Types } from "mongoose";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "@linkojob/db";
import { CLIENTS_CHANGED_CHANNEL } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { eventually, testServices } from "@linkojob/testing";
import { CommandCounter } from "@linkojob/testing/services";
import { SendCaches, TEMPLATES_CHANGED_CHANNEL, publishTemplatesChanged } from "./send-caches.js";

// SendCaches on real parts: the MongoDB-protocol server, Redis pub/sub for the change announcements.
let db: Database;
let pub: Redis;
let sub: Redis;
let caches: SendCaches;
let seq = 0;

beforeAll(async () => {
  const services = testServices("sendcaches");
  db = await Database.connect(services.mongoUrl, { monitorCommands: true });
  pub = createRedis(services.redisUrl);
  sub = createRedis(services.redisUrl, { autoPipelining: false });
  caches = new SendCaches(db);
  await caches.subscribe(sub);
});
afterAll(async () => {
  await caches?.close();
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
  await Promise.allSettled([pub?.quit(), sub?.quit()]);
});

const newClient = async () => {
  const n = ++seq;
  const c = await db.clients.create({
    userId: `cache-user-${n}`,
    companyName: "Cache Co",
    phoneNumberId: `77${String(n).padStart(6, "0")}`,
    wabaId: `cw${n}-${new Types.ObjectId().toHexString()}`,
    whatsappNumber: `21252${String(n).padStart(7, "0")}`,
    status: "active",
  });
  return c.toObject();
};

const requests = async (fn: () => Promise<unknown>) => {
  const counter = new CommandCounter(db.connection);
  try {
    await fn();
    return counter.total;
  } finally {
    counter.stop();
  }
};

describe("SendCaches", () => {
  it("reads a client once, then serves it until clients:changed names it", async () => {
    const c = await newClient();
    const id = c._id.toHexString();
    expect((await caches.client(id))?.status).toBe("active");
    expect(await requests(() => caches.client(id))).toBe(0);

    // Changed behind the cache's back: still the cached copy (the announcement is what tells).
    await db.clients.updateOne({ _id: c._id }, { $set: { status: "reauth_required" } });
    expect((await caches.client(id))?.status).toBe("active");
    await pub.publish(CLIENTS_CHANGED_CHANNEL, JSON.stringify({ clientId: id, status: "reauth_required" }));
    await eventually(async () => (await caches.client(id))?.status === "reauth_required");
    expect(await requests(() => caches.client(id)), "the fresh copy is cached in turn").toBe(0);
    expect((await caches.client(id))?.status).toBe("reauth_required");
  });

  it("an unreadable clients:changed drops every client", async () => {
    const c = await newClient();
    const id = c._id.toHexString();
    await caches.client(id);
    expect(await requests(() => caches.client(id)), "cached before the announcement").toBe(0);
    await pub.publish(CLIENTS_CHANGED_CHANNEL, "not json");
    // Dropped: the next read goes to the database once, and what it read is cached again.
    await eventually(async () => (await requests(() => caches.client(id))) === 1);
    expect(await requests(() => caches.client(id)), "cached again after the re-read").toBe(0);
  });

  it("a read in flight when the client changes is not kept", async () => {
    const c = await newClient();
    const id = c._id.toHexString();
    // The read starts, the change is announced (handled synchronously) before it completes.
    const inFlight = caches.client(id);
    caches.handle(CLIENTS_CHANGED_CHANNEL, JSON.stringify({ clientId: id }));
    await inFlight;
    expect(await requests(() => caches.client(id))).toBe(1);
  });

  it("templates: one WABA's dropped on templates:changed, a miss never kept", async () => {
    const a = await newClient();
    const b = await newClient();
    await db.templates.create({
      wabaId: a.wabaId,
      name: "application_received",
      language: "fr",
      status: "APPROVED",
      headerParams: [],
      bodyParams: ["1", "2"],
    });
    await db.templates.create({
      wabaId: b.wabaId,
      name: "application_received",
      language: "fr",
      status: "APPROVED",
      headerParams: [],
      bodyParams: ["1"],
    });
    expect((await caches.template(a.wabaId, "application_received", "fr"))?.status).toBe("APPROVED");
    await caches.template(b.wabaId, "application_received", "fr");
    expect(await caches.template(a.wabaId, "missing", "fr")).toBeNull();
    expect(await requests(() => caches.template(a.wabaId, "missing", "fr"))).toBe(1);

    await db.templates.updateOne({ wabaId: a.wabaId, name: "application_received" }, { $set: { status: "PAUSED" } });
    await publishTemplatesChanged(pub, a.wabaId);
    await eventually(async () => (await caches.template(a.wabaId, "application_received", "fr"))?.status === "PAUSED");
    // The other WABA's entry stayed.
    expect(await requests(() => caches.template(b.wabaId, "application_received", "fr"))).toBe(0);
    expect(TEMPLATES_CHANGED_CHANNEL).toBe("templates:changed");
  });

  it("serves nothing from cache while it cannot hear announcements", async () => {
    const c = await newClient();
    const id = c._id.toHexString();
    const deaf = new SendCaches(db); // never subscribed
    await deaf.client(id);
    expect(await requests(() => deaf.client(id))).toBe(1);
  });
});
