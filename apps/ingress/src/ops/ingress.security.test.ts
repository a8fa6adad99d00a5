/**
 * Security review, findings 3 and 5 on the ingress: rate limits bypassed with
 * X-Forwarded-For, the Bull Board token in the query string, a malformed board cookie, /webhook
 * reading 3 MB before looking at the signature, an open /metrics, the board's deny-list redaction,
 * and CORS. Each attack over real HTTP (inject, or a real socket where the wire matters), on the real
 * MongoDB-protocol server and Redis.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect as connectTcp } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { Queue } from "bullmq";
import { OUTBOUND_QUEUE, WEBHOOK_QUEUE, createRedis } from "@linkojob/queues";
import { TEST_SECRETS, tokenFor } from "@linkojob/testing";
import { signWebhookBody } from "@linkojob/whatsapp";
import { EnvError } from "@linkojob/config";
import { loadIngressEnv } from "../env.js";
import { startTestIngress, type TestIngress } from "../ingress.harness.js";
import { trustProxyVar } from "./trust-proxy.js";

const LIMITS = { windowMs: 60_000, anonymousMax: 3, userMax: 100, serviceMax: 100 };
const METRICS_TOKEN = "scrape-token-0123456789abcdef";
const DASHBOARD = "https://linkojob.com";

let direct: TestIngress; // no TRUST_PROXY (the default)
let oneHop: TestIngress; // TRUST_PROXY=1
let cidr: TestIngress; // TRUST_PROXY=10.0.0.0/8
let queueRedis: Redis;

beforeAll(async () => {
  direct = await startTestIngress("ingresssecurity", {
    config: { corsOrigin: [DASHBOARD] },
    deps: { ops: { rateLimit: LIMITS, metricsToken: METRICS_TOKEN, bullBoard: { secureCookie: false } } },
  });
  oneHop = await startTestIngress("ingresssecurityhop", {
    config: { trustProxy: 1 },
    deps: { ops: { rateLimit: LIMITS } },
  });
  cidr = await startTestIngress("ingresssecuritycidr", {
    config: { trustProxy: ["10.0.0.0/8"] },
    deps: { ops: { rateLimit: LIMITS } },
  });
  queueRedis = createRedis(direct.services.redisUrl);
});
afterAll(async () => {
  queueRedis?.disconnect();
  await direct?.close();
  await oneHop?.close();
  await cidr?.close();
});

const anonymous = (t: TestIngress, remoteAddress: string, forwardedFor?: string) =>
  t.app.inject({
    method: "GET",
    url: "/docs/json",
    remoteAddress,
    ...(forwardedFor ? { headers: { "x-forwarded-for": forwardedFor } } : {}),
  });

describe("finding 3: rate limits bypassed with X-Forwarded-For", () => {
  it("by default a client's own X-Forwarded-For is ignored: a fresh address per request does not give a fresh bucket", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMITS.anonymousMax + 3; i++)
      statuses.push((await anonymous(direct, "192.0.2.10", `198.51.100.${i + 1}`)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
  });

  it("with TRUST_PROXY=1, the address the proxy appended counts, not what the client wrote before it", async () => {
    const proxy = "10.0.0.2";
    const statuses: number[] = [];
    for (let i = 0; i < LIMITS.anonymousMax + 2; i++)
      statuses.push((await anonymous(oneHop, proxy, `6.6.6.${i + 1}, 203.0.113.7`)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    // Another real client behind the same proxy has its own bucket.
    expect((await anonymous(oneHop, proxy, "203.0.113.8")).statusCode).toBe(200);
  });

  it("with TRUST_PROXY as CIDRs, only those peers may forward; anyone else's header is ignored", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMITS.anonymousMax + 1; i++)
      statuses.push((await anonymous(cidr, "192.0.2.99", `203.0.113.${i + 50}`)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
    // A trusted proxy's forwarded address is used: a client of its own, with its own bucket.
    expect((await anonymous(cidr, "10.20.30.40", "203.0.113.200")).statusCode).toBe(200);
  });

  it("TRUST_PROXY refuses 'true' (trust whatever the client writes) and anything but a hop count or addresses", () => {
    expect(trustProxyVar.parse(undefined)).toBe(false);
    expect(trustProxyVar.parse("2")).toBe(2);
    expect(trustProxyVar.parse("10.0.0.0/8, 127.0.0.1, ::1")).toEqual(["10.0.0.0/8", "127.0.0.1", "::1"]);
    for (const bad of ["true", "all", "10.0.0.0/33", "example.com"])
      expect(trustProxyVar.safeParse(bad).success, bad).toBe(false);
  });
});

describe("finding 5: Bull Board session", () => {
  it("never takes the admin token from the query string (proxies log it)", async () => {
    const admin = await tokenFor("ops-1", "admin");
    const res = await direct.app.inject({ method: "GET", url: `/admin/queues?token=${admin}` });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("TOKEN_IN_URL");
    expect(res.headers["set-cookie"]).toBeUndefined();
    // The exchange is a POST whose body carries the token.
    const post = await direct.app.inject({ method: "POST", url: "/admin/queues/session", payload: { token: admin } });
    expect(post.statusCode).toBe(303);
    expect(String(post.headers["set-cookie"])).toMatch(/^lj_board=/);
  });

  it("answers 401, not 500, to a malformed lj_board cookie", async () => {
    for (const cookie of ["lj_board=%E0%A4%A", "lj_board=%", "lj_board=a.b", "lj_board="]) {
      const res = await direct.app.inject({ method: "GET", url: "/admin/queues/api/queues", headers: { cookie } });
      expect(res.statusCode, cookie).toBe(401);
      expect(res.json().error.code).toBe("AUTH_ERR_MISSING");
    }
  });

  it("shows an allow-list of job fields: e-mails, locations, file names and Flow answers stay hidden", async () => {
    const secrets = [
      "sara.benali@example.ma",
      "33.5731",
      "-7.5898",
      "CV_Sara_Benali_2024.pdf",
      "Casablanca, Maarif",
      "soudeur confirmé",
      "8 ans",
    ];
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
                messages: [
                  {
                    from: "212612345678",
                    id: "wamid.HBgMMjEyNjEyMzQ1Njc4FQIAEhgg",
                    timestamp: "1732470000",
                    type: "location",
                    location: { latitude: 33.5731, longitude: -7.5898, name: "Casablanca, Maarif" },
                  },
                  {
                    from: "212612345678",
                    id: "wamid.HBgMMjEyNjEyMzQ1Njc4FQIAEhgh",
                    timestamp: "1732470001",
                    type: "document",
                    document: { filename: "CV_Sara_Benali_2024.pdf", mime_type: "application/pdf", id: "1234567890" },
                  },
                  {
                    from: "212612345678",
                    id: "wamid.HBgMMjEyNjEyMzQ1Njc4FQIAEhgi",
                    timestamp: "1732470002",
                    type: "interactive",
                    interactive: {
                      type: "nfm_reply",
                      nfm_reply: {
                        response_json: JSON.stringify({
                          email: "sara.benali@example.ma",
                          metier: "soudeur confirmé",
                          experience: "8 ans",
                        }),
                      },
                    },
                  },
                ],
              },
            },
          ],
        },
      ],
    });
    const webhooks = new Queue(WEBHOOK_QUEUE, { connection: queueRedis, prefix: direct.services.prefix });
    await webhooks.add(
      "delivery",
      { deliveryId: "1732470000999-0", receivedAt: 1732470000999, body },
      { jobId: "wh-allow-list" },
    );
    const outbound = new Queue(OUTBOUND_QUEUE, { connection: queueRedis, prefix: direct.services.prefix });
    await outbound.add(
      "send",
      {
        clientId: "a".repeat(24),
        messageId: "b".repeat(24),
        contactEmail: "sara.benali@example.ma",
        note: "CV_Sara_Benali_2024.pdf",
      },
      { jobId: "allow-list" },
    );
    await Promise.all([webhooks.close(), outbound.close()]);

    const auth = { authorization: `Bearer ${await tokenFor("ops-1", "admin")}` };
    const pages = await Promise.all([
      direct.app.inject({
        method: "GET",
        url: `/admin/queues/api/queues?activeQueue=${WEBHOOK_QUEUE}&status=latest`,
        headers: auth,
      }),
      direct.app.inject({
        method: "GET",
        url: `/admin/queues/api/queues?activeQueue=${OUTBOUND_QUEUE}&status=latest`,
        headers: auth,
      }),
      direct.app.inject({
        method: "GET",
        url: `/admin/queues/api/queues/${WEBHOOK_QUEUE}/wh-allow-list`,
        headers: auth,
      }),
    ]);
    for (const page of pages) {
      expect(page.statusCode).toBe(200);
      for (const secret of [...secrets, "212612345678", "HBgMMjEyNjEyMzQ1Njc4"])
        expect(page.body, secret).not.toContain(secret);
    }
    // What an operator needs stays readable: ids, types, times, the structure.
    const job = pages[0]
      .json()
      .queues.find((q: { name: string }) => q.name === WEBHOOK_QUEUE)
      .jobs.find((j: { id: string }) => j.id === "wh-allow-list");
    const value = job.data.body.entry[0].changes[0].value;
    expect(value.metadata.phone_number_id).toBe("106540352242922");
    expect(value.messages.map((m: { type: string }) => m.type)).toEqual(["location", "document", "interactive"]);
    expect(value.messages[1].document).toEqual({
      filename: "[redacted]",
      mime_type: "application/pdf",
      id: "1234567890",
    });
    expect(value.messages[0].location).toEqual({ latitude: "[redacted]", longitude: "[redacted]", name: "[redacted]" });
    const send = pages[1]
      .json()
      .queues.find((q: { name: string }) => q.name === OUTBOUND_QUEUE)
      .jobs.find((j: { id: string }) => j.id === "allow-list");
    expect(send.data).toEqual({
      clientId: "a".repeat(24),
      messageId: "b".repeat(24),
      contactEmail: "[redacted]",
      note: "[redacted]",
    });
  });
});

describe("finding 5: /webhook looks at the signature header before the body", () => {
  it("answers 401 to an unsigned or malformed-signature POST without waiting for (or reading) its 3 MB body", async () => {
    await direct.app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = direct.app.server.address() as AddressInfo;
    for (const signature of [null, "sha256=short", "md5=00", `sha256=${"z".repeat(64)}`]) {
      // Headers announce 3 MB; not one byte of body is ever sent. Before, the ingress waited for it.
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connectTcp(port, "127.0.0.1");
        let received = "";
        socket.setTimeout(5_000, () => reject(new Error("no answer: the ingress is waiting for the body")));
        socket.on("data", (d) => (received += d.toString("latin1")));
        socket.on("close", () => resolve(received));
        socket.on("error", reject);
        socket.write(
          `POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${3 * 1024 * 1024}\r\n` +
            (signature ? `X-Hub-Signature-256: ${signature}\r\n` : "") +
            "\r\n",
        );
      });
      expect(answer, String(signature)).toMatch(/^HTTP\/1\.1 401 /);
      expect(answer.toLowerCase()).toContain("connection: close");
      expect(answer).toContain("INVALID_SIGNATURE");
    }
  });

  it("still takes Meta's signed deliveries, and refuses a well-formed but wrong signature after reading the body", async () => {
    const body = JSON.stringify({ object: "whatsapp_business_account", entry: [{ id: "1", changes: [] }] });
    const post = (signature: string) =>
      direct.app.inject({
        method: "POST",
        url: "/webhook",
        headers: { "content-type": "application/json", "x-hub-signature-256": signature },
        payload: body,
      });
    expect((await post(signWebhookBody(body, TEST_SECRETS.appSecret))).statusCode).toBe(200);
    expect((await post(signWebhookBody(body, "another-app-secret"))).statusCode).toBe(401);
  });
});

describe("finding 5: /metrics behind METRICS_TOKEN", () => {
  it("refuses a scrape without the token, or with another one, and serves Prometheus with it", async () => {
    const none = await direct.app.inject({ method: "GET", url: "/metrics" });
    expect(none.statusCode).toBe(401);
    expect(none.body).not.toContain("lj_webhook_deliveries_total");
    expect(
      (
        await direct.app.inject({
          method: "GET",
          url: "/metrics",
          headers: { authorization: "Bearer not-the-token-0000000" },
        })
      ).statusCode,
    ).toBe(401);
    const ok = await direct.app.inject({
      method: "GET",
      url: "/metrics",
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers["content-type"]).toContain("text/plain");
    expect(ok.body).toContain("lj_webhook_deliveries_total");
  });
});

describe("finding 5: CORS_ORIGIN is enforced", () => {
  it("lets the dashboard's origin call the API with credentials, and no other origin", async () => {
    const preflight = (origin: string) =>
      direct.app.inject({
        method: "OPTIONS",
        url: "/api/auth/whatsapp/initiate",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type",
        },
      });
    const ours = await preflight(DASHBOARD);
    expect(ours.statusCode).toBe(204);
    expect(ours.headers["access-control-allow-origin"]).toBe(DASHBOARD);
    expect(ours.headers["access-control-allow-credentials"]).toBe("true");
    expect(String(ours.headers["access-control-allow-headers"])).toContain("authorization");

    const theirs = await preflight("https://evil.example");
    expect(theirs.headers["access-control-allow-origin"]).toBeUndefined();
    const read = await direct.app.inject({
      method: "GET",
      url: "/api/messages/conversations",
      headers: { origin: "https://evil.example", authorization: `Bearer ${await tokenFor("someone")}` },
    });
    expect(read.headers["access-control-allow-origin"]).toBeUndefined();

    // Meta's webhook (no Origin) gets no CORS headers at all.
    const hook = await direct.app.inject({ method: "GET", url: "/webhook?hub.mode=subscribe" });
    expect(hook.headers["access-control-allow-origin"]).toBeUndefined();
  });
});

describe("finding 6: deployment secrets", () => {
  const SECRETS = [
    "META_APP_SECRET",
    "META_WEBHOOK_VERIFY_TOKEN",
    "TOKEN_ENCRYPTION_KEY",
    "JWT_SECRET",
    "METRICS_TOKEN",
  ];
  const base = {
    BASE_URL: "https://api.linkojob.test",
    MONGODB_URI: "mongodb://db/linkojob",
    REDIS_URL: "redis://redis:6379",
    META_APP_ID: "1234567890",
    JWT_AUDIENCE: "linkojob-whatsapp",
    JWT_ISSUER: "https://linkojob.com",
  };
  // What docker-compose.yml used to default to: they pass every format check.
  const shipped = {
    META_APP_SECRET: "dev-app-secret-change-me",
    META_WEBHOOK_VERIFY_TOKEN: "dev-verify-token",
    TOKEN_ENCRYPTION_KEY: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    JWT_SECRET: "dev-jwt-secret-change-me-at-least-32-chars",
    METRICS_TOKEN: "0000000000000000",
  };
  const own = {
    META_APP_SECRET: randomBytes(16).toString("hex"),
    META_WEBHOOK_VERIFY_TOKEN: randomBytes(12).toString("hex"),
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    JWT_SECRET: randomBytes(32).toString("hex"),
    METRICS_TOKEN: randomBytes(24).toString("hex"),
  };

  it("a production ingress refuses to start with the development secrets, naming each variable and no value", () => {
    let err: unknown;
    try {
      loadIngressEnv({ ...base, ...shipped, NODE_ENV: "production" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EnvError);
    const problems = (err as EnvError).problems.join("\n");
    for (const name of SECRETS) expect(problems).toContain(name);
    for (const value of Object.values(shipped)) expect((err as Error).message).not.toContain(value);
    // The test suite's secrets, and a rotation list that still holds a development key, are refused too.
    expect(() =>
      loadIngressEnv({ ...base, ...own, JWT_SECRET: TEST_SECRETS.jwtSecret, NODE_ENV: "production" }),
    ).toThrow(/JWT_SECRET/);
    expect(() =>
      loadIngressEnv({
        ...base,
        ...own,
        TOKEN_ENCRYPTION_KEY: `${own.TOKEN_ENCRYPTION_KEY},${TEST_SECRETS.tokenKey}`,
        NODE_ENV: "production",
      }),
    ).toThrow(/TOKEN_ENCRYPTION_KEY/);
    // Without a METRICS_TOKEN, /metrics would be open: production refuses that as well.
    const { METRICS_TOKEN: _omitted, ...noMetrics } = own;
    expect(() => loadIngressEnv({ ...base, ...noMetrics, NODE_ENV: "production" })).toThrow(
      /METRICS_TOKEN: is required/,
    );
  });

  it("a production ingress requires JWT_AUDIENCE and JWT_ISSUER: without them another service's token signed with the same secret is accepted", () => {
    const { JWT_AUDIENCE: _aud, JWT_ISSUER: _iss, ...unchecked } = base;
    let err: unknown;
    try {
      loadIngressEnv({ ...unchecked, ...own, NODE_ENV: "production" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EnvError);
    expect((err as EnvError).problems).toEqual([
      "JWT_AUDIENCE: is required when NODE_ENV=production",
      "JWT_ISSUER: is required when NODE_ENV=production",
    ]);
    expect(loadIngressEnv({ ...unchecked, ...own }).JWT_AUDIENCE).toBeUndefined();
  });

  it("starts with secrets of its own in production, and with any in development", () => {
    expect(loadIngressEnv({ ...base, ...own, NODE_ENV: "production" }).JWT_SECRET).toBe(own.JWT_SECRET);
    expect(loadIngressEnv({ ...base, ...shipped }).JWT_SECRET).toBe(shipped.JWT_SECRET);
  });

  it("docker-compose.yml ships no secret and does not publish the simulator", () => {
    const compose = readFileSync(new URL("../../../../docker-compose.yml", import.meta.url), "utf8");
    for (const name of SECRETS) {
      expect(compose, name).toMatch(new RegExp(`${name}: \\$\\{${name}:\\?`));
      expect(compose, name).not.toMatch(new RegExp(`\\$\\{${name}:-`));
    }
    for (const value of Object.values(shipped)) expect(compose).not.toContain(value);
    const sim = /\n {2}meta-sim:\n([\s\S]*?)\n {2}[a-z-]+:\n/.exec(compose)![1]!;
    expect(sim).not.toMatch(/^\s+ports:/m);
  });
});

describe("the simulator kept out of production", () => {
  const base = {
    BASE_URL: "https://api.linkojob.test",
    MONGODB_URI: "mongodb://db/linkojob",
    REDIS_URL: "redis://redis:6379",
    META_APP_ID: "1234567890",
    META_APP_SECRET: randomBytes(16).toString("hex"),
    META_WEBHOOK_VERIFY_TOKEN: randomBytes(12).toString("hex"),
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    JWT_SECRET: randomBytes(32).toString("hex"),
    METRICS_TOKEN: randomBytes(24).toString("hex"),
    JWT_AUDIENCE: "linkojob-whatsapp",
    JWT_ISSUER: "https://linkojob.com",
    NODE_ENV: "production",
  };

  it("a production ingress refuses a Graph or dialog URL other than Meta's, and DEMO_SIM_URL, naming each", () => {
    for (const [name, value] of [
      ["META_GRAPH_URL", "http://meta-sim:4000"],
      ["META_GRAPH_URL", "https://graph.facebook.com.evil.example"],
      ["META_GRAPH_URL", "http://graph.facebook.com"],
      ["META_DIALOG_URL", "http://localhost:4000"],
      ["DEMO_SIM_URL", "http://meta-sim:4000"],
    ] as const) {
      let err: unknown;
      try {
        loadIngressEnv({ ...base, [name]: value });
      } catch (e) {
        err = e;
      }
      expect(err, `${name}=${value}`).toBeInstanceOf(EnvError);
      expect((err as EnvError).problems.join("\n")).toContain(name);
    }
    // Meta's own endpoints (or the defaults) start; the simulator's are fine in development.
    expect(
      loadIngressEnv({
        ...base,
        META_GRAPH_URL: "https://graph.facebook.com/",
        META_DIALOG_URL: "https://www.facebook.com",
      }).META_GRAPH_URL,
    ).toBe("https://graph.facebook.com");
    expect(loadIngressEnv(base).META_DIALOG_URL).toBe("https://www.facebook.com");
    const { NODE_ENV: _production, ...development } = base;
    expect(
      loadIngressEnv({ ...development, META_GRAPH_URL: "http://meta-sim:4000", DEMO_SIM_URL: "http://meta-sim:4000" })
        .DEMO_SIM_URL,
    ).toBe("http://meta-sim:4000");
  });

  it("docker-compose.yml aims every process at Meta and starts the simulator only in the demo profile", () => {
    const compose = readFileSync(new URL("../../../../docker-compose.yml", import.meta.url), "utf8");
    expect(compose).toMatch(/META_GRAPH_URL: \$\{META_GRAPH_URL:-https:\/\/graph\.facebook\.com\}/);
    expect(compose).not.toMatch(/META_GRAPH_URL: .*meta-sim/);
    const sim = /\n {2}meta-sim:\n([\s\S]*?)\n {2}[a-z-]+:\n/.exec(compose)![1]!;
    expect(sim).toMatch(/^ {4}profiles: \["demo"\]$/m);
    for (const [service, block] of compose.matchAll(/\n {2}([a-z-]+):\n([\s\S]*?)(?=\n {2}[a-z-]+:\n|\nvolumes:)/g))
      if (service !== "meta-sim") expect(block, service).not.toMatch(/profiles:|DEMO_SIM_URL/);
  });
});

describe("JSON bodies", () => {
  it("a body with a __proto__ or constructor.prototype key is refused with 400 naming the problem; malformed JSON is still MALFORMED_JSON", async () => {
    // Each from its own address: the anonymous rate limit of this ingress is 3 per window.
    let host = 0;
    for (const payload of [
      '{"token":"x","__proto__":{"role":"admin"}}',
      '{"token":"x","nested":{"__proto__":{"role":"admin"}}}',
      '{"token":"x","constructor":{"prototype":{"role":"admin"}}}',
    ]) {
      const res = await direct.app.inject({
        method: "POST",
        url: "/admin/queues/session",
        remoteAddress: `10.77.0.${++host}`,
        headers: { "content-type": "application/json" },
        payload,
      });
      expect(res.statusCode, payload).toBe(400);
      expect(res.json(), payload).toMatchObject({ error: { code: "FORBIDDEN_JSON_KEY" } });
    }
    const malformed = await direct.app.inject({
      method: "POST",
      url: "/admin/queues/session",
      remoteAddress: `10.77.0.${++host}`,
      headers: { "content-type": "application/json" },
      payload: '{"token":',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ error: { code: "MALFORMED_JSON" } });
  });
});

describe("the inbox page", () => {
  it("carries a Content-Security-Policy that runs only the page's own scripts (no inline script, no plugin, no framing)", async () => {
    for (const url of ["/inbox", "/inbox/inbox.js"]) {
      const res = await direct.app.inject({ method: "GET", url, remoteAddress: "10.78.0.1" });
      expect(res.statusCode, url).toBe(200);
      const csp = String(res.headers["content-security-policy"]);
      expect(csp, url).toContain("script-src 'self'");
      expect(csp, url).toContain("object-src 'none'");
      expect(csp, url).toContain("frame-ancestors 'none'");
      expect(csp, url).not.toContain("unsafe-inline");
      expect(csp, url).not.toContain("unsafe-eval");
    }
  });
});
