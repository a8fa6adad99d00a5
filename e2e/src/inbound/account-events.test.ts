import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { delivery, textMessageDelivery } from "@linkojob/meta-simulator";
import { CLIENTS_CHANGED_CHANNEL, SOCKET_IO_KEY, clientRoom } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { eventually } from "@linkojob/testing";
import type { Redis } from "ioredis";
import { startTrunk, type Trunk } from "../harness/trunk.harness.js";

let t: Trunk;
let sub: Redis;
const changed: Array<{ clientId: string; status?: string }> = [];
const emittedTo: string[] = [];

beforeAll(async () => {
  t = await startTrunk({ label: "account" });
  sub = createRedis(t.services.redisUrl, { autoPipelining: false });
  await sub.subscribe(CLIENTS_CHANGED_CHANNEL);
  await sub.psubscribe(`${SOCKET_IO_KEY}#*`);
  sub.on("message", (_c, raw) => changed.push(JSON.parse(raw)));
  sub.on("pmessage", (_p, channel) => emittedTo.push(channel));
});
afterAll(async () => {
  await sub?.quit();
  await t?.close();
});

const accountUpdate = (wabaId: string, value: unknown) =>
  delivery([{ wabaId, time: Math.floor(Date.now() / 1000), changes: [{ field: "account_update", value }] }]);

describe("account_update webhooks", () => {
  it("hold a restricted client's connection, keep storing what candidates write, and restore it on reconnect", async () => {
    // A connected client holds a (vault-encrypted) token; only such a client can be restored.
    const c = await t.createClient({ accessToken: { keyId: "k1", iv: "aXY=", tag: "dGFn", data: "ZGF0YQ==" } });
    const id = c._id.toString();
    await t.sim.deliver(accountUpdate(c.wabaId, { event: "ACCOUNT_OFFBOARDED" }));
    await t.drain();
    expect((await t.db.clients.findById(c._id).lean())!.status).toBe("reauth_required");
    await eventually(() => changed.some((m) => m.clientId === id && m.status === "reauth_required"));
    await eventually(() => emittedTo.some((ch) => ch.includes(clientRoom(id))));

    // Nothing a candidate writes is dropped while the recruiter reconnects.
    await t.sim.deliver(
      textMessageDelivery(
        { wabaId: c.wabaId, phoneNumberId: c.phoneNumberId },
        { waId: "212688000001" },
        "toujours là ?",
      ),
    );
    await t.drain();
    expect(await t.db.messages.countDocuments({ clientId: c._id })).toBe(1);

    await t.sim.deliver(accountUpdate(c.wabaId, { event: "ACCOUNT_RECONNECTED" }));
    await t.drain();
    expect((await t.db.clients.findById(c._id).lean())!.status).toBe("active");
    await eventually(() => changed.some((m) => m.clientId === id && m.status === "active"));
  });

  it("disconnects the WABA's clients when the partner is removed, once however often Meta repeats it", async () => {
    const c = await t.createClient();
    const payload = accountUpdate(c.wabaId, { event: "PARTNER_REMOVED", waba_info: { waba_id: c.wabaId } });
    await t.sim.deliver(payload);
    await t.sim.deliver(payload);
    await t.drain();
    const doc = (await t.db.clients.findById(c._id).lean())!;
    expect(doc.status).toBe("disconnected");
    expect(doc.accessToken ?? null).toBeNull();
    await eventually(() => changed.some((m) => m.clientId === c._id.toString() && m.status === "disconnected"));
    const announced = () => changed.filter((m) => m.clientId === c._id.toString()).length;
    // The two deliveries are handled concurrently: the conditional write (atomic on MongoDB; one at a
    // time per process on the FerretDB stand-in) lets one of them announce.
    expect(announced()).toBe(1);
    // Meta repeating it later (another delivery, another time) finds it disconnected: nothing more.
    const before = announced();
    await t.sim.deliver(
      delivery([
        {
          wabaId: c.wabaId,
          time: Math.floor(Date.now() / 1000) + 60,
          changes: [{ field: "account_update", value: { event: "PARTNER_REMOVED", waba_info: { waba_id: c.wabaId } } }],
        },
      ]),
    );
    await t.drain();
    expect(await t.db.webhookEvents.countDocuments({ wabaId: c.wabaId, handledAt: { $ne: null } })).toBe(2);
    expect(announced()).toBe(before);
  });
});

describe("scheduled upkeep", () => {
  it("marks expired tokens reauth_required and purges statuses that never found their message", async () => {
    const c = await t.createClient({ tokenExpiresAt: new Date(Date.now() - 60_000) });
    const old = await t.db.pendingStatuses.create({
      clientId: c._id,
      wamid: "wamid.never",
      status: "delivered",
      payload: {},
    });
    // Mongoose keeps createdAt immutable: age the document through the driver.
    await t.db.pendingStatuses.collection.updateOne(
      { _id: old._id },
      { $set: { createdAt: new Date(Date.now() - 8 * 86_400_000) } },
    );
    await t.db.pendingStatuses.create({ clientId: c._id, wamid: "wamid.recent", status: "delivered", payload: {} });
    await t.worker.upkeep!.run({ name: "token-expiry-sweep" });
    await t.worker.upkeep!.run({ name: "purge-pending-statuses" });
    expect((await t.db.clients.findById(c._id).lean())!.status).toBe("reauth_required");
    expect((await t.db.pendingStatuses.find({ clientId: c._id }).lean()).map((p) => p.wamid)).toEqual(["wamid.recent"]);
  });
});
