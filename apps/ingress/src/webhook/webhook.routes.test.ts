import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import type { Redis } from "ioredis";
import { ingressStreamKey } from "@linkojob/queues";
import { TEST_SECRETS, eventually, type OwnRedis } from "@linkojob/testing";
import { signWebhookBody } from "@linkojob/whatsapp";
import { startTestIngress, type TestIngress } from "../ingress.harness.js";

let t: TestIngress;
let own: OwnRedis;
let redis: Redis;
let app: FastifyInstance;
let streamKey: string;

beforeAll(async () => {
  // A Redis of this file's own: one test stops it.
  t = await startTestIngress("webhook", { ownRedis: true });
  ({ app, redis } = t);
  own = t.ownRedis!;
  streamKey = ingressStreamKey(t.services.prefix);
});
afterAll(async () => t?.close());

const body = (text: string) =>
  JSON.stringify({
    object: "whatsapp_business_account",
    entry: [
      {
        id: "1",
        changes: [
          {
            field: "messages",
            value: {
              messaging_product: "whatsapp",
              metadata: { phone_number_id: "5", display_phone_number: "1" },
              messages: [{ from: "2126", id: "wamid.x", timestamp: "1", type: "text", text: { body: text } }],
            },
          },
        ],
      },
    ],
  });

const post = (payload: string | Buffer, signature?: string, headers: Record<string, string> = {}) =>
  app.inject({
    method: "POST",
    url: "/webhook",
    payload,
    headers: {
      "content-type": "application/json",
      ...(signature !== undefined ? { "x-hub-signature-256": signature } : {}),
      ...headers,
    },
  });

describe("GET /webhook (subscription verification)", () => {
  it("answers the challenge as plain text when the verify token matches", async () => {
    const res = await app.inject({
      method: "GET",
      url: `/webhook?hub.mode=subscribe&hub.verify_token=${TEST_SECRETS.verifyToken}&hub.challenge=1158201444`,
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe("1158201444");
    expect(res.headers["content-type"]).toMatch(/^text\/plain/);
  });
  it("answers 403 for a wrong token or mode", async () => {
    expect(
      (await app.inject({ method: "GET", url: "/webhook?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1" }))
        .statusCode,
    ).toBe(403);
    expect(
      (
        await app.inject({
          method: "GET",
          url: `/webhook?hub.mode=unsubscribe&hub.verify_token=${TEST_SECRETS.verifyToken}&hub.challenge=1`,
        })
      ).statusCode,
    ).toBe(403);
    expect((await app.inject({ method: "GET", url: "/webhook" })).statusCode).toBe(403);
  });
});

describe("POST /webhook", () => {
  it("accepts Meta's signature over the exact UTF-8 bytes (French, Arabic, emoji) and stores the bytes", async () => {
    for (const text of ["Je suis intéressée ✨", "أرغب في التقدم لهذه الوظيفة", "👩🏽‍💻🚀"]) {
      const raw = Buffer.from(body(text), "utf8");
      const before = await redis.xlen(streamKey);
      const res = await post(raw, signWebhookBody(raw, TEST_SECRETS.appSecret));
      expect(res.statusCode).toBe(200);
      expect(await redis.xlen(streamKey)).toBe(before + 1);
      const [[, fields]] = (await redis.xrevrange(streamKey, "+", "-", "COUNT", 1)) as [[string, string[]]];
      expect(fields[fields.indexOf("b") + 1]).toBe(raw.toString("utf8"));
    }
  });

  it("refuses a forged, missing or re-serialised signature with 401 and stores nothing", async () => {
    const raw = Buffer.from(body("مرحبا"), "utf8");
    const before = await redis.xlen(streamKey);
    const forged = await post(raw, signWebhookBody(raw, "not-the-app-secret"));
    expect(forged.statusCode).toBe(401);
    expect(forged.json()).toMatchObject({ error: { code: "INVALID_SIGNATURE" } });
    expect((await post(raw)).statusCode).toBe(401);
    // Signed over an escaped re-serialisation: not the bytes Meta sent.
    const escaped = raw
      .toString()
      .replace(/[\u0600-\u06ff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
    expect((await post(raw, signWebhookBody(escaped, TEST_SECRETS.appSecret))).statusCode).toBe(401);
    expect(await redis.xlen(streamKey)).toBe(before);
  });

  it("answers 400 for signed malformed JSON and for JSON that is not a delivery", async () => {
    const bad = '{"object":"whatsapp_business_account","entry":[';
    const res = await post(bad, signWebhookBody(bad, TEST_SECRETS.appSecret));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: "MALFORMED_JSON" } });
    const notDelivery = '"hello"';
    expect((await post(notDelivery, signWebhookBody(notDelivery, TEST_SECRETS.appSecret))).statusCode).toBe(400);
  });

  it("answers 413 over 3 MB", async () => {
    const big = JSON.stringify({ object: "whatsapp_business_account", entry: [], pad: "x".repeat(3 * 1024 * 1024) });
    const res = await post(big, signWebhookBody(big, TEST_SECRETS.appSecret));
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toBeDefined();
  });

  it("accepts a body whatever its content type says", async () => {
    const raw = body("text/plain body");
    const res = await post(raw, signWebhookBody(raw, TEST_SECRETS.appSecret), { "content-type": "text/plain" });
    expect(res.statusCode).toBe(200);
  });

  it("answers 503 while Redis is down, and 200 once it is back, losing nothing", async () => {
    const raw = body("pendant la panne");
    const sig = signWebhookBody(raw, TEST_SECRETS.appSecret);
    await own.stop();
    const down = await post(raw, sig);
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ error: { code: "STORE_UNAVAILABLE" } });
    expect((await app.inject({ method: "GET", url: "/ready" })).statusCode).toBe(503);
    await own.start();
    // Meta retries the same delivery; once Redis answers it is stored (Redis restarted empty here).
    const res = await eventually(async () => {
      const retried = await post(raw, sig);
      return retried.statusCode === 200 ? retried : null;
    }, 5_000);
    expect(res.statusCode).toBe(200);
    const entries = (await redis.xrange(streamKey, "-", "+")) as [string, string[]][];
    expect(entries.some(([, f]) => f[f.indexOf("b") + 1] === raw)).toBe(true);
  });
});
