import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { Database } from "@linkojob/db";
import { TEST_SECRETS, tokenFor, type TestServices } from "@linkojob/testing";
import { signWebhookBody } from "@linkojob/whatsapp";
import { startTestIngress, type TestIngress } from "../ingress.harness.js";

let db: Database;
let t: TestIngress;
let services: TestServices;
let app: FastifyInstance;
const LIMITS = { windowMs: 60_000, anonymousMax: 3, userMax: 5, serviceMax: 8 };

beforeAll(async () => {
  t = await startTestIngress("ratelimit", { deps: { ops: { rateLimit: LIMITS } } });
  ({ app, db, services } = t);
  for (const n of [1, 2]) {
    await db.clients.create({
      userId: `recruiter-${services.id}-${n}`,
      companyName: `Co ${n}`,
      phoneNumberId: `pn-${services.id}-${n}`,
      wabaId: `waba-${n}`,
      whatsappNumber: `21252200000${n}`,
      status: "active",
    });
  }
});
afterAll(async () => {
  await t?.close();
});

const conversations = (token: string) =>
  app.inject({ method: "GET", url: "/api/messages/conversations", headers: { authorization: `Bearer ${token}` } });

describe("rate limiting", () => {
  it("answers 429 with the API's error shape once a JWT subject exceeds its limit, per subject", async () => {
    const first = await tokenFor(`recruiter-${services.id}-1`);
    for (let i = 0; i < LIMITS.userMax; i++) expect((await conversations(first)).statusCode).toBe(200);
    const limited = await conversations(first);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({
      error: { code: "RATE_LIMITED", message: expect.stringContaining("retry in") },
    });
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect(limited.headers["x-ratelimit-limit"]).toBe(String(LIMITS.userMax));

    // A second recruiter (same IP) has its own budget; a fresh token of the limited subject has not.
    expect((await conversations(await tokenFor(`recruiter-${services.id}-2`))).statusCode).toBe(200);
    expect((await conversations(await tokenFor(`recruiter-${services.id}-1`))).statusCode).toBe(429);
  });

  it("limits requests without a valid JWT per IP, bad tokens included", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMITS.anonymousMax + 2; i++) {
      statuses.push(
        (
          await app.inject({
            method: "GET",
            url: "/api/messages/conversations",
            headers: { authorization: "Bearer forged" },
            remoteAddress: "10.1.2.3",
          })
        ).statusCode,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    expect((await app.inject({ method: "GET", url: "/docs/json", remoteAddress: "10.9.9.9" })).statusCode).toBe(200);
  });

  it("never limits signed webhooks, even in a burst far over every limit, nor health, readiness and metrics", async () => {
    const ip = "10.4.4.4";
    // Use up this IP's budget first: the webhook must not care.
    for (let i = 0; i < LIMITS.anonymousMax + 1; i++)
      await app.inject({ method: "GET", url: "/docs/json", remoteAddress: ip });
    expect((await app.inject({ method: "GET", url: "/docs/json", remoteAddress: ip })).statusCode).toBe(429);

    const body = JSON.stringify({ object: "whatsapp_business_account", entry: [{ id: "1", changes: [] }] });
    const signature = signWebhookBody(body, TEST_SECRETS.appSecret);
    const burst = await Promise.all(
      Array.from({ length: 60 }, () =>
        app.inject({
          method: "POST",
          url: "/webhook",
          remoteAddress: ip,
          headers: { "content-type": "application/json", "x-hub-signature-256": signature },
          payload: body,
        }),
      ),
    );
    expect(burst.map((r) => r.statusCode)).toEqual(Array(60).fill(200));
    expect(burst[0]!.headers["x-ratelimit-limit"]).toBeUndefined();
    for (const url of ["/health", "/ready", "/metrics"]) {
      for (let i = 0; i < 10; i++)
        expect((await app.inject({ method: "GET", url, remoteAddress: ip })).statusCode).toBe(200);
    }
  });
});
