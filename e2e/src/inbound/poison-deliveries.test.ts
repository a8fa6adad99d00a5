import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClientDoc } from "@linkojob/db";
import {
  change,
  contact,
  delivery,
  entry,
  freshWamid,
  message,
  messagesValue,
  nestedArrays,
  status,
  withOwnKeys,
} from "@linkojob/whatsapp/testing/fixtures";
import { startTrunk, type Trunk } from "../harness/trunk.harness.js";
import { postSigned } from "../harness/signed-post.harness.js";

// The three ways a delivery used to poison the pipeline, end to end (signed HTTP → ingress → Redis → pump → BullMQ → worker →
// FerretDB): each bad part next to a valid message; the valid one stored exactly once, the bad part
// recorded, and no job failed or retried.

let t: Trunk;
let client: ClientDoc;
const handled: string[] = [];

beforeAll(async () => {
  t = await startTrunk({
    label: "poison",
    worker: {
      accountHandlers: {
        custom_field: (e) => {
          handled.push(e.field);
          return Promise.resolve();
        },
      },
    },
  });
  client = await t.createClient();
});
afterAll(async () => t?.close());

const value = (parts: Parameters<typeof messagesValue>[0]) =>
  messagesValue({ phoneNumberId: client.phoneNumberId, contacts: [contact()], ...parts });
const valid = (body = "valide") => message("text", { body }, { wamid: freshWamid("V") });

async function deliver(payload: unknown) {
  const res = await postSigned(t.ingressUrl, payload);
  expect(res.status, res.body).toBe(200);
  await t.drain();
}

async function storedOnce(wamid: string) {
  const found = await t.db.messages.find({ clientId: client._id, wamid }).lean();
  expect(found, wamid).toHaveLength(1);
  return found[0]!;
}

async function nothingFailed() {
  expect(await t.worker.queue.getJobCounts("failed", "delayed")).toEqual({ failed: 0, delayed: 0 });
  const completed = await t.worker.queue.getCompleted(0, 1000);
  for (const job of completed) expect(job.attemptsMade, job.id).toBeLessThanOrEqual(1);
  expect(await t.db.webhookEvents.countDocuments({ kind: "dead_letter" })).toBe(0);
}

describe("cause 1: lookups by payload strings", () => {
  it("a message typed __proto__ is stored as unsupported next to a valid one", async () => {
    const good = valid("à côté de __proto__");
    const bad = withOwnKeys([
      ["from", "212612345678"],
      ["id", freshWamid("P")],
      ["timestamp", String(Math.floor(Date.now() / 1000))],
      ["type", "__proto__"],
      ["__proto__", { body: "x" }],
    ]);
    const ctor = message("constructor", { body: "y" }, { wamid: freshWamid("C") });
    await deliver(delivery([entry([change(value({ messages: [bad, ctor, good] }))], client.wabaId)]));

    expect((await storedOnce(good.id as string)).text).toBe("à côté de __proto__");
    const proto = await storedOnce(bad.id as string);
    expect(proto).toMatchObject({ type: "unsupported", originalType: "__proto__" });
    expect(await storedOnce(ctor.id as string)).toMatchObject({ type: "unsupported", originalType: "constructor" });
    await nothingFailed();
  });

  it("fields named __proto__ / constructor reach no handler; a status named constructor, toString or __proto__ moves nothing", async () => {
    const good = valid();
    await deliver(delivery([entry([change(value({ messages: [good] }))], client.wabaId)]));
    const payload = delivery([
      entry(
        [
          change({ any: 1 }, "__proto__"),
          change({ any: 2 }, "constructor"),
          change({ any: 3 }, "custom_field"),
          change(
            value({
              statuses: [
                status(good.id as string, "constructor"),
                status(good.id as string, "toString"),
                status(good.id as string, "__proto__"),
              ],
            }),
          ),
        ],
        client.wabaId,
      ),
    ]);
    await deliver(payload);

    const accountEvents = await t.db.webhookEvents.find({ kind: "account", wabaId: client.wabaId }).lean();
    expect(accountEvents.map((e) => e.field).sort()).toEqual(["__proto__", "constructor", "custom_field"].sort());
    // Only the own handler ran (and is marked done); the prototype-named fields resolved nothing.
    expect(handled).toEqual(["custom_field"]);
    expect(accountEvents.filter((e) => e.handledAt).map((e) => e.field)).toEqual(["custom_field"]);
    const stored = await storedOnce(good.id as string);
    expect(stored.status).toBe("received");
    expect(typeof stored.statusRank).toBe("number");
    // Their report times are kept under own keys (`__proto__` is renamed, never a prototype).
    expect(Object.keys(stored.statusAt ?? {}).sort()).toEqual(["constructor", "tostring", "x__proto__"]);
    expect(Object.getPrototypeOf(stored.statusAt)).toBe(Object.prototype);
    await nothingFailed();
  });
});

describe("cause 2: one bad element never hides its neighbours", () => {
  it("a null entry, a numeric entry id, changes: null and an empty field are recorded; the valid message is stored", async () => {
    const good = valid("survivor");
    const before = await t.db.webhookEvents.countDocuments({ kind: "malformed" });
    const payload = delivery([
      null,
      entry([change(value({ messages: [valid()] }))], 102290129340398),
      entry(null, client.wabaId),
      entry([change(value({ messages: [good] })), change({ x: 1 }, "")], client.wabaId),
    ]);
    await deliver(payload);

    await storedOnce(good.id as string);
    const malformed = await t.db.webhookEvents.find({ kind: "malformed" }).sort({ createdAt: -1 }).limit(10).lean();
    expect((await t.db.webhookEvents.countDocuments({ kind: "malformed" })) - before).toBe(4);
    expect(malformed.map((m) => m.problem).join(" | ")).toMatch(/entry/);
    await nothingFailed();
  });
});

describe("cause 3: values the database refuses", () => {
  it("$ / . / NUL keys, 20,000-deep nesting, -Infinity and a 20-digit timestamp are stored safely next to a valid message", async () => {
    const good = valid("après les poisons");
    const dollar = message(
      "text",
      { body: "keys" },
      {
        wamid: freshWamid("D"),
        extra: {
          extra: withOwnKeys([
            ["$set", 1],
            ["a.b", 2],
            ["k\u0000ey", 3],
          ]),
        },
      },
    );
    const deep = message(
      "location",
      { latitude: 1, longitude: 2, deep: nestedArrays(20_000) },
      { wamid: freshWamid("N") },
    );
    const minusInf = message("location", { latitude: -Infinity, longitude: 2 }, { wamid: freshWamid("I") });
    const huge = message("text", { body: "huge ts" }, { wamid: freshWamid("H"), ts: "99999999999999999999" });
    // The bad ones first: a refused write used to lose what came after it.
    await deliver(
      delivery([entry([change(value({ messages: [dollar, deep, minusInf, huge, good] }))], client.wabaId)]),
    );

    await storedOnce(good.id as string);
    for (const m of [dollar, deep, minusInf]) await storedOnce(m.id as string);
    const h = await storedOnce(huge.id as string);
    expect(h.timestampAdjusted).toBe("invalid");
    expect(h.originalTimestamp).toBe("99999999999999999999");
    expect(h.timestamp.getTime()).toBeLessThanOrEqual(Date.now());
    await nothingFailed();
  });

  it("a 9999999999 timestamp is clamped to the reception time: the window does not stay open until 2286", async () => {
    const who = "212699000111";
    const future = message("text", { body: "from 2286" }, { wamid: freshWamid("F"), ts: "9999999999", from: who });
    const sibling = message("text", { body: "now" }, { wamid: freshWamid("V"), from: who });
    await deliver(
      delivery([
        entry(
          [
            change(
              messagesValue({
                phoneNumberId: client.phoneNumberId,
                contacts: [contact(who)],
                messages: [future, sibling],
              }),
            ),
          ],
          client.wabaId,
        ),
      ]),
    );

    await storedOnce(sibling.id as string);
    const f = await storedOnce(future.id as string);
    expect(f).toMatchObject({ timestampAdjusted: "future", originalTimestamp: "9999999999" });
    expect(Math.abs(f.timestamp.getTime() - Date.now())).toBeLessThan(60_000);
    const conv = await t.db.conversations.findOne({ clientId: client._id, candidateKey: who }).lean();
    expect(conv!.windowExpiresAt!.getTime()).toBeLessThan(Date.now() + 24 * 3_600_000 + 60_000);
    expect(conv!.lastMessageAt!.getTime()).toBeLessThan(Date.now() + 60_000);
    await nothingFailed();
  });
});
