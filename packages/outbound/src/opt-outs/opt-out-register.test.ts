import { Types } from "mongoose";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "@linkojob/db";
import type { DashboardEventMap, DashboardEventName, TypedDashboardEvents } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { eventually, testServices } from "@linkojob/testing";
import { CommandCounter } from "@linkojob/testing/services";
import { SendState } from "../send-state.js";
import { OptOutError, OptOutRegister, type InboundForOptOut } from "./opt-out-register.js";

// The opt-out register on real parts: its own database and Redis key prefix. Dashboard events are
// recorded by a TypedDashboardEvents of the test's own (the Redis emitter is covered by the e2e tests).

class RecordedEvents implements TypedDashboardEvents {
  readonly sent: Array<{ clientId: string; event: string; payload: unknown }> = [];
  toClient<E extends DashboardEventName>(clientId: string, event: E, payload: DashboardEventMap[E]): void {
    this.sent.push({ clientId, event, payload });
  }
}

let db: Database;
let redis: Redis;
let state: SendState;
let register: OptOutRegister;
let events: RecordedEvents;
let counter: CommandCounter;
let seq = 0;
const phone = () => `2126${String(20_000_000 + ++seq * 7_919).slice(-8)}`;
const userId = () => `MA.${Date.now()}${String(++seq).padStart(4, "0")}`;
const clientId = new Types.ObjectId();
const other = new Types.ObjectId();
const at = (s: number) => new Date(Date.UTC(2026, 11, 7, 8, 0, s));

const message = (over: Partial<InboundForOptOut> & { text: string | null }): InboundForOptOut => ({
  clientId,
  wamid: `wamid.${new Types.ObjectId().toHexString()}`,
  type: "text",
  timestamp: at(0),
  ...over,
});

beforeAll(async () => {
  const services = testServices("optouts");
  db = await Database.connect(services.mongoUrl, { monitorCommands: true });
  redis = createRedis(services.redisUrl);
  state = new SendState({ redis, prefix: services.prefix, db });
  await state.rebuild();
  events = new RecordedEvents();
  register = new OptOutRegister({ db, state: state.optOuts, events });
  counter = new CommandCounter(db.connection);
});
afterAll(async () => {
  counter?.stop();
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
  await redis?.quit();
});

const read = (phones: string[], userIds: string[] = [], client = clientId) =>
  state.optOuts.read(client.toHexString(), [...phones, ...userIds]);

describe("the opt-out register", () => {
  it("a candidate's STOP stops everything under their phone and user id, read from Redis with no MongoDB request", async () => {
    const [p, u] = [phone(), userId()];
    const stop = message({ waId: p, userId: u, text: "Stop !" });
    expect(await register.fromInbound([stop, message({ waId: p, text: "stop, je viens demain" })])).toBe(1);

    counter.reset();
    expect(await read([p])).toMatchObject({ scope: "all", all: { source: "candidate_message", owner: "candidate" } });
    expect(await read([], [u])).toMatchObject({ scope: "all" });
    // The send API's one read of a candidate: window and opt-out together.
    const commands: string[] = [];
    const monitor = await redis.duplicate().monitor();
    monitor.on("monitor", (_time: number, args: string[]) => {
      if (args.some((a) => a.includes(p))) commands.push(String(args[0]).toLowerCase());
    });
    const seen = await state.candidate(clientId.toHexString(), p, [p, u]);
    expect(seen).toMatchObject({ windowExpiresAt: null, optOut: { scope: "all" } });
    await eventually(() => commands.length >= 1);
    monitor.disconnect();
    expect(commands).toEqual(["mget"]);
    expect(counter.total).toBe(0);
    expect(await read([p], [], other)).toBeNull();

    const changes = await db.optOutChanges.find({ clientId, keys: p }).lean();
    expect(changes).toMatchObject([
      { action: "opt_out", scope: "all", source: "candidate_message", wamid: stop.wamid, at: at(0) },
    ]);
    expect(events.sent.at(-1)).toMatchObject({
      clientId: clientId.toHexString(),
      event: "candidate:opt_out",
      payload: { scope: "all", candidatePhone: p, change: { action: "opt_out", source: "candidate_message" } },
    });

    // Meta redelivers the STOP: one audit record, the same state.
    await register.fromInbound([stop]);
    expect(await db.optOutChanges.countDocuments({ clientId, keys: p })).toBe(1);
  });

  it("the latest word wins whatever the order of arrival; START lifts the candidate's own STOP", async () => {
    const p = phone();
    await register.fromInbound([message({ waId: p, text: "START", timestamp: at(10) })]);
    await register.fromInbound([message({ waId: p, text: "ARRÊT", timestamp: at(5) })]);
    expect(await read([p])).toBeNull();
    await register.fromInbound([message({ waId: p, text: "توقف", timestamp: at(20) })]);
    expect(await read([p])).toMatchObject({ scope: "all" });
    await register.fromInbound([message({ waId: p, text: "reprendre", timestamp: at(30) })]);
    expect(await read([p])).toBeNull();
    expect(events.sent.at(-1)).toMatchObject({ payload: { scope: null, change: { action: "resume" } } });
  });

  it("a recruiter cannot lift the candidate's own opt-out, but lifts one a recruiter recorded", async () => {
    const p = phone();
    await register.fromInbound([message({ waId: p, text: "STOP", timestamp: at(1) })]);
    const actor = { role: "recruiter", userId: "recruiter-1" };
    const lift = (dedupeKey: string, scope: "all" | "marketing" = "all") =>
      register.change({
        clientId,
        candidate: { phones: [p], userIds: [] },
        action: "resume",
        scope,
        source: "recruiter",
        at: new Date(),
        dedupeKey,
        actor,
      });
    await expect(lift("api:1")).rejects.toMatchObject({ code: "CANDIDATE_OWN_OPT_OUT" } satisfies Partial<OptOutError>);
    expect(await read([p])).toMatchObject({ scope: "all" });

    const q = phone();
    await register.change({
      clientId,
      candidate: { phones: [q], userIds: [] },
      action: "opt_out",
      scope: "marketing",
      source: "recruiter",
      at: new Date(),
      dedupeKey: "api:2",
      actor,
      reason: "asked by phone",
    });
    expect(await read([q])).toMatchObject({ scope: "marketing", marketing: { source: "recruiter", owner: "tenant" } });
    const lifted = await register.change({
      clientId,
      candidate: { phones: [q], userIds: [] },
      action: "resume",
      scope: "marketing",
      source: "recruiter",
      at: new Date(),
      dedupeKey: "api:3",
      actor,
    });
    expect(lifted.optOut).toBeNull();
    expect(await read([q])).toBeNull();
    const trail = await db.optOutsOf(clientId).changesOf([q]);
    expect(trail.map((c) => [c.action, c.source, c.actor?.userId, c.reason])).toEqual([
      ["resume", "recruiter", "recruiter-1", null],
      ["opt_out", "recruiter", "recruiter-1", "asked by phone"],
    ]);
  });

  it("Meta's marketing stop and the candidate's STOP are separate scopes: START lifts only the candidate's", async () => {
    const p = phone();
    await register.change({
      clientId,
      candidate: { phones: [p], userIds: [] },
      action: "opt_out",
      scope: "marketing",
      source: "meta_user_preferences",
      at: at(1),
      dedupeKey: `pref:${p}:1:stop`,
    });
    await register.fromInbound([message({ waId: p, text: "stop", timestamp: at(2) })]);
    expect(await read([p])).toMatchObject({ scope: "all", marketing: { source: "meta_user_preferences" } });
    await register.fromInbound([message({ waId: p, text: "start", timestamp: at(3) })]);
    expect(await read([p])).toMatchObject({ scope: "marketing", all: null });
  });

  it("a number change carries the opt-out to the new number, and a user id change to the new id", async () => {
    const [oldPhone, newPhone, u] = [phone(), phone(), userId()];
    await register.fromInbound([message({ waId: oldPhone, userId: u, text: "STOP", timestamp: at(1) })]);
    await register.fromInbound([
      message({
        waId: oldPhone,
        userId: u,
        type: "system",
        text: null,
        timestamp: at(2),
        identityChange: { kind: "phone", from: oldPhone, to: newPhone },
      }),
    ]);
    expect(await read([newPhone])).toMatchObject({ scope: "all", all: { source: "candidate_message" } });
    const newId = userId();
    await register.fromInbound([
      message({
        userId: u,
        type: "system",
        text: null,
        timestamp: at(3),
        identityChange: { kind: "user_id", from: u, to: newId },
      }),
    ]);
    expect(await read([], [newId])).toMatchObject({ scope: "all" });
    // The candidate's START under the new number lifts it everywhere it was carried.
    await register.fromInbound([message({ waId: newPhone, userId: newId, text: "START", timestamp: at(4) })]);
    expect(await read([newPhone], [newId])).toBeNull();
  });

  it("rebuild copies the register from MongoDB: in force set, lifted removed, then 0 MongoDB requests per read", async () => {
    const [p, q] = [phone(), phone()];
    await register.fromInbound([message({ waId: p, text: "STOP", timestamp: at(1) })]);
    await register.fromInbound([message({ waId: q, text: "STOP", timestamp: at(1) })]);
    await register.fromInbound([message({ waId: q, text: "START", timestamp: at(2) })]);
    // Redis came back empty (marker and keys gone), then a stale key is left by a lost write.
    await redis.del(state.builtKey, state.optOuts.key(clientId.toHexString(), p));
    counter.reset();
    expect(await read([p])).toMatchObject({ scope: "all" }); // not built: read from MongoDB and copied
    expect(counter.total).toBeGreaterThan(0);
    await redis.set(state.optOuts.key(clientId.toHexString(), q), JSON.stringify({ all: { source: "x" } }));
    const copied = await state.rebuild();
    expect(copied.optOuts).toBeGreaterThanOrEqual(1);
    counter.reset();
    expect(await read([p])).toMatchObject({ scope: "all" });
    expect(await read([q])).toBeNull();
    expect(counter.total).toBe(0);
  });
});
