import { Types } from "mongoose";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "@linkojob/db";
import { createRedis } from "@linkojob/queues";
import { testServices } from "@linkojob/testing";
import { CommandCounter } from "@linkojob/testing/services";
import { MessagingBudget } from "./messaging-budget.js";
import { SendGate } from "./send-gate.js";
import { SendState } from "../send-state.js";

// The portfolio budget on the real Redis: two connections stand for two processes spending one budget.
let db: Database;
let a: Redis;
let b: Redis;
let prefix: string;
const W = 86_400_000;
/** The budget's margin at a 24-hour window (a tenth of the window, at most 5 s). */
const M = 5_000;
let seq = 0;
const portfolio = () => `waba-budget-${++seq}-${new Types.ObjectId().toHexString()}`;

beforeAll(async () => {
  const services = testServices("budget");
  prefix = services.prefix;
  db = await Database.connect(services.mongoUrl, { monitorCommands: true });
  a = createRedis(services.redisUrl);
  b = createRedis(services.redisUrl);
});
afterAll(async () => {
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
  await a?.quit();
  await b?.quit();
});

describe("MessagingBudget", () => {
  it("two processes spending one budget at once count exactly the limit now; the rest get the slots that free up, one each, 24 h after the ones counted", async () => {
    const waba = portfolio();
    const one = new MessagingBudget(a, prefix);
    const two = new MessagingBudget(b, prefix);
    const now = Date.now();
    const limit = 50;
    const slots = await Promise.all(
      Array.from({ length: 130 }, (_, i) =>
        (i % 2 ? one : two).reserve(waba, limit, `2126${String(i).padStart(8, "0")}`, now, now + (i % 7)),
      ),
    );
    const at = slots.map((s) => s.at).sort((x, y) => x - y);
    expect(slots.every((s) => s.counted)).toBe(true);
    expect(at.filter((t) => t < now + W)).toHaveLength(limit);
    expect(at.filter((t) => t < now + W + M)).toHaveLength(limit);
    const later = at.filter((t) => t >= now + W);
    expect(later).toHaveLength(80);
    // Every moving 24-hour window holds at most `limit` of them.
    for (let i = 0; i < at.length; i++)
      expect(at.filter((t) => t >= at[i]! && t < at[i]! + W).length).toBeLessThanOrEqual(limit);
    // The 51st..100th take the places of the first 50 as each leaves; the 101st..130th wait a second day.
    expect(later.slice(0, 50)).toEqual(at.slice(0, 50).map((t) => t + W + M));
    expect(later.slice(50).every((t) => t >= now + 2 * W)).toBe(true);
  });

  it("a recipient already counted in the window is free; counted again only once the window has moved past them", async () => {
    const waba = portfolio();
    const budget = new MessagingBudget(a, prefix, { windowMs: 1_000 });
    const t0 = Date.now();
    expect(await budget.reserve(waba, 1, "212600000001", t0, t0)).toMatchObject({ at: t0, counted: true });
    expect(await budget.reserve(waba, 1, "212600000001", t0 + 500, t0 + 500)).toMatchObject({
      at: t0 + 500,
      counted: false,
    });
    // Spent: another recipient waits for the first to leave the moving window.
    expect(await budget.reserve(waba, 1, "212600000002", t0 + 500, t0 + 500)).toMatchObject({
      at: t0 + 1_100, // the window and its margin (a tenth of it)
      counted: true,
    });
    // The window moved past both: counted again at once.
    expect(await budget.reserve(waba, 1, "212600000001", t0 + 2_300, t0 + 2_300)).toMatchObject({
      at: t0 + 2_300,
      counted: true,
    });
  });

  it("usage shows what is used, what waits and the next free slot; a released place frees it", async () => {
    const waba = portfolio();
    const budget = new MessagingBudget(a, prefix);
    const now = Date.now();
    await budget.reserve(waba, 2, "212600000011", now, now);
    await budget.reserve(waba, 2, "212600000012", now, now + 10);
    await budget.reserve(waba, 2, "212600000013", now, now + 20);
    const usage = await budget.usage(waba, 2, now + 30);
    expect(usage).toEqual({ limit: 2, used: 2, scheduled: 1, nextFreeAt: now + 10 + W + M });
    expect(await budget.release(waba, "212600000012", now + 30)).toBe(true);
    expect(await budget.usage(waba, 2, now + 30)).toMatchObject({ used: 1, scheduled: 1, nextFreeAt: now + W + M });
    // A later reservation (another message's) is not released by a refusal now.
    expect(await budget.release(waba, "212600000013", now + 30)).toBe(false);
  });

  it("a confirmation at send time counts the recipient when the message really goes; with no room in the window ending then, it gets the next free slot", async () => {
    const waba = portfolio();
    const budget = new MessagingBudget(a, prefix, { windowMs: 1_000 });
    const t0 = Date.now();
    // Accepted: A and B now, C once one of them leaves the window (margin 100 ms).
    await budget.reserve(waba, 2, "A", t0, t0);
    await budget.reserve(waba, 2, "B", t0, t0);
    expect((await budget.reserve(waba, 2, "C", t0, t0)).at).toBe(t0 + 1_100);
    // A really goes 300 ms later: its entry moves there (B is due, C is later: checked at its own confirmation).
    expect(await budget.reserve(waba, 2, "A", t0 + 300, t0 + 300, { confirm: true })).toMatchObject({
      at: t0 + 300,
      counted: true,
    });
    // C's time comes: A (t0 + 300) and B (t0) still fill the window ending now; it waits for B to leave, then goes.
    expect(await budget.reserve(waba, 2, "C", t0 + 1_100, t0 + 1_100, { confirm: true })).toMatchObject({
      at: t0 + 1_100,
      counted: true,
    });
    // Had B been confirmed late too, C would have waited for the first of them to leave.
    const late = portfolio();
    await budget.reserve(late, 2, "A", t0, t0);
    await budget.reserve(late, 2, "B", t0, t0);
    await budget.reserve(late, 2, "C", t0, t0);
    await budget.reserve(late, 2, "A", t0 + 200, t0 + 200, { confirm: true });
    await budget.reserve(late, 2, "B", t0 + 400, t0 + 400, { confirm: true });
    expect(await budget.reserve(late, 2, "C", t0 + 1_100, t0 + 1_100, { confirm: true })).toMatchObject({
      at: t0 + 1_300,
      counted: true,
    });
  });

  it("an unlimited portfolio (-1) counts nothing", async () => {
    const waba = portfolio();
    const budget = new MessagingBudget(a, prefix);
    const now = Date.now();
    expect(await budget.reserve(waba, -1, "212600000021", now, now)).toEqual({ at: now, counted: false });
    expect(await a.exists(budget.key(waba))).toBe(0);
  });
});

describe("SendGate", () => {
  const client = (wabaId: string, phoneNumberId = `pn-${seq}`) => ({
    _id: new Types.ObjectId(),
    wabaId,
    phoneNumberId,
  });

  it("a reply inside a window is never held, scheduled or counted; a first contact is, by the limit then by quiet hours", async () => {
    const gate = new SendGate({ redis: a, prefix, db });
    const c = client(portfolio());
    await gate.state.setPolicy(c._id.toHexString(), { quietHours: null, timeZone: "Africa/Casablanca" }, null);
    await gate.state.setLimit(c.wabaId, 1, "test");
    const now = Date.now();
    const first = { candidatePhone: "212611111111" };
    const second = { candidatePhone: "212622222222" };
    expect(
      await gate.decide({ client: c, request: first, businessInitiated: true, category: "UTILITY", now }),
    ).toMatchObject({ action: "go" });
    expect(
      await gate.decide({ client: c, request: second, businessInitiated: false, category: null, now }),
    ).toMatchObject({
      action: "go",
    });
    expect(
      await gate.decide({ client: c, request: second, businessInitiated: true, category: "UTILITY", now }),
    ).toMatchObject({
      action: "schedule",
      at: now + W + M,
      reason: "MESSAGING_LIMIT",
    });
  });

  it("quiet hours all day long in the tenant's zone schedule a first contact to their end; a limit slot in them moves after them", async () => {
    const gate = new SendGate({ redis: a, prefix, db });
    const c = client(portfolio());
    const now = Date.parse("2026-06-01T12:00:00Z");
    // 11:00–13:00 UTC: now is inside; an unknown country uses the tenant's zone.
    await gate.state.setPolicy(
      c._id.toHexString(),
      { quietHours: { start: "11:00", end: "13:00" }, timeZone: "UTC" },
      null,
    );
    const d = await gate.decide({
      client: c,
      request: { candidatePhone: "999000" },
      businessInitiated: true,
      category: "UTILITY",
      now,
    });
    expect(d).toEqual({ action: "schedule", at: Date.parse("2026-06-01T13:00:00Z"), reason: "QUIET_HOURS" });
  });

  it("a marketing first contact from a number rated RED is held; a utility one is not", async () => {
    const gate = new SendGate({ redis: a, prefix, db });
    const c = client(portfolio(), `pn-red-${seq}`);
    await gate.state.setPolicy(c._id.toHexString(), { quietHours: null, timeZone: "UTC" }, null);
    await gate.state.setQuality(c.phoneNumberId, c.wabaId, {
      rating: "RED",
      event: "DOWNGRADE",
      marketingPaused: true,
    });
    const request = { candidatePhone: "212633333333" };
    expect(await gate.decide({ client: c, request, businessInitiated: true, category: "MARKETING" })).toMatchObject({
      action: "hold",
      code: "QUALITY_PAUSED",
    });
    expect(await gate.decide({ client: c, request, businessInitiated: true, category: "UTILITY" })).toEqual({
      action: "go",
    });
    expect(await gate.decide({ client: c, request, businessInitiated: false, category: "MARKETING" })).toEqual({
      action: "go",
    });
  });
});

describe("a place given back", () => {
  const client = (wabaId: string, phoneNumberId: string) => ({ _id: new Types.ObjectId(), wabaId, phoneNumberId });
  it("a send the gate counted, then refused before it went (opted out at send time, template no longer usable), gives its place back; an earlier message's entry is put back", async () => {
    const gate = new SendGate({ redis: a, prefix, db });
    const c = client(portfolio(), `pn-back-${seq}`);
    await gate.state.setPolicy(c._id.toHexString(), { quietHours: null, timeZone: "UTC" }, null);
    await gate.state.setLimit(c.wabaId, 1, "test");
    const now = Date.now();
    const first = { candidatePhone: "212644444441" };
    const second = { candidatePhone: "212644444442" };
    // Accepted, then confirmed at send time: the limit of 1 is spent.
    const accepted = await gate.decide({
      client: c,
      request: first,
      businessInitiated: true,
      category: "UTILITY",
      now,
    });
    expect(accepted).toMatchObject({
      action: "go",
      reservation: { member: first.candidatePhone, at: now, previous: null },
    });
    const atSend = await gate.decide({
      client: c,
      request: first,
      businessInitiated: true,
      category: "UTILITY",
      atSendTime: true,
      now: now + 10,
    });
    expect(atSend).toMatchObject({ action: "go", reservation: { at: now + 10, previous: now } });
    expect(
      (await gate.decide({ client: c, request: second, businessInitiated: true, category: "UTILITY", now: now + 20 }))
        .action,
    ).toBe("schedule");
    // The second's reservation was for later; the refusal is the first's: its confirmation is undone, the acceptance's entry put back.
    expect(await gate.giveBackReservation(atSend.action === "go" ? atSend.reservation : null)).toBe(true);
    expect(await a.zscore(gate.budget.key(c.wabaId), first.candidatePhone)).toBe(String(now));
    // And the acceptance's own reservation: given back, the place is free (a reservation given back twice is a no-op).
    expect(await gate.giveBackReservation(accepted.action === "go" ? accepted.reservation : null)).toBe(true);
    expect(await gate.giveBackReservation(accepted.action === "go" ? accepted.reservation : null)).toBe(false);
    expect(await a.zscore(gate.budget.key(c.wabaId), first.candidatePhone)).toBeNull();
    const third = { candidatePhone: "212644444443" };
    // The second (scheduled for a day later) still holds its place; a third waits: the freed place went to nobody else.
    const usage = await gate.budget.usage(c.wabaId, 1, now + 30);
    expect(usage.used).toBe(0);
    expect(
      (await gate.decide({ client: c, request: third, businessInitiated: true, category: "UTILITY", now: now + 30 }))
        .action,
    ).toBe("schedule");
  });

  it("a reservation overtaken by a later send's is never undone", async () => {
    const gate = new SendGate({ redis: a, prefix, db });
    const c = client(portfolio(), `pn-later-${seq}`);
    await gate.state.setPolicy(c._id.toHexString(), { quietHours: null, timeZone: "UTC" }, null);
    await gate.state.setLimit(c.wabaId, 5, "test");
    const now = Date.now();
    const r = { candidatePhone: "212644444451" };
    const one = await gate.decide({
      client: c,
      request: r,
      businessInitiated: true,
      category: "UTILITY",
      now,
      atSendTime: true,
    });
    const two = await gate.decide({
      client: c,
      request: r,
      businessInitiated: true,
      category: "UTILITY",
      now: now + 50,
      atSendTime: true,
    });
    expect(two).toMatchObject({ reservation: { at: now + 50, previous: now } });
    expect(await gate.giveBackReservation(one.action === "go" ? one.reservation : null)).toBe(false);
    expect(await a.zscore(gate.budget.key(c.wabaId), r.candidatePhone)).toBe(String(now + 50));
  });
});

describe("what the gate costs the send path", () => {
  it("a budgeted first contact: one MGET and one script call on Redis, no MongoDB request; a reply: nothing", async () => {
    const gate = new SendGate({ redis: a, prefix, db });
    const c = { _id: new Types.ObjectId(), wabaId: portfolio(), phoneNumberId: `pn-cost-${seq}` };
    await gate.state.setLimit(c.wabaId, 250, "test");
    const sent: string[] = [];
    const original = a.sendCommand.bind(a);
    a.sendCommand = (command: { name: string }, ...rest: unknown[]) => {
      sent.push(command.name);
      return (original as (...args: unknown[]) => unknown)(command, ...rest);
    };
    const mongo = new CommandCounter(db.connection);
    try {
      const request = { candidatePhone: "212644444444" };
      expect(await gate.decide({ client: c, request, businessInitiated: false, category: "UTILITY" })).toEqual({
        action: "go",
      });
      expect(sent).toEqual([]);
      expect(await gate.decide({ client: c, request, businessInitiated: true, category: "UTILITY" })).toMatchObject({
        action: "go",
      });
      expect(sent).toEqual(["mget", "evalsha"]);
    } finally {
      a.sendCommand = original;
      mongo.stop();
    }
    expect(mongo.total).toBe(0);
  });
});

describe("the send state's rebuild", () => {
  it("copies every policy, portfolio limit and number quality back to Redis from MongoDB (cli:rebuild-send-state)", async () => {
    const gate = new SendGate({ redis: a, prefix, db });
    const c = { _id: new Types.ObjectId(), wabaId: portfolio(), phoneNumberId: `pn-rebuild-${seq}` };
    const policy = { quietHours: { start: "22:00", end: "08:00" }, timeZone: "Europe/Paris" };
    await gate.state.setPolicy(c._id.toHexString(), policy, "recruiter-1");
    await gate.state.setLimit(c.wabaId, 2000, "business_capability_update");
    await gate.state.setQuality(c.phoneNumberId, c.wabaId, { rating: "RED", event: "FLAGGED", marketingPaused: true });
    const before = await gate.state.view(c);
    await a.del(
      gate.state.policyKey(c._id.toHexString()),
      gate.state.limitKey(c.wabaId),
      gate.state.qualityKey(c.phoneNumberId),
    );
    expect((await gate.state.view(c)).limit).toBeNull();
    await new SendState({ redis: a, prefix, db }).rebuild();
    const after = await gate.state.view(c);
    expect(after).toEqual({ ...before, quality: { ...before.quality, at: after.quality?.at } });
    expect(after).toMatchObject({ policy, limit: 2000, quality: { marketingPaused: true, rating: "RED" } });
  });
});
