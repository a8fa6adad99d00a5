import { createHmac } from "node:crypto";
import { Types } from "mongoose";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "@linkojob/db";
import { createRedis } from "@linkojob/queues";
import { testServices, TEST_SECRETS } from "@linkojob/testing";
import { CommandCounter } from "@linkojob/testing/services";
import { SendState } from "../send-state.js";
import { HASHED_KEY_PREFIX, hashedKeyOf, type IdentifierHash } from "./hashed-identity.js";
import { OptOutErasure } from "./opt-out-erasure.js";
import { OptOutRegister, type InboundForOptOut } from "./opt-out-register.js";

// What an erasure keeps of a candidate's opt-out, on real parts: its own database and key prefix.
// The keyed hash is HMAC-SHA256 under the test key, as @linkojob/privacy's IdentifierHasher computes it.
const key = Buffer.from(TEST_SECRETS.personalDataHashKey, "hex");
const hasher: IdentifierHash = {
  identifier: (kind, value) => createHmac("sha256", key).update(`${kind}:${value}`).digest("hex"),
};

let db: Database;
let redis: Redis;
let prefix: string;
let state: SendState;
let register: OptOutRegister;
let erasure: OptOutErasure;
let counter: CommandCounter;
const clientId = new Types.ObjectId();
const at = (s: number) => new Date(Date.UTC(2026, 11, 7, 9, 0, s));
let seq = 0;
const phone = () => `2126${String(30_000_000 + ++seq * 7_919).slice(-8)}`;

const message = (over: Partial<InboundForOptOut> & { text: string | null }): InboundForOptOut => ({
  clientId,
  wamid: `wamid.HBgM${new Types.ObjectId().toHexString()}`,
  type: "text",
  timestamp: at(0),
  ...over,
});

beforeAll(async () => {
  const services = testServices("optout-erasure");
  prefix = services.prefix;
  db = await Database.connect(services.mongoUrl, { monitorCommands: true });
  redis = createRedis(services.redisUrl);
  state = new SendState({ redis, prefix, db, hasher });
  await state.rebuild();
  register = new OptOutRegister({ db, state: state.optOuts });
  erasure = new OptOutErasure({ db, state: state.optOuts });
  counter = new CommandCounter(db.connection);
});
afterAll(async () => {
  counter?.stop();
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
  await redis?.quit();
});

/** Where any of these strings is still stored: the register's collections and the deployment's Redis keys. */
async function traces(needles: string[]): Promise<string[]> {
  const hits: string[] = [];
  for (const name of ["opt_outs", "opt_out_changes"])
    for (const doc of await db.connection.db!.collection(name).find({}).toArray())
      for (const n of needles) if (JSON.stringify(doc).includes(n)) hits.push(`${name}: ${n}`);
  for (const k of await redis.keys(`${prefix}:*`)) {
    const v = (await redis.type(k)) === "string" ? await redis.get(k) : "";
    for (const n of needles) if (`${k} ${v}`.includes(n)) hits.push(`redis ${k}: ${n}`);
  }
  return hits;
}

describe("an erased candidate's opt-out", () => {
  it("is kept as keyed hashes only, still refuses a send from Redis alone, and survives a rebuild", async () => {
    const [oldPhone, newPhone, userId] = [phone(), phone(), `MA.Era${Date.now()}`];
    const stop = message({ waId: oldPhone, userId, text: "STOP", timestamp: at(1) });
    await register.fromInbound([stop]);
    const change = message({
      waId: oldPhone,
      userId,
      type: "system",
      text: null,
      timestamp: at(2),
      identityChange: { kind: "phone", from: oldPhone, to: newPhone },
    });
    await register.fromInbound([change]);
    // Someone else's opt-out in the same tenant stays as it is.
    const other = phone();
    await register.fromInbound([message({ waId: other, text: "STOP", timestamp: at(3) })]);
    const needles = [oldPhone, newPhone, userId, stop.wamid, change.wamid];
    expect((await traces(needles)).length).toBeGreaterThan(0);

    const person = { clientIds: [clientId], phones: [newPhone], userIds: [userId], formerPhones: [oldPhone] };
    expect(await erasure.keep(person, hasher)).toBe(3);
    expect(await traces(needles)).toEqual([]);
    const kept = await db.optOuts.find({ clientId, key: { $regex: `^${HASHED_KEY_PREFIX}` } }).lean();
    expect(kept.map((d) => d.keyType).sort()).toEqual(["phone_hash", "phone_hash", "user_id_hash"]);
    expect(kept.every((d) => d.all?.active && d.all.source === "candidate_message")).toBe(true);
    const trail = await db.optOutChanges.find({ clientId, keys: hashedKeyOf(hasher, newPhone) }).lean();
    expect(trail.map((c) => [c.action, c.source, c.wamid, c.reason])).toEqual([
      ["opt_out", "identity_change", null, null],
    ]);
    expect(await db.optOuts.exists({ clientId, key: other })).toBeTruthy();

    // The send API's one read of a candidate (window and opt-out, one MGET) and the worker's check: refused, no MongoDB.
    counter.reset();
    for (const p of [newPhone, oldPhone])
      expect(await state.candidate(clientId.toHexString(), p, [p])).toMatchObject({ optOut: { scope: "all" } });
    expect(
      await register.refusalFor(clientId.toHexString(), { candidateUserId: userId }, { kind: "text" }),
    ).toMatchObject({ code: "CANDIDATE_OPTED_OUT", scope: "all" });
    expect(counter.total).toBe(0);
    // Another tenant: nothing.
    expect(await state.optOuts.read(new Types.ObjectId().toHexString(), [newPhone])).toBeNull();

    // A retried erasure changes nothing.
    expect(await erasure.keep(person, hasher)).toBe(0);
    expect(await db.optOuts.countDocuments({ clientId, key: { $regex: `^${HASHED_KEY_PREFIX}` } })).toBe(3);

    // Redis came back empty: the rebuild (cli:rebuild-send-state) restores the hashed copies.
    const hashedKeys = await redis.keys(`${prefix}:send-state:opt-out:*:${HASHED_KEY_PREFIX}*`);
    expect(hashedKeys).toHaveLength(3);
    await redis.del(state.builtKey, ...hashedKeys);
    await state.rebuild();
    counter.reset();
    expect(await state.optOuts.read(clientId.toHexString(), [newPhone])).toMatchObject({ scope: "all" });
    expect(counter.total).toBe(0);
    expect(await traces(needles)).toEqual([]);
  });

  it("is restored in clear when the candidate writes START, which lifts it; a lifted opt-out leaves no hash", async () => {
    const p = phone();
    await register.fromInbound([message({ waId: p, text: "STOP", timestamp: at(1) })]);
    await erasure.keep({ clientIds: [clientId], phones: [p], userIds: [] }, hasher);
    expect(await state.optOuts.read(clientId.toHexString(), [p])).toMatchObject({ scope: "all" });
    // A recruiter cannot lift the candidate's own STOP, hashed or not.
    await expect(
      register.change({
        clientId,
        candidate: { phones: [p], userIds: [] },
        action: "resume",
        scope: "all",
        source: "recruiter",
        at: new Date(),
        dedupeKey: `api:${p}`,
      }),
    ).rejects.toMatchObject({ code: "CANDIDATE_OWN_OPT_OUT" });
    await register.fromInbound([message({ waId: p, text: "START", timestamp: at(5) })]);
    expect(await state.optOuts.read(clientId.toHexString(), [p])).toBeNull();
    expect(await db.optOuts.exists({ clientId, key: hashedKeyOf(hasher, p) })).toBeNull();

    // Erased again with the opt-out lifted: nothing to refuse, nothing kept, nothing in clear.
    expect(await erasure.keep({ clientIds: [clientId], phones: [p], userIds: [] }, hasher)).toBe(0);
    expect(await db.optOuts.countDocuments({ clientId, key: { $in: [p, hashedKeyOf(hasher, p)] } })).toBe(0);
    expect(await traces([p])).toEqual([]);
  });
});
