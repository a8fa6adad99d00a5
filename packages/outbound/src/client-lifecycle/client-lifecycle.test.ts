import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { testServices } from "@linkojob/testing";
import { Database, type ClientDoc } from "@linkojob/db";
import { applyAccountUpdate } from "./account-update.js";
import {
  markClientActive,
  markClientDisconnected,
  markClientReauthRequired,
  sweepTokenExpiry,
} from "./client-lifecycle.js";

const services = testServices("clientstatus");
let db: Database;
const secret = { keyId: "k1", iv: "aXY=", tag: "dGFn", data: "ZGF0YQ==" };
let seq = 0;

async function client(fields: Partial<ClientDoc> = {}) {
  seq++;
  const doc = await db.clients.create({
    userId: `user-${seq}`,
    companyName: `Company ${seq}`,
    phoneNumberId: `10${seq}${Date.now()}`,
    wabaId: "waba-1",
    whatsappNumber: `21260000${String(seq).padStart(4, "0")}`,
    status: "active",
    accessToken: secret,
    ...fields,
  });
  return doc._id.toHexString();
}

const statusOf = async (id: string) => (await db.clients.findById(id).lean())!;

beforeAll(async () => {
  db = await Database.connect(services.mongoUrl);
});
afterAll(async () => {
  await db.connection.dropDatabase();
  await db.close();
});
beforeEach(async () => {
  await db.clients.deleteMany({});
});

describe("client status transitions", () => {
  it("marks reauth_required once: the second call reports no change", async () => {
    const id = await client();
    const first = await markClientReauthRequired(db, id, "TOKEN_INVALID", { detail: "Session has expired" });
    expect(first).toMatchObject({
      changed: true,
      status: "reauth_required",
      previousStatus: "active",
      reason: "TOKEN_INVALID",
    });
    const again = await markClientReauthRequired(db, id, "TOKEN_INVALID");
    expect(again).toMatchObject({ changed: false, status: "reauth_required" });
    const doc = await statusOf(id);
    expect(doc.status).toBe("reauth_required");
    expect(doc.reauthRequiredAt).toBeInstanceOf(Date);
    expect(doc.statusDetail).toBe("Session has expired");
    expect(doc.accessToken).toBeTruthy(); // kept: reconnecting replaces it
    expect(first).toMatchObject({ clientId: id, status: "reauth_required", previousStatus: "active", changed: true });
  });

  it("announces one change when sends of one process mark the same client concurrently", async () => {
    const id = await client();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => markClientReauthRequired(db, id, "TOKEN_INVALID")),
    );
    const changes = results.filter((r) => r?.changed);
    expect((await statusOf(id)).status).toBe("reauth_required");
    for (const c of changes) expect(c).toMatchObject({ status: "reauth_required", previousStatus: "active" });
    // The conditional write is atomic on MongoDB (and one at a time per process on the FerretDB
    // stand-in): the first moves the client, the others find it moved.
    expect(changes).toHaveLength(1);
  });

  it("keeps a disconnected client disconnected when a late 190 arrives", async () => {
    const id = await client();
    const d = await markClientDisconnected(db, id, "USER_DISCONNECTED");
    expect(d).toMatchObject({ changed: true, status: "disconnected" });
    const doc = await statusOf(id);
    expect(doc.accessToken).toBeNull();
    expect(doc.disconnectedAt).toBeInstanceOf(Date);
    expect(await markClientReauthRequired(db, id, "TOKEN_INVALID")).toMatchObject({
      changed: false,
      status: "disconnected",
    });
    expect(await markClientActive(db, id, "ACCOUNT_RECONNECTED")).toMatchObject({
      changed: false,
      status: "disconnected",
    });
  });

  it("does not reactivate a client whose token is invalid without a new token", async () => {
    const id = await client();
    await markClientReauthRequired(db, id, "TOKEN_INVALID");
    expect(await markClientActive(db, id, "ACCOUNT_RECONNECTED")).toMatchObject({
      changed: false,
      status: "reauth_required",
    });
  });

  it("returns null for a client that does not exist", async () => {
    expect(await markClientReauthRequired(db, "0123456789abcdef01234567", "TOKEN_INVALID")).toBeNull();
  });
});

describe("applyAccountUpdate", () => {
  it.each(["PARTNER_REMOVED", "PARTNER_APP_UNINSTALLED", "ACCOUNT_DELETED"])(
    "%s disconnects every client of the WABA and wipes tokens",
    async (event) => {
      const a = await client({ wabaId: "waba-x" });
      const b = await client({ wabaId: "waba-x", status: "reauth_required", statusReason: "TOKEN_INVALID" });
      const other = await client({ wabaId: "waba-y" });
      const res = await applyAccountUpdate(db, "waba-x", { event });
      expect(res.action).toBe("disconnected");
      expect(res.changes.map((c) => c.clientId).sort()).toEqual([a, b].sort());
      for (const id of [a, b]) expect((await statusOf(id)).accessToken).toBeNull();
      expect((await statusOf(other)).status).toBe("active");
      // Redelivered: nothing more to announce.
      expect((await applyAccountUpdate(db, "waba-x", { event })).changes).toEqual([]);
    },
  );

  it("uses waba_info.waba_id of partner events over the entry id", async () => {
    const a = await client({ wabaId: "waba-customer" });
    const res = await applyAccountUpdate(db, "partner-business-id", {
      event: "PARTNER_REMOVED",
      waba_info: { waba_id: "waba-customer" },
    });
    expect(res.changes.map((c) => c.clientId)).toEqual([a]);
  });

  it("holds sends on ACCOUNT_OFFBOARDED for the named number only, and ACCOUNT_RECONNECTED restores it", async () => {
    const a = await client({ wabaId: "waba-o", whatsappNumber: "212611111111" });
    const b = await client({ wabaId: "waba-o", whatsappNumber: "212622222222" });
    const off = await applyAccountUpdate(db, "waba-o", {
      event: "ACCOUNT_OFFBOARDED",
      phone_number: "+212 611-111111",
    });
    expect(off.changes.map((c) => c.clientId)).toEqual([a]);
    expect((await statusOf(a)).status).toBe("reauth_required");
    expect((await statusOf(b)).status).toBe("active");
    const back = await applyAccountUpdate(db, "waba-o", { event: "ACCOUNT_RECONNECTED", phone_number: "212611111111" });
    expect(back.changes).toMatchObject([
      { clientId: a, status: "active", previousStatus: "reauth_required", reason: "ACCOUNT_RECONNECTED" },
    ]);
  });

  it("DISABLED_UPDATE: DISABLE holds, SCHEDULE_FOR_DISABLE only warns, REINSTATE lifts", async () => {
    const a = await client({ wabaId: "waba-d" });
    expect(
      (
        await applyAccountUpdate(db, "waba-d", {
          event: "DISABLED_UPDATE",
          ban_info: { waba_ban_state: "SCHEDULE_FOR_DISABLE" },
        })
      ).changes,
    ).toEqual([]);
    const dis = await applyAccountUpdate(db, "waba-d", {
      event: "DISABLED_UPDATE",
      ban_info: { waba_ban_state: "DISABLE", waba_ban_date: "2025-01-01" },
    });
    expect(dis.changes).toMatchObject([{ clientId: a, status: "reauth_required", reason: "DISABLED_UPDATE" }]);
    const re = await applyAccountUpdate(db, "waba-d", {
      event: "DISABLED_UPDATE",
      ban_info: { waba_ban_state: "REINSTATE" },
    });
    expect(re.changes).toMatchObject([{ clientId: a, status: "active" }]);
  });

  it("ACCOUNT_RESTRICTION holds sends with the restrictions as detail; an empty list lifts it", async () => {
    const a = await client({ wabaId: "waba-r" });
    const r = await applyAccountUpdate(db, "waba-r", {
      event: "ACCOUNT_RESTRICTION",
      restriction_info: [{ restriction_type: "RESTRICTED_BIZ_INITIATED_MESSAGING", expiration: 1735689600 }],
    });
    expect(r.changes[0]).toMatchObject({ clientId: a, status: "reauth_required", reason: "ACCOUNT_RESTRICTION" });
    expect(r.changes[0]!.detail).toContain("RESTRICTED_BIZ_INITIATED_MESSAGING");
    const lifted = await applyAccountUpdate(db, "waba-r", { event: "ACCOUNT_RESTRICTION", restriction_info: [] });
    expect(lifted.changes).toMatchObject([{ clientId: a, status: "active" }]);
  });

  it("ignores events that do not affect the connection, and invalid values", async () => {
    await client({ wabaId: "waba-i" });
    expect(
      await applyAccountUpdate(db, "waba-i", {
        event: "ACCOUNT_VIOLATION",
        violation_info: { violation_type: "SCAM" },
      }),
    ).toMatchObject({
      action: "none",
      changes: [],
    });
    expect(await applyAccountUpdate(db, "waba-i", { nope: true })).toEqual({
      event: null,
      action: "none",
      changes: [],
    });
  });
});

describe("sweepTokenExpiry", () => {
  it("marks expired tokens reauth_required and warns once about tokens expiring soon", async () => {
    const now = new Date("2030-01-10T00:00:00Z");
    const expired = await client({ tokenExpiresAt: new Date("2030-01-09T00:00:00Z") });
    const soon = await client({ tokenExpiresAt: new Date("2030-01-12T00:00:00Z") });
    const later = await client({ tokenExpiresAt: new Date("2030-03-01T00:00:00Z") });
    const never = await client({ tokenExpiresAt: null });
    const first = await sweepTokenExpiry(db, { now, warnWithinMs: 7 * 86_400_000 });
    expect(first.expired.map((c) => c.clientId)).toEqual([expired]);
    expect(first.expired[0]).toMatchObject({ status: "reauth_required", reason: "TOKEN_EXPIRED" });
    expect(first.warnings.map((w) => w.clientId)).toEqual([soon]);
    const second = await sweepTokenExpiry(db, { now, warnWithinMs: 7 * 86_400_000 });
    expect(second).toEqual({ expired: [], warnings: [] });
    for (const id of [later, never]) expect((await statusOf(id)).status).toBe("active");
  });
});
