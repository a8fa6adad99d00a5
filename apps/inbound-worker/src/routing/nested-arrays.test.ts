import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import type { Redis } from "ioredis";
import { Database, type ClientDoc } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { delivery, inboundMessage, messagesDelivery, newUserId, type Candidate } from "@linkojob/meta-simulator";
import { isFerretDb, testServices } from "@linkojob/testing";
import { ClientDirectory } from "./client-directory.js";
import { DeliveryProcessor } from "./delivery-processor.js";

// Meta's payloads may hold arrays directly inside arrays (any JSON, in a type or field Meta adds
// later). MongoDB stores them as they are; the FerretDB stand-in refuses them, so on it (and only on
// it) the inbound worker's values go through the adapter's wrapping. Either way nothing is lost.

const services = testServices("nestedarrays");
let db: Database;
let redis: Redis;
let client: ClientDoc;
let processor: DeliveryProcessor;
let onFerretDb: boolean;

beforeAll(async () => {
  db = await Database.connect(services.mongoUrl);
  redis = createRedis(services.redisUrl);
  onFerretDb = await isFerretDb(db.connection);
  client = (
    await db.clients.create({
      userId: `nestedarrays-${services.id}`,
      companyName: "Nested Arrays",
      phoneNumberId: `78${services.id.replace(/\D/g, "").slice(0, 6)}1`,
      wabaId: `waba-nestedarrays-${services.id}`,
      whatsappNumber: "212520000078",
      status: "active",
    })
  ).toObject();
  processor = new DeliveryProcessor({
    db,
    directory: new ClientDirectory(db, null),
    events: new DashboardEvents(redis),
    logger: pino({ level: "silent" }),
    writer: `nested-${services.id}`,
  });
});
afterAll(async () => {
  await redis?.quit();
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
});

const business = () => ({ wabaId: client.wabaId, phoneNumberId: client.phoneNumberId });

describe("arrays inside arrays in a delivery", () => {
  it("a message of a future type holding them is stored with its sibling, as arrays on MongoDB", async () => {
    const candidate: Candidate = { waId: "212611000078", userId: newUserId(), name: "Nadia" };
    const grid = {
      rows: [
        [1, 2],
        [3, [4]],
      ],
      label: "x",
    };
    const body = messagesDelivery(business(), candidate, [
      inboundMessage(candidate, "future_grid", grid),
      inboundMessage(candidate, "text", { body: "Bonjour" }),
    ]);
    const result = await processor.process(`d-${services.id}-1`, JSON.stringify(body));
    expect(result.messagesStored).toBe(2);
    const stored = await db.messages.find({ clientId: client._id }).sort({ timestamp: 1, _id: 1 }).lean();
    expect(stored).toHaveLength(2);
    const future = stored.find((m) => m.type !== "text")!;
    const rows = onFerretDb ? [{ "%array": [1, 2] }, { "%array": [3, { "%array": [4] }] }] : grid.rows;
    expect(JSON.stringify(future)).toContain(JSON.stringify(rows));
  });

  it("an account field Meta adds later, holding them, is recorded", async () => {
    const body = delivery([
      { wabaId: client.wabaId, changes: [{ field: "future_field", value: { matrix: [[["a"]], []] } }] },
    ]);
    const result = await processor.process(`d-${services.id}-2`, JSON.stringify(body));
    expect(result.recorded).toBe(1);
    const logged = await db.webhookEvents.find({ deliveryId: `d-${services.id}-2` }).lean();
    expect(logged).toHaveLength(1);
    const matrix = onFerretDb ? [{ "%array": [{ "%array": ["a"] }] }, { "%array": [] }] : [[["a"]], []];
    expect(JSON.stringify(logged[0])).toContain(JSON.stringify(matrix));
  });
});
