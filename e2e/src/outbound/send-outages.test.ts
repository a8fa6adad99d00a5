import { afterAll, describe, expect, it } from "vitest";
import pino from "pino";
import { request } from "undici";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { Database } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { OUTBOUND_QUEUE, createRedis, outboundJobId, type OutboundJob } from "@linkojob/queues";
import { sendIntakePump } from "@linkojob/outbound";
import {
  eventually,
  startRedisServer,
  startTcpOutage,
  tokenFor,
  type OwnRedis,
  type TcpOutage,
  testIngressConfig,
} from "@linkojob/testing";
import { GraphClient } from "@linkojob/whatsapp";
import { buildApp } from "@linkojob/ingress";
import { OutboundWorker } from "@linkojob/outbound-worker";
import { startTrunk, type Trunk } from "../harness/trunk.harness.js";
import { startOutbound, type OutboundRig, type SendAnswer } from "../harness/outbound.harness.js";

/**
 * Sends are as available as webhooks: acknowledged once Redis has them. With MongoDB gone the send
 * API still accepts, and every accepted send reaches Meta once MongoDB is back, each once; with
 * Redis gone it answers 503 and leaves nothing behind.
 */
const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

describe("Redis down", () => {
  let own: OwnRedis;
  let t: Trunk;

  it("the send API answers 503 and queues nothing; once Redis is back it accepts again", async () => {
    own = await startRedisServer({ appendonly: true });
    closers.push(() => own.destroy());
    t = await startTrunk({ label: "send-redis-down", redisUrl: own.url, startWorker: false });
    closers.push(() => t.close());
    const c = await t.createClient();
    const jwt = await tokenFor(c.userId, "recruiter");
    const send = async (candidatePhone: string) => {
      const res = await request(`${t.ingressUrl}/api/messages/send`, {
        method: "POST",
        headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json" },
        body: JSON.stringify({ clientId: c._id.toHexString(), candidatePhone, candidateName: "A", jobTitle: "B" }),
      });
      return { status: res.statusCode, body: (await res.body.json()) as SendAnswer };
    };
    const before = await send("212600100001");
    expect(before.status).toBe(202);

    await own.stop();
    const refused = await send("212600100002");
    expect(refused.status).toBe(503);
    expect(refused.body.error?.code).toMatch(/UNAVAILABLE/);
    await own.start();

    const after = await eventually(async () => {
      const res = await send("212600100003");
      return res.status === 202 ? res : null;
    }, 20_000);
    const redis: Redis = createRedis(own.url);
    closers.push(() => redis.quit());
    const queue = new Queue<OutboundJob>(OUTBOUND_QUEUE, { connection: redis, prefix: t.services.prefix });
    closers.push(() => queue.close());
    // The accepted sends are in the send stream (the one before the outage kept by the AOF); the
    // outbound worker's pump moves them into the queue: the accepted sends, and nothing for the refused one.
    const pumpRedis = createRedis(own.url);
    const pump = sendIntakePump({
      redis: pumpRedis,
      queue,
      prefix: t.services.prefix,
      logger: pino({ level: "silent" }),
    });
    closers.push(async () => {
      await pump.close();
      pumpRedis.disconnect();
    });
    await pump.start();
    const expected = [outboundJobId(before.body.messageId), outboundJobId(after.body.messageId)].sort();
    const jobs = await eventually(async () => {
      const ids = (await queue.getJobs(["waiting", "prioritized", "delayed", "active"])).map((j) => j.id).sort();
      return ids.length >= expected.length ? ids : null;
    }, 10_000);
    expect(jobs).toEqual(expected);
  }, 90_000);
});

describe("MongoDB down", () => {
  let rig: OutboundRig;
  let outage: TcpOutage;

  it("sends are accepted while MongoDB is away for 30 s, and each reaches Meta once when it is back", async () => {
    rig = await startOutbound("send-mongo-down");
    closers.push(() => rig.close());
    // The send API and the outbound worker reach MongoDB through a relay the test stops and starts.
    const mongo = new URL(rig.trunk.services.mongoUrl);
    outage = await startTcpOutage({ host: mongo.hostname, port: Number(mongo.port) });
    closers.push(() => outage.close());
    mongo.host = `${outage.host}:${outage.port}`;
    const db = await Database.connect(mongo.toString());
    closers.push(() => db.close());
    const redisUrl = rig.trunk.services.redisUrl;
    const r = (o: Parameters<typeof createRedis>[1] = {}) => {
      const conn = createRedis(redisUrl, o);
      closers.push(() => conn.quit());
      return conn;
    };
    await rig.outbound.close();
    const graph = new GraphClient({ baseUrl: rig.trunk.sim.url, version: "v26.0", connections: 4 });
    closers.push(() => graph.close());
    const worker = new OutboundWorker({
      db,
      queueRedis: r(),
      redis: r(),
      subscriberRedis: r({ autoPipelining: false }),
      graph,
      vault: rig.vault,
      events: new DashboardEvents(r()),
      logger: pino({ level: "silent" }),
      prefix: rig.trunk.services.prefix,
      templateSyncIntervalMs: 0,
      // The production backoff base: eight attempts span about two minutes, longer than the outage.
      retryBaseMs: 1_000,
      send: { uncertainGraceMs: 1_500, sendTimeoutMs: 1_000 },
    });
    closers.push(() => worker.close());
    await worker.start();
    const app = await buildApp({
      config: testIngressConfig(rig.trunk.services.prefix),
      redis: r({ failFast: true }),
      db,
      events: new DashboardEvents(r()),
    });
    closers.push(() => app.close());
    await app.ready();

    const c = await rig.client();
    const jwt = await tokenFor(c.userId, "recruiter");
    const send = async (n: number) => {
      const res = await app.inject({
        method: "POST",
        url: "/api/messages/send",
        headers: { authorization: `Bearer ${jwt}` },
        payload: {
          clientId: c._id.toHexString(),
          candidatePhone: `21260020${String(1000 + n)}`,
          candidateName: "Yasmine",
          jobTitle: "Comptable",
        },
      });
      return { status: res.statusCode, body: res.json<SendAnswer>() };
    };
    // One send while MongoDB is up: the client's state is in Redis from then on.
    const warm = await send(0);
    expect(warm.status).toBe(202);
    await rig.until(c, warm.body.messageId, ["sent", "delivered", "read"]);

    await outage.stop();
    const down = Date.now();
    const during: SendAnswer[] = [];
    for (let n = 1; n <= 10; n++) {
      const res = await send(n);
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      during.push(res.body);
    }
    // The worker has tried and failed to store them meanwhile (its jobs are waiting for a retry).
    await eventually(async () => {
      const job = await worker.queue.getJob(outboundJobId(during[0]!.messageId));
      return (job?.attemptsMade ?? 0) >= 1;
    }, 30_000);
    expect(rig.sim.accepted.filter((m) => during.some((d) => d.messageId === m.bizOpaque))).toHaveLength(0);
    // The outage lasts 30 s in all.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, down + 30_000 - Date.now())));
    await outage.start();

    for (const d of during) await rig.until(c, d.messageId, ["sent", "delivered", "read"], 180_000);
    for (const d of during) expect(rig.acceptedFor(d.messageId)).toHaveLength(1);
    expect(await rig.trunk.db.messages.countDocuments({ clientId: c._id, direction: "outbound" })).toBe(11);
  }, 300_000);
});
