import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { textMessageDelivery } from "@linkojob/meta-simulator";
import { eventually, startRedisServer, type OwnRedis } from "@linkojob/testing";
import { startTrunk, type Trunk } from "../harness/trunk.harness.js";

let own: OwnRedis;
let t: Trunk;

beforeAll(async () => {
  own = await startRedisServer();
  t = await startTrunk({ label: "outage", redisUrl: own.url });
});
afterAll(async () => {
  await t?.close();
  await own?.destroy();
});

describe("Redis outage", () => {
  it("answers 503 while Redis is down; Meta's retry after it returns is stored, nothing lost", async () => {
    const client = await t.createClient();
    const biz = { wabaId: client.wabaId, phoneNumberId: client.phoneNumberId };
    const before = textMessageDelivery(biz, { waId: "212677000001", name: "Avant" }, "avant la panne");
    const during = textMessageDelivery(biz, { waId: "212677000001", name: "Avant" }, "pendant la panne");
    expect((await t.sim.deliver(before)).status).toBe(200);
    await t.drain();

    await own.stop();
    const refused = await t.sim.deliver(during);
    expect(refused.status).toBe(503);
    await own.start();

    // Meta retries the unacknowledged delivery until it gets a 200.
    const accepted = await eventually(async () => (await t.sim.deliver(during)).status === 200, 20_000, 200);
    expect(accepted).toBe(true);
    const texts = await eventually(async () => {
      const docs = await t.db.messages.find({ clientId: client._id }).lean();
      return docs.length === 2 ? docs.map((d) => d.text).sort() : null;
    }, 30_000);
    expect(texts).toEqual(["avant la panne", "pendant la panne"]);
  });
});
