import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import type { Redis } from "ioredis";
import { Queue } from "bullmq";
import { OUTBOUND_QUEUE } from "@linkojob/queues";
import { TEST_SECRETS, eventually, type OwnRedis, type TestServices } from "@linkojob/testing";
import { signWebhookBody } from "@linkojob/whatsapp";
import { startTestIngress, type TestIngress } from "../ingress.harness.js";

let own: OwnRedis;
let redis: Redis;
let t: TestIngress;
let services: TestServices;
let app: FastifyInstance;

beforeAll(async () => {
  t = await startTestIngress("opsmetrics", { ownRedis: true });
  ({ app, redis, services } = t);
  own = t.ownRedis!;
});
afterAll(async () => {
  await t?.close();
});

const delivery = JSON.stringify({ object: "whatsapp_business_account", entry: [{ id: "1", changes: [] }] });
const postWebhook = (body: string, signature = signWebhookBody(body, TEST_SECRETS.appSecret)) =>
  app.inject({
    method: "POST",
    url: "/webhook",
    headers: { "content-type": "application/json", "x-hub-signature-256": signature },
    payload: body,
  });

/** One series' value from the exposition text (labels in any order; the service label ignored). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe("readiness", () => {
  it("goes false (503) while Redis is stopped and back to ready when it returns; webhooks answer 503 meanwhile", async () => {
    const ready = await app.inject({ method: "GET", url: "/ready" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: "ready", checks: { redis: true, mongo: true } });

    await own.stop();
    const down = await eventually(async () => {
      const res = await app.inject({ method: "GET", url: "/ready" });
      return res.statusCode === 503 ? res : null;
    });
    expect(down.json()).toMatchObject({ status: "not_ready", checks: { redis: false, mongo: true } });
    expect((await app.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
    expect((await postWebhook(delivery)).statusCode).toBe(503);

    await own.start();
    await eventually(async () => (await app.inject({ method: "GET", url: "/ready" })).statusCode === 200, 20_000);
  });
});

describe("/metrics", () => {
  it("counts webhook deliveries by outcome with an ack latency histogram, and reads queue counts when scraped", async () => {
    for (let i = 0; i < 3; i++) expect((await postWebhook(delivery)).statusCode).toBe(200);
    expect((await postWebhook(delivery, "sha256=" + "0".repeat(64))).statusCode).toBe(401);
    expect((await postWebhook("{not json")).statusCode).toBe(400);

    const outbound = new Queue(OUTBOUND_QUEUE, { connection: redis, prefix: services.prefix });
    await outbound.add("send", { clientId: "a".repeat(24), messageId: "b".repeat(24) });
    await outbound.add("send", { clientId: "a".repeat(24), messageId: "c".repeat(24) });
    await outbound.add("send", { clientId: "a".repeat(24), messageId: "d".repeat(24) }, { delay: 600_000 });
    await outbound.close();

    const res = await app.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/plain");
    const text = res.body;
    expect(sample(text, "lj_webhook_deliveries_total", { outcome: "accepted" })).toBe(3);
    expect(sample(text, "lj_webhook_deliveries_total", { outcome: "bad_signature" })).toBe(1);
    expect(sample(text, "lj_webhook_deliveries_total", { outcome: "malformed" })).toBe(1);
    // The one refused while Redis was stopped (readiness test above).
    expect(sample(text, "lj_webhook_deliveries_total", { outcome: "store_unavailable" })).toBe(1);
    expect(sample(text, "lj_webhook_ack_seconds_count", { outcome: "accepted" })).toBe(3);
    expect(sample(text, "lj_webhook_ack_seconds_bucket", { outcome: "accepted", le: "+Inf" })).toBe(3);

    expect(sample(text, "lj_queue_jobs", { queue: OUTBOUND_QUEUE, state: "waiting" })).toBe(2);
    expect(sample(text, "lj_queue_jobs", { queue: OUTBOUND_QUEUE, state: "delayed" })).toBe(1);
    expect(sample(text, "lj_queue_jobs", { queue: OUTBOUND_QUEUE, state: "failed" })).toBe(0);
    expect(sample(text, "lj_queue_jobs", { queue: OUTBOUND_QUEUE, state: "active" })).toBe(0);
    expect(sample(text, "lj_queue_depth", { queue: OUTBOUND_QUEUE })).toBe(3);
    expect(sample(text, "lj_queue_depth", { queue: "webhook-deliveries" })).toBe(0);
    expect(sample(text, "lj_process_resident_memory_bytes", { service: "ingress" })).toBeGreaterThan(0);
  });
});
