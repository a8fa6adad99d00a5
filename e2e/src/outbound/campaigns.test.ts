/**
 * Campaigns through the real parts (the ingress over HTTP, Redis/BullMQ, the outbound and inbound
 * workers, FerretDB, the realtime server, the simulator over HTTP): a campaign's recipients go
 * through the single send's checks (an opted-out candidate is counted suppressed and never reaches
 * Meta, duplicates are dropped, the same idempotencyKey answers the same campaign); its counts stay
 * exact under duplicated and out-of-order status webhooks and replies, on GET and on
 * `campaign:progress`; a cancel stops what has not gone (the queued and the scheduled, their budget
 * places given back); another tenant's reply is not held behind a campaign.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { Types } from "mongoose";
import type { ClientDoc } from "@linkojob/db";
import { EVENTS, type CampaignCounts } from "@linkojob/events";
import { createRedis, outboundJobId } from "@linkojob/queues";
import { TEST_SECRETS, eventually } from "@linkojob/testing";
import { statusDelivery, statusObject } from "@linkojob/meta-simulator";
import { campaignMessageId } from "@linkojob/outbound";
import { createRealtimeServer, type RealtimeServer } from "@linkojob/realtime";
import { closeAllSockets, connect } from "@linkojob/realtime/testing";
import { startOutbound, type OutboundRig } from "../harness/outbound.harness.js";

let rig: OutboundRig;
let realtime: RealtimeServer;
let realtimeUrl: string;
const conns: Array<{ quit(): Promise<unknown> }> = [];
let seq = 0;
/** A Moroccan mobile number, 2126XXXXXXXX (its local form is 06XXXXXXXX). */
const newPhone = () => `2126${String(Date.now() % 1e5).padStart(5, "0")}${String(++seq).padStart(3, "0")}`.slice(0, 12);

beforeAll(async () => {
  // Small slices, long pauses: an expansion here takes seconds, its slices interleaved with other work.
  rig = await startOutbound("campaigns", { expansionPacing: { sliceSize: 10, idleRatio: 3 } });
  // Statuses are delivered by the test itself (duplicated, out of order), not by the simulator's flow.
  rig.sim.statusFlow.enabled = false;
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

type Client = ClientDoc & { jwt: string };

async function api(method: "GET" | "POST", path: string, jwt: string, body?: unknown) {
  const res = await request(`${rig.trunk.ingressUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${jwt}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Record<string, unknown> };
}

const campaign = (c: Client, recipients: unknown[], key = `k-${++seq}`) =>
  api("POST", "/api/campaigns", c.jwt, {
    clientId: c._id.toHexString(),
    templateName: "application_received",
    language: "fr",
    recipients,
    idempotencyKey: key,
  });

/** Waits until the outbound worker has expanded the campaign (every recipient decided and queued). */
const expanded = (c: Client, id: string, timeoutMs = 30_000) =>
  eventually(async () => {
    const view = await api("GET", `/api/campaigns/${id}`, c.jwt);
    return (view.body.expansion as { state: string } | undefined)?.state === "accepted" ? view.body : null;
  }, timeoutMs);

const countsOf = async (c: Client, id: string) =>
  (await api("GET", `/api/campaigns/${id}`, c.jwt)).body.counts as CampaignCounts;

/** Waits until GET answers exactly these counts. */
const countsBecome = (c: Client, id: string, want: CampaignCounts, timeoutMs = 30_000) =>
  eventually(async () => {
    const now = await countsOf(c, id);
    return JSON.stringify(now) === JSON.stringify(want) ? now : null;
  }, timeoutMs);

const acceptedAtMeta = (ids: string[]) => rig.sim.accepted.filter((m) => m.bizOpaque && ids.includes(m.bizOpaque));

/** Meta's status webhook for one of our sends (signed, delivered by the simulator to the ingress). */
async function status(c: Client, wamid: string, phone: string, value: "delivered" | "read") {
  const res = await rig.trunk.sim.deliver(
    statusDelivery(
      { wabaId: c.wabaId, phoneNumberId: c.phoneNumberId },
      [statusObject(wamid, value, phone)],
      [{ waId: phone }],
    ),
  );
  expect(res.status).toBe(200);
  await rig.trunk.drain();
}

const ZERO: CampaignCounts = {
  queued: 0,
  scheduled: 0,
  sent: 0,
  delivered: 0,
  read: 0,
  replied: 0,
  failed: 0,
  suppressed: 0,
  cancelled: 0,
};

describe("a campaign", () => {
  it("sends to each candidate once (duplicates dropped, the opted-out one suppressed and never at Meta), answers the same campaign to the same key, and counts exactly through duplicated and out-of-order statuses and replies", async () => {
    const c = await rig.client();
    const socket = await connect(realtimeUrl, { token: c.jwt, clientId: c._id.toHexString() });
    const [p1, p2, p3, p4, stopped] = [newPhone(), newPhone(), newPhone(), newPhone(), newPhone()];
    const optOut = await api("POST", `/api/clients/${c._id.toHexString()}/opt-outs`, c.jwt, {
      candidatePhone: stopped,
      scope: "all",
      reason: "asked by phone",
    });
    expect(optOut.status).toBeLessThan(300);
    const recipients = [
      { candidatePhone: p1, templateVars: ["Amal", "Comptable"] },
      { candidatePhone: p2, templateVars: ["Yassine", "Caissier"] },
      { candidatePhone: p3, templateVars: ["Sara", "Vendeuse"] },
      { candidatePhone: p4, templateVars: ["Omar", "Magasinier"], applicationId: "app-4" },
      { candidatePhone: stopped, templateVars: ["Nadia", "Comptable"] },
      { candidatePhone: p2, templateVars: ["Yassine", "Caissier"] }, // the same candidate again
      { candidatePhone: `0${p3.slice(3)}`, templateVars: ["Sara", "Vendeuse"] }, // again, in local form
    ];
    const key = `campaign-${new Types.ObjectId().toHexString()}`;
    const first = await campaign(c, recipients, key);
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const id = String(first.body.campaignId);
    expect(id).toMatch(/^[0-9a-f]{24}$/);
    // The same key: the same campaign, nothing queued again.
    const again = await campaign(c, recipients, key);
    expect(again).toMatchObject({ status: 202, body: { campaignId: id } });
    expect(again.headers["idempotent-replayed"]).toBe("true");

    // The messages of the four distinct, reachable candidates (their ids derive from their positions).
    const oid = new Types.ObjectId(id);
    const ids = [0, 1, 2, 3].map((i) => campaignMessageId(oid, i).toHexString());
    await eventually(() => (acceptedAtMeta(ids).length === 4 ? true : null), 30_000);
    await countsBecome(c, id, { ...ZERO, sent: 4, suppressed: 1 });
    const atMeta = acceptedAtMeta(ids);
    expect(atMeta.map((m) => m.to).sort()).toEqual([p1, p2, p3, p4].sort());
    expect(rig.sim.accepted.filter((m) => m.to === stopped)).toEqual([]);
    const stored = await rig.message(c, ids[3]!);
    expect(stored).toMatchObject({ status: "sent", kind: "template" });
    expect(String(stored.campaignId)).toBe(id);
    const view = await api("GET", `/api/campaigns/${id}`, c.jwt);
    expect(view.body).toMatchObject({
      campaignId: id,
      status: "running",
      requested: 7,
      recipients: 5,
      duplicates: [5, 6],
      suppressedAtAcceptance: [{ index: 4, code: "CANDIDATE_OPTED_OUT" }],
    });

    const wamid = (phone: string) => atMeta.find((m) => m.to === phone)!.wamid;
    // p1: read before delivered, then read again; p2: delivered twice; p3: read only (delivered skipped).
    await status(c, wamid(p1), p1, "read");
    await status(c, wamid(p1), p1, "delivered");
    await status(c, wamid(p1), p1, "read");
    await status(c, wamid(p2), p2, "delivered");
    await status(c, wamid(p2), p2, "delivered");
    await status(c, wamid(p3), p3, "read");
    await countsBecome(c, id, { ...ZERO, sent: 4, delivered: 3, read: 2, suppressed: 1 });
    // Replies: p1 once, p2 twice (its first reply counts; replying means it was read).
    await rig.candidateWrites(c, p1, "Bonjour, je suis intéressée");
    await rig.candidateWrites(c, p2, "Merci !");
    await rig.candidateWrites(c, p2, "Quand puis-je passer ?");
    const final = { ...ZERO, sent: 4, delivered: 3, read: 3, replied: 2, suppressed: 1 };
    await countsBecome(c, id, final);
    // The dashboard saw the same counts (throttled: the last change is always announced).
    await eventually(() => {
      const last = (socket.payloads(EVENTS.campaignProgress) as Array<{ campaignId: string; counts: CampaignCounts }>)
        .filter((p) => p.campaignId === id)
        .at(-1);
      return last && JSON.stringify(last.counts) === JSON.stringify(final) ? last : null;
    }, 15_000);

    // Another tenant's recruiter cannot see it, as if it did not exist.
    const other = await rig.client();
    expect((await api("GET", `/api/campaigns/${id}`, other.jwt)).status).toBe(404);
    expect((await api("POST", `/api/campaigns/${id}/cancel`, other.jwt)).status).toBe(404);
  }, 120_000);

  it("a cancel stops what has not gone: the queued and the scheduled never reach Meta, their budget places are given back, the counts say so", async () => {
    // One send a second, and a portfolio limit of 3: 3 go now (paced), 5 wait a day.
    const c = await rig.client({ throughputMps: 1 });
    rig.sim.limits.mpsByNumber.set(c.phoneNumberId, 1);
    await rig.outbound.gate.state.setLimit(c.wabaId, 3, "test");
    const phones = Array.from({ length: 8 }, () => newPhone());
    const res = await campaign(
      c,
      phones.map((p) => ({ candidatePhone: p, templateVars: ["Amal", "Comptable"] })),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const id = String(res.body.campaignId);
    const ids = phones.map((_, i) => campaignMessageId(new Types.ObjectId(id), i).toHexString());
    // Accepted at once; the outbound worker then decides and queues each recipient.
    await expanded(c, id);
    const before = await countsOf(c, id);
    expect(before).toMatchObject({ scheduled: 5, suppressed: 0, failed: 0 });
    expect(before.queued + before.sent).toBe(3);

    await eventually(() => (acceptedAtMeta(ids).length >= 1 ? true : null), 30_000);
    const cancel = await api("POST", `/api/campaigns/${id}/cancel`, c.jwt);
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
    expect(cancel.body).toMatchObject({ status: "cancelled" });
    // Every job of the campaign ends (removed, or run and suppressed by the worker's check).
    await eventually(async () => {
      for (const m of ids) {
        const state = await rig.outbound.campaignQueue.getJobState(outboundJobId(m));
        if (!["completed", "failed", "unknown"].includes(state)) return null;
      }
      return true;
    }, 30_000);
    const sent = acceptedAtMeta(ids).length;
    expect(sent).toBeGreaterThanOrEqual(1);
    expect(sent).toBeLessThanOrEqual(3);
    const counts = await countsBecome(c, id, { ...ZERO, sent, suppressed: 8 - sent, cancelled: 8 - sent });
    expect(Number(cancel.body.cancelled)).toBeGreaterThanOrEqual(8 - sent);
    expect(counts.scheduled + counts.queued).toBe(0);
    // Only the sends that went hold a place in the portfolio's budget: the others' were given back.
    const usage = await rig.outbound.gate.budget.usage(c.wabaId, 3);
    expect(usage).toMatchObject({ used: sent, scheduled: 0 });
    // A second cancel changes nothing.
    const twice = await api("POST", `/api/campaigns/${id}/cancel`, c.jwt);
    expect(twice.body).toMatchObject({ status: "cancelled", cancelled: 0, counts });
  }, 120_000);

  it("a candidate who opts out after acceptance, before their send: suppressed at send time, never at Meta, their budget place given back", async () => {
    const c = await rig.client({ throughputMps: 1 });
    rig.sim.limits.mpsByNumber.set(c.phoneNumberId, 1);
    await rig.outbound.gate.state.setLimit(c.wabaId, 10, "test");
    const phones = [newPhone(), newPhone(), newPhone()];
    const res = await campaign(
      c,
      phones.map((p) => ({ candidatePhone: p, templateVars: ["Amal", "Comptable"] })),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const id = String(res.body.campaignId);
    await expanded(c, id);
    // Counted in the budget at the campaign's expansion, all three.
    expect((await rig.outbound.gate.budget.usage(c.wabaId, 10)).used).toBe(3);
    // One send a second: the last one waits for its slot while its candidate writes STOP (here: the API).
    const stop = await api("POST", `/api/clients/${c._id.toHexString()}/opt-outs`, c.jwt, {
      candidatePhone: phones[2],
      scope: "all",
    });
    expect(stop.status).toBeLessThan(300);
    const ids = phones.map((_, i) => campaignMessageId(new Types.ObjectId(id), i).toHexString());
    await countsBecome(c, id, { ...ZERO, sent: 2, suppressed: 1 });
    expect(
      acceptedAtMeta(ids)
        .map((m) => m.to)
        .sort(),
    ).toEqual(phones.slice(0, 2).sort());
    expect((await rig.message(c, ids[2]!)).status).toBe("suppressed");
    // Only the two that went hold a place.
    expect((await rig.outbound.gate.budget.usage(c.wabaId, 10)).used).toBe(2);
  }, 120_000);

  it("another tenant's reply goes before a running campaign's sends", async () => {
    const bulk = await rig.client({ throughputMps: 5 });
    rig.sim.limits.mpsByNumber.set(bulk.phoneNumberId, 5);
    const other = await rig.client();
    const writer = newPhone();
    await rig.candidateWrites(other, writer, "Bonjour");
    const phones = Array.from({ length: 40 }, () => newPhone());
    const res = await campaign(
      bulk,
      phones.map((p) => ({ candidatePhone: p, templateVars: ["B", "J"] })),
    );
    expect(res.status).toBe(202);
    const ids = phones.map((_, i) =>
      campaignMessageId(new Types.ObjectId(String(res.body.campaignId)), i).toHexString(),
    );
    const reply = await rig.send(other.jwt, { candidatePhone: writer, message: "Réponse" });
    await rig.until(other, reply.body.messageId, ["sent"], 15_000);
    const replyAt = rig.acceptedFor(reply.body.messageId)[0]!.at;
    await eventually(() => (acceptedAtMeta(ids).length === ids.length ? true : null), 60_000);
    // 40 at 4.5/s take about 9 s: the reply did not wait for them.
    expect(acceptedAtMeta(ids).filter((m) => m.at > replyAt).length).toBeGreaterThanOrEqual(10);
  }, 120_000);

  it("another tenant's reply goes while a campaign is being expanded: the expansion yields between its slices", async () => {
    const bulk = await rig.client();
    // Half goes now, the other half is scheduled a day later (the portfolio's limit).
    await rig.outbound.gate.state.setLimit(bulk.wabaId, 150, "test");
    const other = await rig.client();
    const writer = newPhone();
    await rig.candidateWrites(other, writer, "Bonjour");
    const phones = Array.from({ length: 300 }, (_, i) => `2126${String(60_000_000 + i)}`);
    const res = await campaign(
      bulk,
      phones.map((p) => ({ candidatePhone: p, templateVars: ["B", "J"] })),
    );
    expect(res.status).toBe(202);
    const campaignId = String(res.body.campaignId);
    const decided = async () => {
      const n = await rig.outbound.campaigns.counts(campaignId);
      return n ? n.queued + n.scheduled + n.suppressed + n.sent : 0;
    };
    // The expansion has begun: its first slice is counted.
    await eventually(async () => ((await decided()) > 0 ? true : null), 30_000);
    const reply = await rig.send(other.jwt, { candidatePhone: writer, message: "Réponse" });
    expect(reply.status).toBe(202);
    await rig.until(other, reply.body.messageId, ["sent"], 15_000);
    expect(rig.acceptedFor(reply.body.messageId)).toHaveLength(1);
    // The reply reached Meta before the expansion had decided every recipient: not queued behind it.
    expect(await decided()).toBeLessThan(phones.length);
    const done = (await expanded(bulk, campaignId, 90_000)) as { counts: CampaignCounts };
    expect(done.counts.scheduled).toBe(150);
    expect(done.counts.queued + done.counts.sent).toBe(150);
  }, 120_000);
});
