import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { Database } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { createRedis, outboundJobId } from "@linkojob/queues";
import { eventually, tokenFor, testIngressConfig } from "@linkojob/testing";
import { CommandCounter } from "@linkojob/testing/services";
import { buildApp } from "@linkojob/ingress";
import { ClientStatusAnnouncer } from "@linkojob/outbound";
import { startOutbound, type OutboundRig, type SendAnswer } from "../harness/outbound.harness.js";

/**
 * The send API decides from the send state in Redis. These tests take that state away (the test's
 * own keys, as a Redis that restarted empty would have none) and check that sends are still
 * decided right, that the rebuild restores a state the API decides from without MongoDB, and that
 * an Idempotency-Key holds across ingress processes and even after Redis lost it.
 */
let rig: OutboundRig;
let apiDb: Database;
const conns: Redis[] = [];
type App = Awaited<ReturnType<typeof buildApp>>;
const apps: App[] = [];

let phoneSeq = 0;
const newPhone = () => `2126${String(20_000_000 + ++phoneSeq * 7919).slice(-8)}`;

/** An ingress of its own (its caches empty), on the counted MongoDB connection. */
async function ingress(): Promise<App> {
  const redis = createRedis(rig.trunk.services.redisUrl, { failFast: true });
  conns.push(redis);
  const app = await buildApp({
    config: testIngressConfig(rig.trunk.services.prefix),
    redis,
    db: apiDb,
    events: new DashboardEvents(redis),
  });
  await app.ready();
  apps.push(app);
  return app;
}

async function send(
  app: App,
  jwt: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: SendAnswer }> {
  const res = await app.inject({
    method: "POST",
    url: "/api/messages/send",
    headers: { authorization: `Bearer ${jwt}`, ...headers },
    payload: body,
  });
  return { status: res.statusCode, body: res.json<SendAnswer>() };
}

/** Deletes every send-state key of this test's prefix (its clients, templates, windows, marker, keys). */
async function flushSendState(): Promise<number> {
  const redis = conns[0]!;
  const keys = await redis.keys(`${rig.trunk.services.prefix}:send-state:*`);
  if (keys.length) await redis.del(...keys);
  return keys.length;
}

beforeAll(async () => {
  // The worker checks the state's marker only at start here: the test decides when it is rebuilt.
  rig = await startOutbound("sendstate", { sendStateCheckEveryMs: 0 });
  apiDb = await Database.connect(rig.trunk.services.mongoUrl, { monitorCommands: true });
  conns.push(createRedis(rig.trunk.services.redisUrl));
}, 60_000);

afterAll(async () => {
  for (const app of apps) await app.close();
  await rig?.close();
  await apiDb?.close();
  await Promise.allSettled(conns.map((c) => c.quit()));
});

describe("the send state in Redis", () => {
  it("after Redis lost it, sends are still decided right (text in an open window, a template otherwise); rebuilt, they are decided without MongoDB", async () => {
    const c = await rig.client();
    const jwt = await tokenFor(c.userId, "recruiter");
    const replied = newPhone();
    await rig.candidateWrites(c, replied, "Bonjour");
    expect(await flushSendState()).toBeGreaterThan(0);

    const app = await ingress();
    const text = await send(app, jwt, { clientId: c._id.toHexString(), candidatePhone: replied, message: "Merci !" });
    const first = await send(app, jwt, {
      clientId: c._id.toHexString(),
      candidatePhone: newPhone(),
      candidateName: "Yasmine",
      jobTitle: "Comptable",
      message: "Bonjour",
    });
    expect(text).toMatchObject({ status: 202, body: { success: true, kind: "text", cost: 0.4 } }); // a service message, billed since 2026-10-01
    expect(first).toMatchObject({ status: 202, body: { success: true, kind: "template", cost: 0.4 } });
    // The worker, deciding from MongoDB, agrees, and Meta gets each once.
    expect(await rig.until(c, text.body.messageId, ["sent", "delivered", "read"])).toMatchObject({ kind: "text" });
    expect(await rig.until(c, first.body.messageId, ["sent", "delivered", "read"])).toMatchObject({
      kind: "template",
    });
    expect(rig.acceptedFor(text.body.messageId)).toHaveLength(1);
    expect(rig.acceptedFor(first.body.messageId)).toHaveLength(1);

    // The rebuild (the outbound worker's, when the marker is gone) copies clients, templates and windows.
    await flushSendState();
    await rig.outbound.ensureSendState();
    expect(await conns[0]!.exists(rig.outbound.sendState.builtKey)).toBe(1);

    const fresh = await ingress();
    const counter = new CommandCounter(apiDb.connection);
    const again = await send(fresh, jwt, {
      clientId: c._id.toHexString(),
      candidatePhone: replied,
      message: "À demain",
    });
    const other = await send(fresh, jwt, {
      clientId: c._id.toHexString(),
      candidatePhone: newPhone(),
      candidateName: "Omar",
      jobTitle: "Magasinier",
      message: "Bonjour",
    });
    const requests = counter.byCommand();
    counter.stop();
    expect(again).toMatchObject({ status: 202, body: { kind: "text" } });
    expect(other).toMatchObject({ status: 202, body: { kind: "template" } });
    expect(counter.total, JSON.stringify(requests)).toBe(0);
    await rig.until(c, again.body.messageId, ["sent", "delivered", "read"]);
    await rig.until(c, other.body.messageId, ["sent", "delivered", "read"]);
  }, 60_000);

  it("a client's status change is written to Redis by whoever makes it: a send is then answered held", async () => {
    const c = await rig.client();
    const jwt = await tokenFor(c.userId, "recruiter");
    const app = await ingress();
    const body = { clientId: c._id.toHexString(), candidatePhone: newPhone(), candidateName: "A", jobTitle: "B" };
    expect(await send(app, jwt, body)).toMatchObject({ status: 202, body: { status: "queued" } });
    // The status changes as the workers and onboarding change it: through the announcer.
    const announcer = new ClientStatusAnnouncer({
      db: rig.trunk.db,
      events: new DashboardEvents(conns[0]!),
      publisher: conns[0]!,
      sendState: rig.outbound.sendState,
    });
    await announcer.markReauthRequired(c._id, "TOKEN_INVALID");
    const held = await eventually(async () => {
      const res = await send(app, jwt, { ...body, candidatePhone: newPhone() });
      return res.body.status === "held" ? res : null;
    }, 10_000);
    expect(held).toMatchObject({ status: 202, body: { success: true, status: "held" } });
    expect(await rig.until(c, held.body.messageId, ["held"])).toMatchObject({ status: "held" });
  }, 60_000);
});

describe("Idempotency-Key", () => {
  it("answers the same messageId on two ingress processes; one message and one send", async () => {
    const c = await rig.client();
    const jwt = await tokenFor(c.userId, "recruiter");
    const [a, b] = [await ingress(), await ingress()];
    const body = { clientId: c._id.toHexString(), candidatePhone: newPhone(), candidateName: "Sara", jobTitle: "RH" };
    const key = `idem-${body.candidatePhone}`;
    const [x, y] = await Promise.all([
      send(a, jwt, body, { "idempotency-key": key }),
      send(b, jwt, body, { "idempotency-key": key }),
    ]);
    expect(x.status).toBe(202);
    expect(y).toEqual(x);
    await rig.until(c, x.body.messageId, ["sent", "delivered", "read"]);
    expect(await rig.trunk.db.messages.countDocuments({ clientId: c._id, direction: "outbound" })).toBe(1);
    expect(rig.sim.accepted.filter((m) => m.to === body.candidatePhone)).toHaveLength(1);
  }, 60_000);

  it("after Redis lost the key, a repeat is stored and sent no second time: the unique dedupe key decides", async () => {
    const c = await rig.client();
    const jwt = await tokenFor(c.userId, "recruiter");
    const app = await ingress();
    const body = { clientId: c._id.toHexString(), candidatePhone: newPhone(), candidateName: "Nadia", jobTitle: "QA" };
    const key = `lost-${body.candidatePhone}`;
    const first = await send(app, jwt, body, { "idempotency-key": key });
    expect(first.status).toBe(202);
    await rig.until(c, first.body.messageId, ["sent", "delivered", "read"]);

    await conns[0]!.del(rig.outbound.sendState.idempotencyKey(c._id.toHexString(), key));
    const repeat = await send(app, jwt, body, { "idempotency-key": key });
    expect(repeat.status).toBe(202);
    // Its job ends without storing or sending: another message holds the key.
    const outcome = await eventually(async () => {
      const job = await rig.outbound.queue.getJob(outboundJobId(repeat.body.messageId));
      return (await job?.isCompleted()) ? (job!.returnvalue as { outcome: string; messageId?: string }) : null;
    }, 20_000);
    expect(outcome).toEqual({ outcome: "duplicate", messageId: first.body.messageId });
    expect(await rig.trunk.db.messages.countDocuments({ clientId: c._id, direction: "outbound" })).toBe(1);
    expect(rig.sim.accepted.filter((m) => m.to === body.candidatePhone)).toHaveLength(1);
  }, 60_000);
});
