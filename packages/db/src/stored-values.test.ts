import { testServices } from "@linkojob/testing";
import { normalizeDelivery, safeRaw } from "@linkojob/whatsapp";
import { mutatedDelivery } from "@linkojob/whatsapp/testing";
import { nestedArrays, nestedObjects, withOwnKeys } from "@linkojob/whatsapp/testing/fixtures";
import fc from "fast-check";
import mongoose, { Schema } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "./database.js";
import { isFerretDb, storableValues, wrapNestedArrays } from "./ferretdb-adapter.js";

/**
 * What the normalizer produces is stored by the real MongoDB-protocol server of the test run
 * (FerretDB on PostgreSQL here, which refuses more than MongoDB 7; or mongo:7 when Docker answers),
 * as the inbound worker writes it: through `storableValues` (nothing on MongoDB, nested arrays
 * wrapped on FerretDB), then the driver as the message writers do, or a Mongoose Mixed path as the
 * webhook_events log does.
 */

const services = testServices("storedvalues");
let conn: mongoose.Connection;
let Logged: mongoose.Model<{ value: unknown }>;
let storable: <T>(value: T) => T;
let onFerretDb: boolean;

beforeAll(async () => {
  conn = await mongoose.createConnection(services.mongoUrl).asPromise();
  Logged = conn.model("Logged", new Schema<{ value: unknown }>({ value: Schema.Types.Mixed }, { minimize: false }));
  storable = await storableValues(conn);
  onFerretDb = await isFerretDb(conn);
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
      const events = storable(normalizeDelivery(c.payload));
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
      for (const e of storable(normalizeDelivery(c.payload))) {
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
    const kept = storable(safeRaw(value));
    const col = conn.db!.collection("raw");
    const { insertedId } = await col.insertOne({ v: kept });
    const back = await col.findOne({ _id: insertedId });
    expect(back?.v).toEqual(kept);
  });

  it("arrays inside arrays are stored as arrays on MongoDB, wrapped only on the stand-in", () => {
    const value = { rows: [[1, [2]], []], list: [{ a: [3] }] };
    expect(storable(value)).toEqual(
      onFerretDb ? { rows: [{ "%array": [1, { "%array": [2] }] }, { "%array": [] }], list: [{ a: [3] }] } : value,
    );
  });

  it("the unsafe originals are refused by this run's server (so the checks above can fail)", async () => {
    const col = conn.db!.collection("refused");
    // FerretDB (PostgreSQL) refuses all of these; MongoDB 7 stores some (it allows `$` and `.` in
    // field names since 5.0, and arrays inside arrays), but no driver writes a NUL in a key.
    const refused: unknown[] = onFerretDb
      ? [{ $set: 1 }, { "a.b": 1 }, { a: "x\u0000" }, { a: -Infinity }, [[1]], withOwnKeys([["k\u0000", 1]])]
      : [withOwnKeys([["k\u0000", 1]])];
    for (const v of refused) await expect(col.insertOne({ v })).rejects.toThrow();
    expect(await col.countDocuments()).toBe(0);
  });
});

describe("wrapNestedArrays", () => {
  it("returns a value without nested arrays as it is, and copies only what changes", () => {
    const plain = { a: [1, { b: [2] }], c: { d: "x" } };
    expect(wrapNestedArrays(plain)).toBe(plain);
    const mixed = { keep: { d: "x" }, rows: [[1]] };
    const out = wrapNestedArrays(mixed);
    expect(out).toEqual({ keep: { d: "x" }, rows: [{ "%array": [1] }] });
    expect(out.keep).toBe(mixed.keep);
    expect(mixed.rows).toEqual([[1]]);
  });

  it("keeps a __proto__ key an own data property, and dates and buffers as they are", () => {
    const at = new Date(0);
    const value = withOwnKeys([
      ["__proto__", [[1]]],
      ["at", at],
    ]) as Record<string, unknown>;
    const out = wrapNestedArrays(value);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, "__proto__")?.value).toEqual([{ "%array": [1] }]);
    expect(out.at).toBe(at);
  });
});

describe("templates synced from Meta", () => {
  it("a template whose example holds arrays inside arrays (Meta's body_text) is stored and read back", async () => {
    const db = await Database.connect(services.mongoUrl);
    try {
      const client = await db.clients.create({
        userId: "u-stored-values",
        companyName: "Stored",
        phoneNumberId: "990001",
        wabaId: "waba-stored-values",
        whatsappNumber: "212520000001",
        status: "active",
      });
      const components = [
        { type: "BODY", text: "Bonjour {{1}}, {{2}}", example: { body_text: [["Yasmine", "Comptable"]] } },
      ];
      const synced = await db
        .forTenant(client._id)
        .templates.applySync([
          { id: "t1", name: "hello", language: "fr", status: "APPROVED", category: "UTILITY", components },
        ]);
      expect(synced.upserted).toBe(1);
      const [stored] = await db.forTenant(client._id).templates.list();
      expect(stored?.bodyParams).toEqual(["1", "2"]);
      expect(stored?.components).toEqual(storable(components));
    } finally {
      await db.close();
    }
  });
});
