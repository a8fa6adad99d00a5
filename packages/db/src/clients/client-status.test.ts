import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Types } from "mongoose";
import { isFerretDb, testServices } from "@linkojob/testing";
import { Database } from "../database.js";
import { applyClientTransition, type ClientTransition } from "./client-status.js";

/**
 * The one write of the client lifecycle, with transitions written out here (the lifecycle's own
 * live in @linkojob/outbound and are tested there): what `changed` and `previousStatus` report.
 */

const services = testServices("clientstatusdb");
let db: Database;
let onFerretDb = false;
let seq = 0;

async function client(fields: Record<string, unknown> = {}) {
  seq++;
  const doc = await db.clients.create({
    userId: `user-${seq}`,
    companyName: `Company ${seq}`,
    phoneNumberId: `20${seq}${Date.now()}`,
    wabaId: "waba-1",
    whatsappNumber: `21270000${String(seq).padStart(4, "0")}`,
    status: "active",
    ...fields,
  });
  return doc._id;
}

const hold = (reason: string, at = new Date()): ClientTransition => ({
  guard: { status: { $in: ["active", "pending"] } },
  target: { status: "reauth_required", reason, detail: `held: ${reason}` },
  set: { reauthRequiredAt: at },
  at,
});

const disconnect = (at = new Date()): ClientTransition => ({
  guard: { status: { $ne: "disconnected" } },
  target: { status: "disconnected", reason: "USER_DISCONNECTED", detail: null },
  set: { disconnectedAt: at, accessToken: null },
  at,
});

beforeAll(async () => {
  db = await Database.connect(services.mongoUrl);
  onFerretDb = await isFerretDb(db.connection);
});
afterAll(async () => {
  await db.connection.dropDatabase();
  await db.close();
});
beforeEach(async () => {
  await db.clients.deleteMany({});
});

describe("applyClientTransition", () => {
  it("writes the transition when the guard matches: changed, from the status the write found", async () => {
    const id = await client();
    const at = new Date("2030-01-02T03:04:05Z");
    const change = await applyClientTransition(db, id, hold("SPAM_RATE_LIMITED", at));
    expect(change).toEqual({
      clientId: id.toHexString(),
      userId: expect.stringMatching(/^user-/),
      phoneNumberId: expect.any(String),
      wabaId: "waba-1",
      status: "reauth_required",
      previousStatus: "active",
      reason: "SPAM_RATE_LIMITED",
      detail: "held: SPAM_RATE_LIMITED",
      at,
      changed: true,
    });
    const doc = (await db.clients.findById(id).lean())!;
    expect(doc).toMatchObject({
      status: "reauth_required",
      statusReason: "SPAM_RATE_LIMITED",
      statusDetail: "held: SPAM_RATE_LIMITED",
      statusChangedAt: at,
      reauthRequiredAt: at,
    });
  });

  it("writes nothing when the guard does not match, and reports the client as it is", async () => {
    const id = await client();
    await applyClientTransition(db, id, hold("PAYMENT_PROBLEM"));
    const before = (await db.clients.findById(id).lean())!;
    const again = await applyClientTransition(db, id, hold("ACCOUNT_LOCKED"));
    expect(again).toMatchObject({
      clientId: id.toHexString(),
      status: "reauth_required",
      previousStatus: "reauth_required",
      // The stored reason and detail, not the refused transition's.
      reason: "PAYMENT_PROBLEM",
      detail: "held: PAYMENT_PROBLEM",
      changed: false,
    });
    expect((await db.clients.findById(id).lean())!).toEqual(before);
  });

  it("a guard that keeps the client in its status still writes, and reports a change from that status", async () => {
    // None of the lifecycle's transitions does this (each guard leaves its target out); a matching
    // guard always writes the status time, so it is a change, as sameStatusChange announces one.
    const id = await client({ statusReason: null });
    const at = new Date("2030-02-01T00:00:00Z");
    const stay: ClientTransition = {
      guard: {},
      target: { status: "active", reason: "QUALITY_RESTORED", detail: null },
      set: {},
      at,
    };
    expect(await applyClientTransition(db, id, stay)).toMatchObject({
      status: "active",
      previousStatus: "active",
      reason: "QUALITY_RESTORED",
      changed: true,
    });
    expect((await db.clients.findById(id).lean())!).toMatchObject({
      statusReason: "QUALITY_RESTORED",
      statusChangedAt: at,
    });
  });

  it("runs transitions one after the other in order: each sees what the previous one left", async () => {
    const id = await client({ accessToken: { keyId: "k1", iv: "aXY=", tag: "dGFn", data: "ZGF0YQ==" } });
    const held = await applyClientTransition(db, id, hold("TOKEN_INVALID"));
    const gone = await applyClientTransition(db, id, disconnect());
    const late = await applyClientTransition(db, id, hold("TOKEN_INVALID"));
    expect([held, gone, late].map((c) => [c?.previousStatus, c?.status, c?.changed])).toEqual([
      ["active", "reauth_required", true],
      ["reauth_required", "disconnected", true],
      ["disconnected", "disconnected", false],
    ]);
    expect((await db.clients.findById(id).lean())!).toMatchObject({ status: "disconnected", accessToken: null });
  });

  it("returns null for a client that does not exist", async () => {
    expect(await applyClientTransition(db, new Types.ObjectId(), hold("TOKEN_INVALID"))).toBeNull();
    expect(await applyClientTransition(db, "0123456789abcdef01234567", disconnect())).toBeNull();
  });

  /** 4 holds, a disconnect, 4 holds, all at once, through `dbs` in turn; the changes reported. */
  async function race(dbs: Database[], id: Types.ObjectId) {
    const ts = [
      ...Array.from({ length: 4 }, () => hold("TOKEN_INVALID")),
      disconnect(),
      ...Array.from({ length: 4 }, () => hold("TOKEN_INVALID")),
    ];
    const results = await Promise.all(ts.map((t, i) => applyClientTransition(dbs[i % dbs.length]!, id, t)));
    return results.filter((r) => r?.changed);
  }

  function expectExact(changes: Awaited<ReturnType<typeof race>>) {
    const disconnects = changes.filter((c) => c!.status === "disconnected");
    const holds = changes.filter((c) => c!.status === "reauth_required");
    // At most one hold, before the disconnect; the disconnect moved from what it left.
    expect(disconnects).toHaveLength(1);
    expect(holds.length).toBeLessThanOrEqual(1);
    expect(holds.map((c) => c!.previousStatus)).toEqual(holds.length ? ["active"] : []);
    expect(disconnects[0]!.previousStatus).toBe(holds.length ? "reauth_required" : "active");
  }

  it("concurrent transitions of one client in one process: each change reported once, from the status the one before left", async () => {
    // Exact on both servers: MongoDB's findAndModify is atomic; on FerretDB the adapter runs one
    // transition of a client at a time per connection (oneWriterPerDocument).
    for (let round = 0; round < 5; round++) {
      const id = await client({ accessToken: { keyId: "k1", iv: "aXY=", tag: "dGFn", data: "ZGF0YQ==" } });
      expectExact(await race([db], id));
      expect((await db.clients.findById(id).lean())!).toMatchObject({ status: "disconnected", accessToken: null });
    }
  });

  it("concurrent transitions of one client from two processes (two connections)", async () => {
    const other = await Database.connect(services.mongoUrl);
    try {
      const id = await client({ accessToken: { keyId: "k1", iv: "aXY=", tag: "dGFn", data: "ZGF0YQ==" } });
      const changes = await race([db, other], id);
      // The disconnect's guard matches every status it can find (none is disconnected before it).
      expect(changes.filter((c) => c!.status === "disconnected")).toHaveLength(1);
      if (onFerretDb) {
        // FerretDB v1's findAndModify reads the document, tests the filter and writes the whole
        // document back, without isolation from other connections: several holds can find `active`
        // and report a change, and a hold that read the client before the disconnect can write its
        // stale copy after it. MongoDB does neither; across processes only the disconnect is certain.
        return;
      }
      expectExact(changes);
      expect((await db.clients.findById(id).lean())!).toMatchObject({ status: "disconnected", accessToken: null });
    } finally {
      await other.close();
    }
  });
});
