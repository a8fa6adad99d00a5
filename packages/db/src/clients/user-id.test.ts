import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Types } from "mongoose";
import { testServices } from "@linkojob/testing";
import { Database } from "../database.js";
import { clientJson } from "./client-json.js";
import { tokenExpiryOf, type ClientDoc } from "./client.model.js";
import { sameUser, userIdFilter, userIdString, userIdValue } from "./user-id.js";

const hex = "65a1b2c3d4e5f60718293a4b";

describe("user ids in both forms", () => {
  it("stores the platform's form: an ObjectId for 24 hex characters, the string otherwise", () => {
    const v = userIdValue(hex);
    expect(v).toBeInstanceOf(Types.ObjectId);
    expect(userIdString(v)).toBe(hex);
    expect(userIdValue(hex.toUpperCase())).toEqual(new Types.ObjectId(hex));
    expect(userIdValue("user-42")).toBe("user-42");
    expect(userIdValue(`${hex}0`)).toBe(`${hex}0`);
  });

  it("compares the forms: an ObjectId and its hex (any case) are one user, other strings exactly", () => {
    const oid = new Types.ObjectId(hex);
    expect(sameUser(oid, hex)).toBe(true);
    expect(sameUser(hex, oid)).toBe(true);
    expect(sameUser(oid, hex.toUpperCase())).toBe(true);
    expect(sameUser(hex, hex.toUpperCase())).toBe(true);
    expect(sameUser(oid, new Types.ObjectId(hex))).toBe(true);
    expect(sameUser(oid, "65a1b2c3d4e5f60718293a4c")).toBe(false);
    expect(sameUser("user-42", "user-42")).toBe(true);
    expect(sameUser("user-42", "User-42")).toBe(false);
    for (const nothing of [undefined, null, "", 42, {}]) {
      expect(sameUser(nothing, nothing)).toBe(false);
      expect(sameUser(oid, nothing)).toBe(false);
    }
  });

  it("queries every stored form of a sub", () => {
    expect(userIdFilter("user-42")).toEqual({ $in: ["user-42"] });
    expect(userIdFilter(hex)).toEqual({ $in: [hex, new Types.ObjectId(hex)] });
    expect(userIdFilter(hex.toUpperCase())).toEqual({ $in: [hex.toUpperCase(), hex, new Types.ObjectId(hex)] });
  });
});

describe("clients.userId on the MongoDB-protocol server", () => {
  const services = testServices("userid");
  let db: Database;
  beforeAll(async () => {
    db = await Database.connect(services.mongoUrl);
    await db.clients.syncIndexes();
  });
  afterAll(async () => {
    await db.connection.dropDatabase();
    await db.close();
  });

  let seq = 0;
  const fields = () => ({
    companyName: "Acme",
    phoneNumberId: `77${++seq}${Date.now()}`,
    wabaId: "w",
    whatsappNumber: "212600000000",
    status: "active" as const,
  });

  it("keeps an ObjectId userId as an ObjectId through the model, finds both forms, answers the hex", async () => {
    const asObjectId = await db.clients.create({ ...fields(), userId: userIdValue(hex) });
    await db.connection.db!.collection("clients").insertOne({ _id: new Types.ObjectId(), ...fields(), userId: hex });
    await db.clients.create({ ...fields(), userId: "user-42" });

    const raw = await db.connection.db!.collection("clients").findOne({ _id: asObjectId._id });
    expect(raw!.userId).toBeInstanceOf(Types.ObjectId);

    const found = await db.clients.find({ userId: userIdFilter(hex) }).lean<ClientDoc[]>();
    expect(found).toHaveLength(2);
    expect(found.every((c) => sameUser(c.userId, hex))).toBe(true);
    expect(found.map((c) => clientJson(c).userId)).toEqual([hex, hex]);
    expect(await db.clients.countDocuments({ userId: userIdFilter("user-42") })).toBe(1);
    expect(await db.clients.countDocuments({ userId: userIdFilter("65a1b2c3d4e5f60718293a4c") })).toBe(0);

    const indexes = await db.connection.db!.collection("clients").indexes();
    expect(indexes.some((i) => JSON.stringify(i.key) === JSON.stringify({ userId: 1 }))).toBe(true);
  });

  it("refuses an empty or non-id userId", async () => {
    await expect(db.clients.create({ ...fields(), userId: "" })).rejects.toThrow(/userId/);
    await expect(db.clients.create({ ...fields(), userId: 42 as unknown as string })).rejects.toThrow(/userId/);
  });

  it("reads the platform's tokenExpiry where tokenExpiresAt is absent or null", async () => {
    const expiry = new Date("2030-01-01T00:00:00Z");
    const _id = new Types.ObjectId();
    await db.connection
      .db!.collection("clients")
      .insertOne({ _id, ...fields(), userId: new Types.ObjectId(), tokenExpiry: expiry });
    const doc = (await db.clients.findById(_id).lean<ClientDoc>())!;
    expect(tokenExpiryOf(doc)).toEqual(expiry);
    expect(clientJson(doc).tokenExpiresAt).toBe(expiry.toISOString());
    // A hydrated document keeps it (the schema declares it).
    expect((await db.clients.findById(_id))!.tokenExpiry).toEqual(expiry);
    expect(tokenExpiryOf({ tokenExpiresAt: new Date("2031-01-01T00:00:00Z"), tokenExpiry: expiry })).toEqual(
      new Date("2031-01-01T00:00:00Z"),
    );
    expect(tokenExpiryOf({ tokenExpiresAt: null, tokenExpiry: null })).toBeNull();
  });
});
