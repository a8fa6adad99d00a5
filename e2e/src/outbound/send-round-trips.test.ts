import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { Redis } from "ioredis";
import { Database } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { createRedis, outboundJobId } from "@linkojob/queues";
import { eventually, tokenFor, testIngressConfig } from "@linkojob/testing";
import { CommandCounter } from "@linkojob/testing/services";
import { GraphClient } from "@linkojob/whatsapp";
import { buildApp } from "@linkojob/ingress";
import { OutboundWorker } from "@linkojob/outbound-worker";
import { startOutbound, type OutboundRig } from "../harness/outbound.harness.js";

/**
 * MongoDB requests of one first-contact send, counted with the driver's command monitoring (a
 * figure that does not depend on the machine): the send API (an ingress built on a connection of
 * its own, `POST /api/messages/send` naming the client) and the outbound worker's send (another).
 * The API decides from the send state in Redis: none at all, even in an ingress that has not served
 * this client before. The worker stores the message and its conversation, then sends. Before the
 * rewrite: 7 (API) + 18 (worker); then 3 (API) + 4 (worker).
 */
let rig: OutboundRig;
let apiDb: Database;
let workerDb: Database;
let worker: OutboundWorker;
let graph: GraphClient;
let app: Awaited<ReturnType<typeof buildApp>>;
const conns: Redis[] = [];

beforeAll(async () => {
  rig = await startOutbound("outcount");
  // Status webhooks after the worker has recorded `sent`: none is parked as pending, whose
  // application would count here (it belongs to the statuses, not to the send).
  rig.sim.statusFlow.stepDelayMs = 1_000;
  const url = rig.trunk.services.mongoUrl;
  apiDb = await Database.connect(url, { monitorCommands: true });
  workerDb = await Database.connect(url, { monitorCommands: true });
  const redisUrl = rig.trunk.services.redisUrl;
  const r = (o: Parameters<typeof createRedis>[1] = {}) => {
    const c = createRedis(redisUrl, o);
    conns.push(c);
    return c;
  };
  // The rig's worker stops; this one, on the counted connection, takes the queue.
  await rig.outbound.close();
  graph = new GraphClient({ baseUrl: rig.trunk.sim.url, version: "v26.0", connections: 4 });
  worker = new OutboundWorker({
    db: workerDb,
    queueRedis: r(),
    redis: r(),
    subscriberRedis: r({ autoPipelining: false }),
    graph,
    vault: rig.vault,
    events: new DashboardEvents(r()),
    logger: pino({ level: "silent" }),
    prefix: rig.trunk.services.prefix,
    templateSyncIntervalMs: 0,
    send: { uncertainGraceMs: 1_500, sendTimeoutMs: 1_000 },
  });
  await worker.start();
  app = await buildApp({
    config: testIngressConfig(rig.trunk.services.prefix),
    redis: r({ failFast: true }),
    db: apiDb,
    events: new DashboardEvents(r()),
  });
  await app.ready();
}, 60_000);

afterAll(async () => {
  await app?.close();
  await worker?.close();
  await graph?.close();
  await rig?.close();
  await apiDb?.close();
  await workerDb?.close();
  await Promise.allSettled(conns.map((c) => c.quit()));
});

describe("MongoDB requests per send", () => {
  it("a first-contact send: no request to accept it (even in a fresh ingress), at most 6 to store and send it", async () => {
    const c = await rig.client();
    const jwt = await tokenFor(c.userId, "recruiter");
    const sendOne = async (n: number, via = app) => {
      const res = await via.inject({
        method: "POST",
        url: "/api/messages/send",
        headers: { authorization: `Bearer ${jwt}` },
        payload: {
          clientId: c._id.toHexString(),
          candidatePhone: `21260${String(1_000_000 + n)}`,
          candidateName: "Yasmine",
          jobTitle: "Comptable",
        },
      });
      expect(res.statusCode, res.body).toBe(202);
      const answer = res.json<{ success: boolean; messageId: string; kind: string; cost: number }>();
      await eventually(async () => (await worker.queue.getJob(outboundJobId(answer.messageId)))?.isCompleted(), 20_000);
      return answer;
    };
    // The send caches subscribe in the background: wait until they serve the client and template
    // (a preview then reads only the tenant's ownership and the conversation).
    const preview = () =>
      app.inject({
        method: "GET",
        url: `/inbox/api/send-preview?clientId=${c._id.toHexString()}&candidatePhone=212600000001`,
        headers: { authorization: `Bearer ${jwt}` },
      });
    await eventually(async () => {
      await preview();
      const probe = new CommandCounter(apiDb.connection);
      await preview();
      probe.stop();
      return probe.total <= 2;
    }, 10_000);
    await sendOne(1); // the client's state, copied to Redis when first read there

    // A second ingress, its caches empty: everything it decides with comes from Redis.
    const fresh = await buildApp({
      config: testIngressConfig(rig.trunk.services.prefix),
      redis: conns[0]!,
      db: apiDb,
      events: new DashboardEvents(conns[0]!),
    });
    await fresh.ready();
    const api = new CommandCounter(apiDb.connection);
    const sent = new CommandCounter(workerDb.connection);
    // The worker's filters as the server receives them (find, findAndModify, update).
    const filters: Array<Record<string, unknown>> = [];
    const record = (e: { command: Record<string, unknown> }) => {
      const c = e.command;
      for (const f of [c.filter, c.query, ...((c.updates ?? []) as Array<{ q: unknown }>).map((u) => u.q)])
        if (f) filters.push(f as Record<string, unknown>);
    };
    workerDb.connection.getClient().on("commandStarted", record);
    const answer = await sendOne(2, fresh).finally(() => fresh.close());
    workerDb.connection.getClient().off("commandStarted", record);
    const apiRequests = api.byCommand();
    const workerRequests = sent.byCommand();
    api.stop();
    sent.stop();

    expect(answer).toMatchObject({ success: true, kind: "template", cost: 0.4 });
    expect(rig.acceptedFor(answer.messageId)).toHaveLength(1);
    const m = await rig.message(c, answer.messageId);
    expect(m).toMatchObject({ status: expect.stringMatching(/^(sent|delivered|read)$/), kind: "template" });
    const conv = await rig.trunk.db.forTenant(c._id).conversations.get(m.conversationId);
    expect(conv).toMatchObject({
      messageCount: 1,
      lastMessageFrom: "recruiter",
      lastMessagePreview: "[template application_received]",
    });

    expect(api.total, JSON.stringify(apiRequests)).toBe(0);
    // The conversation looked up by phone, then inserted with this message counted in it; the message
    // insert (already `sending`: no claim), sent; the pending-status lookup and the template's usage,
    // shared by concurrent sends (alone here, so one each).
    expect(sent.total, JSON.stringify(workerRequests)).toBeLessThanOrEqual(6);
    // Each names the document by `_id`, or the tenant and an equality on an indexed field, never an
    // `$or` alone: none reads more than the documents of that one value (on FerretDB v1 an `$or` or
    // `$in` is not handed to its storage, so the whole tenant is read and filtered in its process).
    expect(filters.length).toBeGreaterThan(0);
    expect(filters.filter((f) => !("_id" in f) && (!("clientId" in f) || "$or" in f))).toEqual([]);
  }, 60_000);
});

describe("Redis commands per accepted send", () => {
  it("the send API: one MGET (the candidate's window and opt-outs, the sending protections) and one XADD (the send stream); the worker's pump queues it", async () => {
    const c = await rig.client();
    const jwt = await tokenFor(c.userId, "recruiter");
    // An ingress on a connection of its own, so that MONITOR tells its commands from the worker's.
    const apiRedis = createRedis(rig.trunk.services.redisUrl, { failFast: true });
    conns.push(apiRedis);
    // A plain connection (no auto-pipelining, no client name): CLIENT LIST, then MONITOR.
    const plain = new Redis(rig.trunk.services.redisUrl, { enableAutoPipelining: false });
    const addresses = async () =>
      String(await plain.client("LIST"))
        .split("\n")
        .map((line) => /\baddr=(\S+)/.exec(line)?.[1])
        .filter((a): a is string => a !== undefined);
    const before = new Set(await addresses());
    const own = await buildApp({
      config: testIngressConfig(rig.trunk.services.prefix),
      redis: apiRedis,
      db: apiDb,
      events: new DashboardEvents(conns[0]!),
    });
    await own.ready();
    const send = (n: number) =>
      own.inject({
        method: "POST",
        url: "/api/messages/send",
        headers: { authorization: `Bearer ${jwt}` },
        payload: {
          clientId: c._id.toHexString(),
          candidatePhone: `21261${String(1_000_000 + n)}`,
          candidateName: "Yasmine",
          jobTitle: "Comptable",
        },
      });
    try {
      // The client and template caches warm (the first send reads the client's state once).
      expect((await send(1)).statusCode).toBe(202);
      await eventually(async () => (await send(2)).statusCode === 202 || null);
      await new Promise((r) => setTimeout(r, 200));
      // Every connection of this ingress: the one it was given and those it opened from it (the send
      // path's, the webhook's…), the connections that appeared since it was built.
      const portOf = (address: string) => address.slice(address.lastIndexOf(":") + 1);
      const ingress = new Set((await addresses()).filter((a) => !before.has(a)).map(portOf));
      ingress.add(String((apiRedis as unknown as { stream: { localPort: number } }).stream.localPort));
      expect(ingress.size).toBeGreaterThan(1);
      const commands: string[] = [];
      const monitor = await plain.monitor();
      monitor.on("monitor", (_time: number, args: string[], source: string) => {
        if (ingress.has(portOf(source))) commands.push(String(args[0]).toLowerCase());
      });
      await new Promise((r) => setTimeout(r, 100));
      const sends = 5;
      const ids: string[] = [];
      for (let n = 10; n < 10 + sends; n++) {
        const res = await send(n);
        expect(res.statusCode).toBe(202);
        ids.push(res.json<{ messageId: string }>().messageId);
      }
      // MONITOR's lines arrive on their own connection, late on a loaded machine: wait until the
      // sends' commands are all in (or the test's timeout), then a moment more for any extra one.
      await eventually(() => commands.length >= 2 * sends || null, 20_000).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));
      monitor.disconnect();
      plain.disconnect();
      expect(commands.sort()).toEqual(
        [...Array<string>(sends).fill("mget"), ...Array<string>(sends).fill("xadd")].sort(),
      );
      // Before the send stream: 13 (two MGETs and BullMQ's add, one EVALSHA and its 10 inner commands).
      for (const id of ids) expect(await eventually(() => worker.queue.getJob(outboundJobId(id)), 20_000)).toBeTruthy();
    } finally {
      plain.disconnect();
      await own.close();
    }
  }, 60_000);
});
