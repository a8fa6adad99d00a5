import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Types } from "mongoose";
import { testServices } from "@linkojob/testing";
import { Database } from "@linkojob/db";
import { sweepTokenExpiry } from "./client-lifecycle.js";

/** The expiry sweep on documents that hold the platform's `tokenExpiry` (written by the platform or the proof of concept). */
describe("token-expiry sweep and the platform's tokenExpiry", () => {
  const services = testServices("tokexpiry");
  let db: Database;
  beforeAll(async () => {
    db = await Database.connect(services.mongoUrl);
  });
  afterAll(async () => {
    await db.connection.dropDatabase();
    await db.close();
  });

  const now = new Date("2030-01-10T00:00:00Z");
  const day = 86_400_000;
  let seq = 0;
  async function rawClient(fields: Record<string, unknown>) {
    const _id = new Types.ObjectId();
    await db.connection.db!.collection("clients").insertOne({
      _id,
      userId: new Types.ObjectId(),
      companyName: "Acme",
      phoneNumberId: `88${++seq}${Date.now()}`,
      whatsappNumber: "+212600111222",
      accessToken: "00:00:00",
      status: "active",
      ...fields,
    });
    return _id.toHexString();
  }

  it("uses tokenExpiry where tokenExpiresAt is absent or null, and tokenExpiresAt where it is set", async () => {
    const platformExpired = await rawClient({ tokenExpiry: new Date(now.getTime() - day) });
    const nullExpired = await rawClient({ tokenExpiresAt: null, tokenExpiry: new Date(now.getTime() - day) });
    const platformSoon = await rawClient({ tokenExpiry: new Date(now.getTime() + 2 * day) });
    const ours = await rawClient({
      tokenExpiresAt: new Date(now.getTime() + 30 * day),
      tokenExpiry: new Date(now.getTime() - day),
    });
    const never = await rawClient({ tokenExpiry: null });

    const sweep = await sweepTokenExpiry(db, { now });
    expect(sweep.expired.map((c) => c.clientId).sort()).toEqual([platformExpired, nullExpired].sort());
    expect(sweep.expired.every((c) => typeof c.userId === "string" && /^[0-9a-f]{24}$/.test(c.userId))).toBe(true);
    expect(sweep.warnings.map((w) => [w.clientId, w.tokenExpiresAt.toISOString()])).toEqual([
      [platformSoon, new Date(now.getTime() + 2 * day).toISOString()],
    ]);

    const statusOf = async (id: string) =>
      (await db.connection.db!.collection("clients").findOne({ _id: new Types.ObjectId(id) }))!.status;
    expect(await statusOf(platformExpired)).toBe("reauth_required");
    expect(await statusOf(ours)).toBe("active");
    expect(await statusOf(never)).toBe("active");
    // Once: nothing new on a second pass.
    expect(await sweepTokenExpiry(db, { now })).toEqual({ expired: [], warnings: [] });
  });
});
