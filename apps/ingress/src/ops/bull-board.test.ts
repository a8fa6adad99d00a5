import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import type { Redis } from "ioredis";
import { Queue, UnrecoverableError, Worker } from "bullmq";
import { OUTBOUND_QUEUE, WEBHOOK_QUEUE, createRedis } from "@linkojob/queues";
import { eventually, tokenFor, type TestServices } from "@linkojob/testing";
import { startTestIngress, type TestIngress } from "../ingress.harness.js";
import { catalogQueueNames } from "./catalog-queues.js";

const PHONE = "212612345678";
const TEXT = "Bonjour, je postule pour le poste de soudeur";
const META_TOKEN = "EAAGm0PX4ZCpsBAKtokenvalue";
let workerRedis: Redis;
let t: TestIngress;
let services: TestServices;
let app: FastifyInstance;

beforeAll(async () => {
  t = await startTestIngress("bullboard", { deps: { ops: { bullBoard: { secureCookie: false } } } });
  ({ app, services } = t);
  workerRedis = createRedis(services.redisUrl);

  // A webhook delivery as the pump queues it: Meta's raw body, with a candidate's number and text.
  const body = JSON.stringify({
    object: "whatsapp_business_account",
    entry: [
      {
        id: "102290129340398",
        changes: [
          {
            field: "messages",
            value: {
              messaging_product: "whatsapp",
              metadata: { display_phone_number: "15550783881", phone_number_id: "106540352242922" },
              contacts: [{ profile: { name: "Sara Benali" }, wa_id: PHONE }],
              messages: [
                {
                  from: PHONE,
                  id: "wamid.HBgMMjEyNjEyMzQ1Njc4FQIAEhgg",
                  timestamp: "1732470000",
                  type: "text",
                  text: { body: TEXT },
                },
              ],
            },
          },
        ],
      },
    ],
  });
  const webhooks = new Queue(WEBHOOK_QUEUE, { connection: workerRedis, prefix: services.prefix });
  await webhooks.add(
    "delivery",
    { deliveryId: "1732470000123-0", receivedAt: 1732470000123, body },
    { jobId: "wh-1732470000123-0" },
  );
  await webhooks.close();

  // A job that failed with a phone number and a token in its error, and one that returned them.
  const outbound = new Queue(OUTBOUND_QUEUE, { connection: workerRedis, prefix: services.prefix });
  await outbound.add(
    "send",
    { clientId: "a".repeat(24), messageId: "b".repeat(24), accessToken: META_TOKEN },
    { jobId: "fails" },
  );
  await outbound.add("send", { clientId: "a".repeat(24), messageId: "c".repeat(24) }, { jobId: "returns" });
  const worker = new Worker(
    OUTBOUND_QUEUE,
    (job) => {
      if (job.id === "fails")
        return Promise.reject(
          new UnrecoverableError(`Meta refused +${PHONE} with Authorization: Bearer ${META_TOKEN}`),
        );
      return Promise.resolve({
        outcome: "sent",
        kind: "text",
        wamid: "wamid.HBgMMjEyNjEyMzQ1Njc4FQIAERgS",
        to: PHONE,
        text: TEXT,
      });
    },
    { connection: workerRedis, prefix: services.prefix },
  );
  await eventually(async () => (await outbound.getFailedCount()) === 1 && (await outbound.getCompletedCount()) === 1);
  await worker.close();
  await outbound.close();
});

afterAll(async () => {
  workerRedis?.disconnect();
  await t?.close();
});

const boardApi = (query: string, headers: Record<string, string> = {}) =>
  app.inject({ method: "GET", url: `/admin/queues/api/queues?${query}`, headers });

describe("Bull Board at /admin/queues", () => {
  it("refuses requests without an admin token: 401 without or with a bad token, 403 for other roles", async () => {
    const none = await boardApi("activeQueue=webhook-deliveries");
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe("AUTH_ERR_MISSING");
    expect((await boardApi("", { authorization: "Bearer not-a-jwt" })).statusCode).toBe(401);
    expect((await app.inject({ method: "GET", url: "/admin/queues" })).statusCode).toBe(401);
    const recruiter = await boardApi("", { authorization: `Bearer ${await tokenFor("user-1", "recruiter")}` });
    expect(recruiter.statusCode).toBe(403);
    expect(recruiter.json().error.code).toBe("FORBIDDEN");
    expect((await boardApi("", { authorization: `Bearer ${await tokenFor("svc", "service")}` })).statusCode).toBe(403);
    const session = await app.inject({
      method: "POST",
      url: "/admin/queues/session",
      payload: { token: await tokenFor("user-1", "recruiter") },
    });
    expect(session.statusCode).toBe(403);
    expect(session.headers["set-cookie"]).toBeUndefined();
  });

  it("lists every queue of the catalog to an admin", async () => {
    const res = await boardApi("", { authorization: `Bearer ${await tokenFor("ops-1", "admin")}` });
    expect(res.statusCode).toBe(200);
    const names = (res.json().queues as Array<{ name: string }>).map((q) => q.name).sort();
    expect(names).toEqual(catalogQueueNames());
    expect(names).toEqual(expect.arrayContaining([WEBHOOK_QUEUE, OUTBOUND_QUEUE, "upkeep"]));
  });

  it("shows job data, return values and failure reasons with phone numbers, text and tokens redacted", async () => {
    const auth = { authorization: `Bearer ${await tokenFor("ops-1", "admin")}` };
    const webhooks = await boardApi("activeQueue=webhook-deliveries&status=latest", auth);
    const failed = await boardApi("activeQueue=outbound-sends&status=failed", auth);
    const completed = await boardApi("activeQueue=outbound-sends&status=completed", auth);
    const oneJob = await app.inject({
      method: "GET",
      url: "/admin/queues/api/queues/outbound-sends/fails",
      headers: auth,
    });
    for (const res of [webhooks, failed, completed, oneJob]) expect(res.statusCode).toBe(200);

    const job = (res: typeof webhooks, queue: string) =>
      res.json().queues.find((q: { name: string }) => q.name === queue).jobs[0];
    const delivery = job(webhooks, WEBHOOK_QUEUE);
    expect(delivery.id).toBe("wh-1732470000123-0");
    // Still useful to an operator: the structure, ids and timestamps are there.
    expect(delivery.data.body.entry[0].changes[0].value.metadata.phone_number_id).toBe("106540352242922");
    expect(delivery.data.body.entry[0].changes[0].value.messages[0]).toMatchObject({
      from: "[redacted]",
      type: "text",
      text: { body: "[redacted]" },
    });
    expect(job(failed, OUTBOUND_QUEUE).failedReason).toContain("Meta refused [redacted]");
    expect(job(completed, OUTBOUND_QUEUE).returnValue).toMatchObject({
      outcome: "sent",
      kind: "text",
      to: "[redacted]",
      text: "[redacted]",
    });

    for (const res of [webhooks, failed, completed, oneJob]) {
      for (const secret of [PHONE, TEXT, "Sara Benali", "15550783881", META_TOKEN])
        expect(res.body).not.toContain(secret);
      expect(res.body).toContain("[redacted]");
    }
  });

  it("is read-only by default: actions answer 405 and change nothing", async () => {
    const auth = { authorization: `Bearer ${await tokenFor("ops-1", "admin")}` };
    const pause = await app.inject({
      method: "PUT",
      url: `/admin/queues/api/queues/${WEBHOOK_QUEUE}/pause`,
      headers: auth,
    });
    expect(pause.statusCode).toBe(405);
    const retry = await app.inject({
      method: "PUT",
      url: `/admin/queues/api/queues/${OUTBOUND_QUEUE}/fails/retry/failed`,
      headers: auth,
    });
    expect(retry.statusCode).toBe(405);
    const q = new Queue(WEBHOOK_QUEUE, { connection: workerRedis, prefix: services.prefix });
    expect(await q.isPaused()).toBe(false);
    await q.close();
  });

  it("lets a browser exchange the admin token, POSTed from the login page, for an HttpOnly, SameSite=Strict cookie scoped to the board", async () => {
    const admin = await tokenFor("ops-1", "admin");
    const login = await app.inject({ method: "GET", url: "/admin/queues/login" });
    expect(login.statusCode).toBe(200);
    expect(login.body).toContain('<form method="post" action="/admin/queues/session">');
    // A browser without a session is sent to the login page.
    const bare = await app.inject({ method: "GET", url: "/admin/queues", headers: { accept: "text/html" } });
    expect(bare.statusCode).toBe(303);
    expect(bare.headers.location).toBe("/admin/queues/login");

    const first = await app.inject({
      method: "POST",
      url: "/admin/queues/session",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams({ token: admin }).toString(),
    });
    expect(first.statusCode).toBe(303);
    expect(first.headers.location).toBe("/admin/queues");
    const setCookie = String(first.headers["set-cookie"]);
    expect(setCookie).toMatch(/^lj_board=[^;]+; Path=\/admin\/queues; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
    const cookie = setCookie.split(";")[0]!;
    expect(cookie).not.toContain(admin);

    const page = await app.inject({
      method: "GET",
      url: `/admin/queues/queue/${WEBHOOK_QUEUE}?status=latest`,
      headers: { cookie },
    });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toContain("text/html");
    expect((await boardApi("", { cookie })).statusCode).toBe(200);

    // The cookie is a board session, not a JWT: worthless against the API, and a forged one is refused.
    const asBearer = await app.inject({
      method: "GET",
      url: "/api/messages/conversations",
      headers: { authorization: `Bearer ${decodeURIComponent(cookie.split("=")[1]!)}` },
    });
    expect(asBearer.statusCode).toBe(401);
    const forged = cookie.replace(/.$/, (c) => (c === "A" ? "B" : "A"));
    expect((await boardApi("", { cookie: forged })).statusCode).toBe(401);
  });
});

describe("Bull Board with actions allowed", () => {
  it("still cannot add, retry or promote webhook or outbound jobs (an unsigned delivery, a send in a tenant's name); other queues take actions", async () => {
    const open = await startTestIngress("bullboardactions", {
      deps: { ops: { bullBoard: { secureCookie: false, allowActions: true } } },
    });
    try {
      const auth = { authorization: `Bearer ${await tokenFor("ops-1", "admin")}` };
      for (const queue of [WEBHOOK_QUEUE, OUTBOUND_QUEUE]) {
        const add = await open.app.inject({
          method: "POST",
          url: `/admin/queues/api/queues/${queue}/add`,
          headers: auth,
          payload: { name: "delivery", data: { deliveryId: "forged-0", receivedAt: Date.now(), body: "{}" } },
        });
        expect(add.statusCode, `${queue} add`).toBe(405);
        const retry = await open.app.inject({
          method: "PUT",
          url: `/admin/queues/api/queues/${queue}/retry/failed`,
          headers: auth,
        });
        expect(retry.statusCode, `${queue} retry`).toBe(405);
      }
      const q = new Queue(WEBHOOK_QUEUE, { connection: workerRedis, prefix: open.services.prefix });
      expect(await q.getJobCounts("waiting", "delayed", "paused")).toEqual({ waiting: 0, delayed: 0, paused: 0 });
      await q.close();
      const pause = await open.app.inject({
        method: "PUT",
        url: "/admin/queues/api/queues/upkeep/pause",
        headers: auth,
      });
      expect(pause.statusCode).toBe(200);
    } finally {
      await open.close();
    }
  });
});
