import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { WEBHOOK_QUEUE, createRedis, ingressStreamKey, type WebhookJob } from "@linkojob/queues";
import { testServices } from "@linkojob/testing";
import { InboundBacklog } from "./inbound-backlog.js";

// The backlog check on the real Redis: what it answers, and that the sends waiting on unanswered
// calls share one look instead of each reading the queue's job hashes.

const services = testServices("inboundbacklog");
let redis: Redis;
let queue: Queue<WebhookJob>;
let backlog: InboundBacklog;

/** Commands sent on the backlog's connection (its xrange and its queue's reads go through it). */
let sent = 0;
const commands = () => sent;

beforeAll(async () => {
  redis = createRedis(services.redisUrl);
  queue = new Queue<WebhookJob>(WEBHOOK_QUEUE, { connection: createRedis(services.redisUrl), prefix: services.prefix });
  await queue.pause();
  const own = createRedis(services.redisUrl);
  const send = own.sendCommand.bind(own);
  own.sendCommand = (...args: Parameters<typeof send>) => {
    sent++;
    return send(...args);
  };
  backlog = new InboundBacklog(own, services.prefix);
});

afterAll(async () => {
  await backlog.close();
  await queue.obliterate({ force: true });
  await queue.close();
  await redis.del(ingressStreamKey(services.prefix));
  redis.disconnect();
});

describe("InboundBacklog", () => {
  it("answers null when nothing is waiting, then the oldest receipt among the stream and the queue", async () => {
    expect(await backlog.oldestUnprocessedAt(Date.now())).toBeNull();
    const receivedAt = Date.now() - 60_000;
    await queue.add("delivery", { deliveryId: "d-1", receivedAt, body: "{}" });
    // A look begun after the job was added sees it (the earlier null is not reused).
    expect(await backlog.oldestUnprocessedAt(Date.now())).toBe(receivedAt);
    await redis.xadd(ingressStreamKey(services.prefix), `${receivedAt - 5_000}-0`, "body", "{}");
    expect(await backlog.oldestUnprocessedAt(Date.now())).toBe(receivedAt - 5_000);
  });

  it("shares one look among the callers that ask within a second, never one begun before their time", async () => {
    const since = Date.now() - 1;
    const first = await backlog.oldestUnprocessedAt(since);
    const before = commands();
    const shared = await Promise.all(Array.from({ length: 20 }, () => backlog.oldestUnprocessedAt(since)));
    const spent = commands() - before;
    expect(shared.every((v) => v === first)).toBe(true);
    // Twenty callers, no new look: not one command (a look costs at least the XRANGE and the queue's reads).
    expect(spent).toBe(0);
    const look = commands();
    await backlog.oldestUnprocessedAt(Date.now() + 1);
    expect(commands() - look).toBeGreaterThan(1);

    // A caller whose `since` is after the last look gets a look of its own, and sees what came meanwhile.
    await new Promise((r) => setTimeout(r, 5));
    const older = since - 120_000;
    await queue.add("delivery", { deliveryId: "d-2", receivedAt: older, body: "{}" });
    const later = Date.now();
    expect(await backlog.oldestUnprocessedAt(later)).toBe(older);
  });
});
