import { Types } from "mongoose";
import pino from "pino";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OUTBOUND_PRIORITY, OUTBOUND_QUEUE, createRedis, sendStreamKey, type OutboundJob } from "@linkojob/queues";
import { eventually, testServices } from "@linkojob/testing";
import { SendIntake, sendIntakePump } from "./send-intake.js";

// The send API's hand-off on the real Redis: one XADD per accepted send, pumped into the outbound queue.
let redis: Redis;
let pumpRedis: Redis;
let queueRedis: Redis;
let queue: Queue<OutboundJob>;
let prefix: string;

beforeAll(() => {
  const services = testServices("sendintake");
  prefix = services.prefix;
  redis = createRedis(services.redisUrl);
  pumpRedis = createRedis(services.redisUrl, { autoPipelining: false });
  queueRedis = createRedis(services.redisUrl);
  queue = new Queue<OutboundJob>(OUTBOUND_QUEUE, { connection: queueRedis, prefix });
});
afterAll(async () => {
  await queue?.obliterate({ force: true }).catch(() => undefined);
  await redis?.del(sendStreamKey(prefix));
  await queue?.close();
  await Promise.allSettled([redis?.quit(), pumpRedis?.quit(), queueRedis?.quit()]);
});

const id = () => new Types.ObjectId().toHexString();

describe("SendIntake and its pump", () => {
  it("costs the API one XADD per send; the pump makes one job per message (twice appended: one job), priority and delay kept, the stream left empty", async () => {
    const intake = new SendIntake(redis, prefix);
    const clientId = id();
    const [reply, template, later] = [id(), id(), id()];
    const before = Number(/cmdstat_xadd:calls=(\d+)/.exec(await redis.info("commandstats"))?.[1] ?? 0);
    await intake.append({ clientId, messageId: reply, kind: "text" });
    await intake.append({ clientId, messageId: template, kind: "template" });
    await intake.append({ clientId, messageId: template, kind: "template" });
    await intake.append({ clientId, messageId: later, kind: "template", delayMs: 60_000 });
    // Entries no producer of ours wrote are dropped (acknowledged), never stall the stream.
    await redis.xadd(sendStreamKey(prefix), "*", "j", "{not json");
    await redis.xadd(sendStreamKey(prefix), "*", "other", "x");
    const after = Number(/cmdstat_xadd:calls=(\d+)/.exec(await redis.info("commandstats"))?.[1] ?? 0);
    // The shared Redis may see other XADDs meanwhile: at least ours, one each.
    expect(after - before).toBeGreaterThanOrEqual(6);
    expect(await redis.xlen(sendStreamKey(prefix))).toBe(6);

    const pump = sendIntakePump({ redis: pumpRedis, queue, prefix, logger: pino({ level: "silent" }) });
    await pump.start();
    try {
      await eventually(async () => ((await redis.xlen(sendStreamKey(prefix))) === 0 ? true : null), 10_000);
      const jobs = await queue.getJobs(["prioritized", "delayed", "waiting"]);
      expect(jobs.map((j) => j.id).sort()).toEqual([`send-${reply}`, `send-${template}`, `send-${later}`].sort());
      const byId = new Map(jobs.map((j) => [j.id, j]));
      expect(byId.get(`send-${reply}`)!.opts.priority).toBe(OUTBOUND_PRIORITY.reply);
      expect(byId.get(`send-${template}`)!.opts.priority).toBe(OUTBOUND_PRIORITY.bulk);
      expect(byId.get(`send-${template}`)!.data).toEqual({ clientId, messageId: template });
      expect(await byId.get(`send-${later}`)!.getState()).toBe("delayed");
      expect(byId.get(`send-${later}`)!.opts.delay).toBeGreaterThan(50_000);
      // Acknowledged: nothing pending for a reclaim to move again.
      const pending = (await redis.xpending(sendStreamKey(prefix), "pump")) as [number, ...unknown[]];
      expect(pending[0]).toBe(0);
    } finally {
      await pump.close();
    }
  });
});
