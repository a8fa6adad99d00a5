import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import { Types } from "mongoose";
import type { TemplateDoc } from "@linkojob/db";
import { CAMPAIGN_EXPANSION_QUEUE, OUTBOUND_CAMPAIGN_QUEUE, campaignExpansionJobId } from "@linkojob/queues";
import { tokenFor } from "@linkojob/testing";
import { storedTemplate } from "@linkojob/testing/fixtures";
import { CampaignExpander, CampaignProgress, SendDecider, SendState } from "@linkojob/outbound";
import { campaignAcceptedSchema, campaignCancelledSchema, campaignSchema } from "@linkojob/events";
import { startTestIngress, type TestIngress } from "../ingress.harness.js";

// POST /api/campaigns's refusals on the real ingress (app.inject), Redis and MongoDB-protocol server:
// each names the problem, and nothing is stored or queued; an accepted one is stored with one expansion job.
let h: TestIngress;
let queue: Queue;
let expansions: Queue;
let seq = 0;

beforeAll(async () => {
  h = await startTestIngress("campaigns");
  queue = new Queue(OUTBOUND_CAMPAIGN_QUEUE, { connection: h.redis.duplicate(), prefix: h.services.prefix });
  expansions = new Queue(CAMPAIGN_EXPANSION_QUEUE, { connection: h.redis.duplicate(), prefix: h.services.prefix });
});
afterAll(async () => {
  await queue?.close();
  await expansions?.close();
  await h?.close();
});

async function client(templateStatus = "APPROVED") {
  seq++;
  const wabaId = `waba-camp-${h.services.id}-${seq}`;
  const c = await h.db.clients.create({
    userId: `camp-user-${h.services.id}-${seq}`,
    companyName: "ACME",
    phoneNumberId: `88${Date.now() % 1_000_000}${seq}`,
    wabaId,
    whatsappNumber: "212522000000",
    status: "active",
  });
  await h.db.templates.collection.insertOne(storedTemplate<TemplateDoc>({ wabaId, status: templateStatus }));
  await new SendState({ redis: h.redis, prefix: h.services.prefix, db: h.db }).writeTemplates(wabaId);
  return { doc: c.toObject(), jwt: await tokenFor(c.userId, "recruiter") };
}

const post = (jwt: string | null, payload: unknown) =>
  h.app.inject({
    method: "POST",
    url: "/api/campaigns",
    headers: jwt ? { authorization: `Bearer ${jwt}` } : {},
    payload: payload as object,
  });

const body = (clientId: string, recipients: unknown[], over: Record<string, unknown> = {}) => ({
  clientId,
  templateName: "application_received",
  language: "fr",
  recipients,
  idempotencyKey: `key-${++seq}`,
  ...over,
});

const phone = (i: number) => `2126${String(10_000_000 + seq * 1000 + i).slice(-8)}`;

/** Nothing stored, nothing queued. */
async function nothingAccepted(clientId: Types.ObjectId) {
  expect(await h.db.campaigns.countDocuments({ clientId })).toBe(0);
  expect(await h.db.campaignRecipients.countDocuments({ clientId })).toBe(0);
  for (const q of [queue, expansions]) {
    const jobs = await q.getJobCounts("wait", "delayed", "prioritized", "active");
    expect(Object.values(jobs).reduce((a, b) => a + b, 0)).toBe(0);
  }
}

describe("POST /api/campaigns refuses bad input with the problem named, and accepts nothing", () => {
  it("a body that does not fit: each field named (400 VALIDATION_ERROR)", async () => {
    const c = await client();
    const id = c.doc._id.toHexString();
    const cases: Array<[unknown, string]> = [
      [{ ...body(id, [{ candidatePhone: phone(1) }]), idempotencyKey: undefined }, "/idempotencyKey"],
      [body(id, []), "/recipients"],
      [
        body(
          id,
          Array.from({ length: 10_001 }, (_, i) => ({ candidatePhone: phone(i) })),
        ),
        "/recipients",
      ],
      [body(id, [{ candidatePhone: phone(1), candidateUserId: "MA.123" }]), "/recipients/0/candidatePhone"],
      [body(id, [{}]), "/recipients/0/candidatePhone"],
      [body(id, [{ candidatePhone: phone(1), templateVars: [1, 2] }]), "/recipients/0/templateVars"],
      [body(id, [{ candidatePhone: phone(1) }], { templateName: "Bad Name" }), "/templateName"],
      [body(id, [{ candidatePhone: phone(1) }], { language: "french" }), "/language"],
      [body(id, [{ candidatePhone: phone(1) }], { clientId: "nope" }), "/clientId"],
      [body(id, [{ candidatePhone: phone(1), surprise: true }]), "/recipients/0"],
    ];
    for (const [payload, path] of cases) {
      const res = await post(c.jwt, payload);
      expect(res.statusCode, path).toBe(400);
      const err = res.json().error as { code: string; details: Array<{ path: string; message: string }> };
      expect(err.code, path).toBe("VALIDATION_ERROR");
      expect(
        err.details.some((d) => d.path === path || d.path.startsWith(`${path}/`)),
        `${path} in ${JSON.stringify(err.details)}`,
      ).toBe(true);
    }
    await nothingAccepted(c.doc._id);
  });

  it("a recipient whose phone is not a number, or whose variables do not fit the template: 400 naming each recipient", async () => {
    const c = await client();
    const id = c.doc._id.toHexString();
    const badPhone = await post(
      c.jwt,
      body(id, [
        { candidatePhone: phone(1), templateVars: ["A", "B"] },
        { candidatePhone: "not-a-phone", templateVars: ["A", "B"] },
      ]),
    );
    expect(badPhone.statusCode).toBe(400);
    expect(badPhone.json().error).toMatchObject({
      code: "VALIDATION_ERROR",
      details: { count: 1, problems: [{ field: "recipients.1.candidatePhone" }] },
    });
    const badVars = await post(
      c.jwt,
      body(id, [
        { candidatePhone: phone(2), templateVars: ["A", "B"] },
        { candidatePhone: phone(3), templateVars: ["only one"] },
        { candidatePhone: phone(4), templateVars: ["A", "B", "C"] },
      ]),
    );
    expect(badVars.statusCode).toBe(400);
    expect(badVars.json().error).toMatchObject({
      code: "TEMPLATE_PARAM_COUNT",
      details: {
        count: 2,
        problems: [
          { field: "recipients.1.templateVars", code: "TEMPLATE_PARAM_COUNT" },
          { field: "recipients.2.templateVars", code: "TEMPLATE_PARAM_COUNT" },
        ],
      },
    });
    await nothingAccepted(c.doc._id);
  });

  it("a template Meta paused: 409 TEMPLATE_NOT_APPROVED; a client that does not exist: 404", async () => {
    const c = await client("PAUSED");
    const res = await post(
      c.jwt,
      body(c.doc._id.toHexString(), [{ candidatePhone: phone(1), templateVars: ["A", "B"] }]),
    );
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe("TEMPLATE_NOT_APPROVED");
    await nothingAccepted(c.doc._id);
    const service = await tokenFor("platform", "service");
    const missing = await post(service, body(new Types.ObjectId().toHexString(), [{ candidatePhone: phone(2) }]));
    expect(missing.statusCode).toBe(404);
  });

  it("as the other tenant routes: no token 401, another tenant's recruiter 403; the service names any client, and the same key answers the same campaign", async () => {
    const c = await client();
    const other = await client();
    const id = c.doc._id.toHexString();
    const recipients = [{ candidatePhone: phone(1), templateVars: ["A", "B"] }];
    expect((await post(null, body(id, recipients))).statusCode).toBe(401);
    const foreign = await post(other.jwt, body(id, recipients));
    expect(foreign.statusCode).toBe(403);
    await nothingAccepted(c.doc._id);
    const service = await tokenFor("platform", "service");
    const payload = body(id, recipients);
    const first = await post(service, payload);
    expect(first.statusCode, first.body).toBe(202);
    const campaignId = first.json().campaignId as string;
    const again = await post(service, payload);
    expect(again.statusCode).toBe(202);
    expect(campaignAcceptedSchema.parse(again.json())).toEqual({ campaignId });
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(await h.db.campaigns.countDocuments({ clientId: c.doc._id })).toBe(1);
    // Accepted at once: stored `expanding`, with ONE expansion job (the repeat added none).
    expect(await expansions.getJobCountByTypes("wait", "delayed", "prioritized", "active")).toBe(1);
    expect(await expansions.getJob(campaignExpansionJobId(campaignId))).toBeTruthy();
    const view = () =>
      h.app.inject({
        method: "GET",
        url: `/api/campaigns/${campaignId}`,
        headers: { authorization: `Bearer ${c.jwt}` },
      });
    const accepted = await view();
    expect(accepted.statusCode).toBe(200);
    // Exactly the contract's keys (a strict schema): a stored field added by mistake fails here.
    expect(campaignSchema.safeParse(accepted.json()).error?.issues ?? []).toEqual([]);
    expect(accepted.json()).toMatchObject({
      campaignId,
      status: "expanding",
      recipients: 1,
      expansion: { state: "expanding", chunks: 1, expandedChunks: 0 },
    });
    // The outbound worker's expansion (here, run by the test): the recipient queued in the campaign's lane.
    const progress = new CampaignProgress({ redis: h.redis, prefix: h.services.prefix, db: h.db });
    const state = new SendState({ redis: h.redis, prefix: h.services.prefix, db: h.db });
    await new CampaignExpander({ db: h.db, decider: new SendDecider(state), queue, progress }).expand(id, campaignId);
    // Its view: the tenant's recruiter sees it, the other tenant's as if it did not exist.
    const mine = await view();
    expect(mine.statusCode).toBe(200);
    expect(campaignSchema.safeParse(mine.json()).error?.issues ?? []).toEqual([]);
    expect(mine.json()).toMatchObject({
      campaignId,
      status: "running",
      recipients: 1,
      counts: { queued: 1 },
      expansion: { state: "accepted", expandedChunks: 1 },
    });
    expect(await queue.getJobCountByTypes("wait", "delayed", "prioritized")).toBe(1);
    await progress.close();
    // The counts copy stored with the campaign (read once Redis has no live counters) keeps only the
    // contract's counts, whatever else it holds.
    await h.redis.del(`${h.services.prefix}:campaign:${campaignId}:counts`);
    await h.db.campaigns.collection.updateOne(
      { _id: new Types.ObjectId(campaignId) },
      { $set: { counts: { queued: 2, sent: 1, claimedBy: "worker-1" } } },
    );
    const copied = (await view()).json<unknown>();
    expect(campaignSchema.safeParse(copied).error?.issues ?? []).toEqual([]);
    expect(copied).toMatchObject({ counts: { queued: 2, sent: 1, delivered: 0 } });
    const stopped = await h.app.inject({
      method: "POST",
      url: `/api/campaigns/${campaignId}/cancel`,
      headers: { authorization: `Bearer ${c.jwt}` },
    });
    expect(stopped.statusCode, stopped.body).toBe(200);
    expect(campaignCancelledSchema.safeParse(stopped.json()).error?.issues ?? []).toEqual([]);
    const theirs = await h.app.inject({
      method: "GET",
      url: `/api/campaigns/${campaignId}`,
      headers: { authorization: `Bearer ${other.jwt}` },
    });
    expect(theirs.statusCode).toBe(404);
    const malformed = await h.app.inject({
      method: "GET",
      url: `/api/campaigns/xyz`,
      headers: { authorization: `Bearer ${c.jwt}` },
    });
    expect(malformed.statusCode).toBe(400);
    await queue.obliterate({ force: true });
    await expansions.obliterate({ force: true });
  });
});
