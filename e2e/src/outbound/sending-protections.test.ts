/**
 * The sending protections through the real parts (ingress over HTTP, Redis/BullMQ, the outbound and
 * inbound workers, FerretDB, the realtime server, the simulator over HTTP): the portfolio's
 * messaging limit learnt from `business_capability_update` schedules first contacts instead of
 * failing them and releases them when the moving window has moved (the window is shortened to a few
 * seconds here, in every process, rather than waiting a day); a FLAGGED quality update pauses
 * marketing first contacts of that number with the reason on `client:status`; 131049 is terminal
 * and gives the budget place back; quiet hours schedule a first contact, never a reply.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import type { ClientDoc } from "@linkojob/db";
import { EVENTS } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { TEST_SECRETS, eventually, FIRST_CONTACT_TEMPLATE } from "@linkojob/testing";
import { portfolioState, simTemplate } from "@linkojob/meta-simulator";
import { createRealtimeServer, type RealtimeServer } from "@linkojob/realtime";
import { closeAllSockets, connect } from "@linkojob/realtime/testing";
import pino from "pino";
import { DashboardEvents } from "@linkojob/events";
import { GraphClient } from "@linkojob/whatsapp";
import { OutboundWorker } from "@linkojob/outbound-worker";
import { APPLICATION_RECEIVED, startOutbound, type OutboundRig } from "../harness/outbound.harness.js";

const WINDOW_MS = 4_000;
let rig: OutboundRig;
let realtime: RealtimeServer;
let realtimeUrl: string;
const conns: Array<{ quit(): Promise<unknown> }> = [];
let seq = 0;
const newPhone = () => `2126${String(Date.now() % 1e5).padStart(5, "0")}${String(++seq).padStart(3, "0")}`.slice(0, 12);

beforeAll(async () => {
  rig = await startOutbound(
    "protect",
    { messagingLimitWindowMs: WINDOW_MS },
    { ingress: { messagingLimitWindowMs: WINDOW_MS } },
  );
  const pub = createRedis(rig.trunk.services.redisUrl);
  const sub = createRedis(rig.trunk.services.redisUrl, { autoPipelining: false });
  conns.push(pub, sub);
  realtime = createRealtimeServer({ pub, sub, db: rig.trunk.db, jwtSecret: TEST_SECRETS.jwtSecret });
  realtimeUrl = `http://127.0.0.1:${await realtime.listen(0, "127.0.0.1")}`;
}, 120_000);

afterAll(async () => {
  closeAllSockets();
  await realtime?.close();
  await Promise.allSettled(conns.map((c) => c.quit()));
  await rig?.close();
});

/** A control call to the simulator (a webhook it delivers, a limit it enforces), then the inbound pipeline drained. */
async function sim(method: "POST" | "PUT", path: string, body: unknown) {
  const res = await request(`${rig.trunk.sim.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await res.body.json();
  expect(res.statusCode, JSON.stringify(answer)).toBe(200);
  await rig.trunk.drain();
  return answer;
}

interface PolicyView {
  quietHours: { start: string; end: string } | null;
  timeZone: string;
  isDefault: boolean;
  messagingLimit: { limit: number | null; used: number; scheduled: number; nextFreeAt: string | null };
  quality: { marketingPaused: boolean; rating: string | null; event: string | null } | null;
}

async function policy(c: ClientDoc & { jwt: string }, method: "GET" | "PUT" = "GET", body?: unknown) {
  const res = await request(`${rig.trunk.ingressUrl}/api/clients/${c._id.toHexString()}/sending-policy`, {
    method,
    headers: { authorization: `Bearer ${c.jwt}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return {
    status: res.statusCode,
    body: (await res.body.json()) as PolicyView & { error?: { code: string; details?: unknown } },
  };
}

const firstContact = (phone: string) => ({ candidatePhone: phone, candidateName: "Amal", jobTitle: "Comptable" });
const graphSendsTo = (c: ClientDoc, phone: string) =>
  rig.trunk.sim.state
    .requestsTo(new RegExp(`/${c.phoneNumberId}/messages$`))
    .filter((r) => (r.body as { to?: string } | undefined)?.to === phone).length;

describe("the portfolio's messaging limit", () => {
  it("learnt from business_capability_update: first contacts past it are scheduled (202 MESSAGING_LIMIT), go once the moving window frees a place, never over the limit at Meta; a reply inside a window is not held", async () => {
    const c = await rig.client();
    await sim("PUT", "/_sim/portfolio/limit", { wabaId: c.wabaId, limit: 2, enforce: true, windowMs: WINDOW_MS });
    await sim("POST", "/_sim/webhooks/business-capability", { wabaId: c.wabaId, maxDailyConversationsPerBusiness: 2 });
    await eventually(async () => ((await policy(c)).body.messagingLimit.limit === 2 ? true : null), 30_000);

    const phones = [newPhone(), newPhone(), newPhone()];
    const answers = [];
    for (const p of phones) answers.push(await rig.send(c.jwt, firstContact(p)));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
    expect(answers.map((a) => a.body.status)).toEqual(["queued", "queued", "scheduled"]);
    const third = answers[2]!.body;
    expect(third).toMatchObject({ success: true, kind: "template", reason: "MESSAGING_LIMIT" });
    const scheduledFor = Date.parse(String(third.scheduledFor));
    expect(scheduledFor).toBeGreaterThan(Date.now());

    // Two places spent, one scheduled. Looked at until it holds: while a worker holds one of the first
    // two for its pacing slot (milliseconds), its place shows as scheduled, then spent again.
    const settled = await eventually(async () => {
      const { messagingLimit } = (await policy(c)).body;
      return messagingLimit.used === 2 && messagingLimit.scheduled === 1 ? messagingLimit : null;
    }, 10_000).catch(async () => (await policy(c)).body.messagingLimit);
    expect(settled).toMatchObject({ limit: 2, used: 2, scheduled: 1 });

    // The candidate who writes gets a reply at once, budget spent or not.
    const writer = newPhone();
    await rig.candidateWrites(c, writer, "Bonjour, toujours disponible ?");
    const reply = await rig.send(c.jwt, { candidatePhone: writer, message: "Oui, passez demain à 10h." });
    expect(reply.body).toMatchObject({ status: "queued", kind: "text" });
    await rig.until(c, reply.body.messageId, ["sent", "delivered", "read"]);

    for (const a of answers.slice(0, 2)) await rig.until(c, a.body.messageId, ["sent", "delivered", "read"]);
    const released = await rig.until(c, third.messageId, ["sent", "delivered", "read"], 60_000);
    const [atMeta] = rig.acceptedFor(third.messageId);
    expect(atMeta!.at).toBeGreaterThanOrEqual(scheduledFor);
    expect(released.status).not.toBe("failed");
    expect(portfolioState(rig.trunk.sim.state).overLimit.filter((o) => o.wabaId === c.wabaId)).toEqual([]);
  }, 120_000);
});

describe("the limit from the Graph API", () => {
  it("reads whatsapp_business_manager_messaging_limit from the WABA's numbers (as at connection and on the timer)", async () => {
    const c = await rig.client();
    const onboarding = async <T>(path: string, body: unknown) => {
      const r = await request(`${rig.trunk.sim.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(r.statusCode).toBe(201);
      return (await r.body.json()) as T;
    };
    await onboarding("/_sim/onboarding/businesses", {
      wabaId: c.wabaId,
      phoneNumbers: [{ id: c.phoneNumberId, registered: true }],
    });
    const { accessToken } = await onboarding<{ accessToken: string }>("/_sim/onboarding/tokens", {
      wabaIds: [c.wabaId],
    });
    await rig.trunk.db.clients.updateOne(
      { _id: c._id },
      { $set: { accessToken: rig.vault.encrypt(accessToken, c._id.toHexString()) } },
    );
    await sim("PUT", "/_sim/portfolio/limit", { wabaId: c.wabaId, limit: 10_000 });
    expect((await policy(c)).body.messagingLimit.limit).toBeNull();
    expect(await rig.outbound.refreshLimits(c._id.toHexString())).toBe(1);
    expect((await policy(c)).body.messagingLimit).toMatchObject({ limit: 10_000, used: 0, scheduled: 0 });
    await sim("PUT", "/_sim/portfolio/limit", { wabaId: c.wabaId, limit: -1 });
    await rig.outbound.refreshLimits();
    expect((await policy(c)).body.messagingLimit).toMatchObject({ limit: -1, nextFreeAt: null });
  });
});

describe("two outbound workers spending one portfolio budget", () => {
  it("never put more than the limit in any moving window at Meta, and every first contact goes in the end", async () => {
    const r = (o: Parameters<typeof createRedis>[1] = {}) => {
      const c = createRedis(rig.trunk.services.redisUrl, o);
      conns.push(c);
      return c;
    };
    const graph = new GraphClient({ baseUrl: rig.trunk.sim.url, version: "v21.0" });
    const second = new OutboundWorker({
      db: rig.trunk.db,
      queueRedis: r(),
      redis: r(),
      subscriberRedis: r({ autoPipelining: false }),
      graph,
      vault: rig.vault,
      events: new DashboardEvents(r()),
      logger: pino({ level: "silent" }),
      prefix: rig.trunk.services.prefix,
      concurrency: 16,
      retryBaseMs: 100,
      templateSyncIntervalMs: 0,
      send: { uncertainGraceMs: 1_500, sendTimeoutMs: 1_000 },
      pacing: { recipientIntervalMs: 1_100, recipientBurst: 2 },
      messagingLimitWindowMs: WINDOW_MS,
    });
    await second.start();
    const byWorker = { first: 0, second: 0 };
    rig.outbound.bullWorker?.on("completed", () => byWorker.first++);
    second.bullWorker?.on("completed", () => byWorker.second++);
    try {
      const c = await rig.client();
      const limit = 3;
      await sim("PUT", "/_sim/portfolio/limit", { wabaId: c.wabaId, limit, enforce: true, windowMs: WINDOW_MS });
      await sim("POST", "/_sim/webhooks/business-capability", {
        wabaId: c.wabaId,
        maxDailyConversationsPerBusiness: limit,
      });
      await eventually(async () => ((await policy(c)).body.messagingLimit.limit === limit ? true : null));
      const answers = await Promise.all(Array.from({ length: 7 }, () => rig.send(c.jwt, firstContact(newPhone()))));
      expect(answers.filter((a) => a.body.status === "queued")).toHaveLength(limit);
      expect(answers.filter((a) => a.body.status === "scheduled")).toHaveLength(4);
      for (const a of answers) await rig.until(c, a.body.messageId, ["sent", "delivered", "read"], 40_000);
      const times = answers.map((a) => rig.acceptedFor(a.body.messageId)[0]!.at).sort((x, y) => x - y);
      for (const t of times) expect(times.filter((u) => u >= t && u < t + WINDOW_MS).length).toBeLessThanOrEqual(limit);
      expect(portfolioState(rig.trunk.sim.state).overLimit.filter((o) => o.wabaId === c.wabaId)).toEqual([]);
      // Every send job ended (completed) in one of the two worker processes.
      await eventually(() => (byWorker.first + byWorker.second >= 7 ? true : null));
    } finally {
      await second.close();
      await graph.close();
    }
  }, 90_000);
});

describe("the number's quality", () => {
  it("FLAGGED (2026 phone_number_quality_update) pauses marketing first contacts with the reason on client:status; utility ones still go; UNFLAGGED resumes the held ones", async () => {
    const marketing = simTemplate({ ...FIRST_CONTACT_TEMPLATE, name: "job_alert", category: "MARKETING" });
    const c = await rig.client({ templates: [APPLICATION_RECEIVED(), marketing] });
    const socket = await connect(realtimeUrl, { token: c.jwt, clientId: c._id.toHexString() });
    await sim("POST", "/_sim/webhooks/phone-quality", {
      wabaId: c.wabaId,
      displayPhoneNumber: c.whatsappNumber,
      event: "FLAGGED",
      maxDailyConversationsPerBusiness: 10000,
    });
    const flagged = await eventually(
      () =>
        (socket.payloads(EVENTS.clientStatus) as Array<{ reason?: string }>).find(
          (p) => p.reason === "QUALITY_FLAGGED",
        ) ?? null,
    );
    expect(flagged).toMatchObject({ clientId: c._id.toHexString(), status: "active", marketingPaused: true });
    expect((await policy(c)).body).toMatchObject({
      quality: { marketingPaused: true, event: "FLAGGED" },
      messagingLimit: { limit: 10000 },
    });

    const paused = newPhone();
    const promo = await rig.send(c.jwt, {
      candidatePhone: paused,
      templateName: "job_alert",
      templateLanguage: "fr",
      templateVars: ["Amal", "Comptable"],
    });
    expect(promo.body).toMatchObject({ status: "held", reason: "QUALITY_PAUSED" });
    const held = await rig.until(c, promo.body.messageId, ["held"]);
    expect(held.reasonCode).toBe("QUALITY_PAUSED");
    const utility = await rig.send(c.jwt, firstContact(newPhone()));
    expect(utility.body.status).toBe("queued");
    await rig.until(c, utility.body.messageId, ["sent", "delivered", "read"]);
    expect(graphSendsTo(c, paused)).toBe(0);

    await sim("POST", "/_sim/webhooks/phone-quality", {
      wabaId: c.wabaId,
      displayPhoneNumber: c.whatsappNumber,
      event: "UNFLAGGED",
    });
    await eventually(
      () =>
        (socket.payloads(EVENTS.clientStatus) as Array<{ reason?: string }>).find(
          (p) => p.reason === "QUALITY_RESTORED",
        ) ?? null,
    );
    await rig.until(c, promo.body.messageId, ["sent", "delivered", "read"]);
    expect(graphSendsTo(c, paused)).toBe(1);
  }, 60_000);
});

describe("131049, the per-user marketing limit", () => {
  it("ends that message failed after one call, never retried, the client still active and the recipient's budget place given back", async () => {
    const c = await rig.client();
    await sim("POST", "/_sim/webhooks/business-capability", {
      wabaId: c.wabaId,
      maxDailyConversationsPerBusiness: 250,
    });
    await eventually(async () => ((await policy(c)).body.messagingLimit.limit === 250 ? true : null));
    const limited = newPhone();
    rig.sim.faults.byRecipient.set(limited, { code: 131049, httpStatus: 400 });
    const sent = await rig.send(c.jwt, firstContact(limited));
    expect(sent.body.status).toBe("queued");
    const failed = await rig.until(c, sent.body.messageId, ["failed"]);
    expect(failed.reasonCode).toBe("131049");
    expect(failed.sendAttempts).toBe(1);
    const job = await rig.outbound.queue.getJob(`send-${sent.body.messageId}`).catch(() => undefined);
    // The message is written `failed` before the job moves to failed: the job's state follows.
    if (job) await eventually(async () => ((await job.getState()) === "failed" ? true : null));
    expect(graphSendsTo(c, limited)).toBe(1);
    expect((await rig.trunk.db.clients.findById(c._id).lean<ClientDoc>())!.status).toBe("active");
    expect((await policy(c)).body.messagingLimit).toMatchObject({ limit: 250, used: 0 });
  }, 60_000);
});

describe("quiet hours", () => {
  const casablancaMinute = (at: number) => {
    const parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: "Africa/Casablanca",
      hourCycle: "h23",
      hour: "2-digit",
      minute: "2-digit",
    }).formatToParts(at);
    return (
      Number(parts.find((p) => p.type === "hour")!.value) * 60 + Number(parts.find((p) => p.type === "minute")!.value)
    );
  };
  const hhmm = (m: number) => {
    const v = ((m % 1440) + 1440) % 1440;
    return `${String(Math.floor(v / 60)).padStart(2, "0")}:${String(v % 60).padStart(2, "0")}`;
  };

  it("PUT validates (400 naming each problem) and stores; a first contact inside them is scheduled for their end in the candidate's zone; a reply inside an open window goes at once", async () => {
    const c = await rig.client();
    const initial = await policy(c);
    expect(initial.status).toBe(200);
    expect(initial.body).toMatchObject({ isDefault: true, timeZone: "Africa/Casablanca" });

    const bad = await policy(c, "PUT", { quietHours: { start: "9h", end: "25:00" }, timeZone: "Mars/Olympus" });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.code).toBe("VALIDATION_ERROR");
    expect(JSON.stringify(bad.body.error?.details)).toMatch(/quietHours.*start[\s\S]*end[\s\S]*timeZone/);

    const now = casablancaMinute(Date.now());
    const quietHours = { start: hhmm(now - 60), end: hhmm(now + 90) };
    const put = await policy(c, "PUT", { quietHours, timeZone: "Europe/Paris" });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ quietHours, timeZone: "Europe/Paris", isDefault: false });

    // A Moroccan candidate: their zone (Africa/Casablanca) decides, not the tenant's.
    const first = await rig.send(c.jwt, firstContact(newPhone()));
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ status: "scheduled", reason: "QUIET_HOURS", kind: "template" });
    const at = Date.parse(String(first.body.scheduledFor));
    expect(hhmm(casablancaMinute(at))).toBe(quietHours.end);
    expect(at - Date.now()).toBeGreaterThan(80 * 60_000);

    const writer = newPhone();
    await rig.candidateWrites(c, writer, "Salam, je suis intéressé");
    const reply = await rig.send(c.jwt, { candidatePhone: writer, message: "Merci, voici les détails." });
    expect(reply.body).toMatchObject({ status: "queued", kind: "text" });
    await rig.until(c, reply.body.messageId, ["sent", "delivered", "read"]);
    expect(rig.acceptedFor(first.body.messageId)).toEqual([]);

    const off = await policy(c, "PUT", { quietHours: null });
    expect(off.body).toMatchObject({ quietHours: null, timeZone: "Europe/Paris" });
    const now2 = await rig.send(c.jwt, firstContact(newPhone()));
    expect(now2.body.status).toBe("queued");
  }, 60_000);
});
