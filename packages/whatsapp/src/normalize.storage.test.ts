import { testServices } from "@linkojob/testing";
import fc from "fast-check";
import mongoose, { Schema } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { normalizeDelivery } from "./normalize.js";
import { safeRaw } from "./safe-raw.js";
import { mutatedDelivery } from "./delivery-arbitraries.harness.js";
import { nestedArrays, nestedObjects, withOwnKeys } from "./webhook-fixtures.harness.js";

/**
 * What the normalizer produces is stored by the real MongoDB-protocol server of the test run
 * (FerretDB on PostgreSQL here, which refuses more than MongoDB 7; or mongo:7 when Docker answers),
 * through the driver as the message repository writes, and through a Mongoose Mixed path as the
 * webhook_events log writes.
 */

const services = testServices("wanormalize");
let conn: mongoose.Connection;
let Logged: mongoose.Model<{ value: unknown }>;

beforeAll(async () => {
  conn = await mongoose.createConnection(services.mongoUrl).asPromise();
  Logged = conn.model("Logged", new Schema<{ value: unknown }>({ value: Schema.Types.Mixed }, { minimize: false }));
});

afterAll(async () => {
  await conn?.dropDatabase();
  await conn?.close();
});

describe("normalized events are stored as they are", () => {
  it("every event of 150 mutated real-shaped deliveries inserts through the driver and reads back equal", async () => {
    const cases = fc.sample(mutatedDelivery, { numRuns: 150, seed: 20261129 });
    const col = conn.db!.collection("events");
    let stored = 0;
    for (const [i, c] of cases.entries()) {
      const events = normalizeDelivery(c.payload);
      for (const [j, event] of events.entries()) {
        const _id = `${i}:${j}`;
        await col.insertOne({ _id: _id as never, event });
        stored++;
        const back = await col.findOne({ _id: _id as never });
        expect(back?.event).toEqual(event);
      }
    }
    expect(await col.countDocuments()).toBe(stored);
    expect(stored).toBeGreaterThan(150);
  });

  it("every malformed part and account value goes through a Mongoose Mixed path (webhook_events)", async () => {
    const cases = fc.sample(mutatedDelivery, { numRuns: 80, seed: 7 });
    let logged = 0;
    for (const c of cases) {
      for (const e of normalizeDelivery(c.payload)) {
        if (e.kind !== "malformed" && e.kind !== "account") continue;
        await Logged.create({ value: e.kind === "malformed" ? e.raw : e.value });
        logged++;
      }
    }
    expect(await Logged.countDocuments()).toBe(logged);
    expect(logged).toBeGreaterThan(20);
  });

  it.each([
    ["$-prefixed and dotted keys", { $set: { "a.b": 1 }, $where: "x" }],
    ["NUL in a key and in a value", withOwnKeys([["k\u0000", "v\u0000"]])],
    ["-Infinity, Infinity and NaN", { a: -Infinity, b: Infinity, c: Number.NaN }],
    ["arrays inside arrays", [[1, [2]], []]],
    ["20,000 nested arrays", nestedArrays(20_000)],
    ["40 nested objects", nestedObjects(40)],
    ["lone surrogates", { "\uD800": "a\uDC00" }],
    ["a __proto__ key", withOwnKeys([["__proto__", { x: 1 }]])],
    ["200 KB of text", { body: "é".repeat(100_000) }],
  ])("safeRaw of %s is stored and reads back as it was made", async (_, value) => {
    const kept = safeRaw(value);
    const col = conn.db!.collection("raw");
    const { insertedId } = await col.insertOne({ v: kept });
    const back = await col.findOne({ _id: insertedId });
    expect(back?.v).toEqual(kept);
  });

  it("the unsafe originals are refused by this run's server (so the checks above can fail)", async () => {
    const col = conn.db!.collection("refused");
    const info = await conn.db!.admin().command({ buildInfo: 1 });
    // FerretDB (PostgreSQL) refuses all of these; MongoDB 7 stores some (it allows `$` and `.` in
    // field names since 5.0), but no driver writes a NUL in a key.
    const refused: unknown[] = info.ferretdbVersion
      ? [{ $set: 1 }, { "a.b": 1 }, { a: "x\u0000" }, { a: -Infinity }, [[1]], withOwnKeys([["k\u0000", 1]])]
      : [withOwnKeys([["k\u0000", 1]])];
    for (const v of refused) await expect(col.insertOne({ v })).rejects.toThrow();
    expect(await col.countDocuments()).toBe(0);
  });
});
