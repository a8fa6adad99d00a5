import type { Redis } from "ioredis";
import { Queue, Worker, type Job } from "bullmq";
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database, type CampaignRecipientDoc, type TemplateDoc } from "@linkojob/db";
import {
  CAMPAIGN_EXPANSION_JOB,
  CAMPAIGN_EXPANSION_QUEUE,
  OUTBOUND_CAMPAIGN_QUEUE,
  campaignExpansionJobId,
  createRedis,
  outboundJobId,
  type CampaignExpansionJob,
  type OutboundJob,
} from "@linkojob/queues";
import { eventually, testServices } from "@linkojob/testing";
import { storedTemplate } from "@linkojob/testing/fixtures";
import { OptOutRegister } from "../opt-outs/index.js";
import { SendDecider } from "../send-decider.js";
import { SendState } from "../send-state.js";
import { SendGate } from "../sending-policy/index.js";
import { campaignMessageId } from "./campaign-ids.js";
import { CampaignProgress } from "./campaign-progress.js";
import { CampaignExpander, campaignChunksOf, cancelCampaignSends } from "./campaign-expansion.js";

// A campaign's expansion on real parts (Redis and BullMQ, the MongoDB-protocol server): a run that
// dies in the middle of a chunk (half its jobs queued, nothing counted, the cursor not moved) is
// retried by BullMQ and every recipient ends queued or scheduled exactly once, within the budget.
let db: Database;
let redis: Redis;
let queueRedis: Redis;
let prefix: string;
let redisUrl: string;

beforeAll(async () => {
  const services = testServices("campexp");
  prefix = services.prefix;
  redisUrl = services.redisUrl;
  db = await Database.connect(services.mongoUrl);
  redis = createRedis(services.redisUrl);
  queueRedis = createRedis(services.redisUrl, { autoPipelining: false });
});
afterAll(async () => {
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
  await redis?.quit();
  await queueRedis?.quit();
});

/** A tenant with an approved first-contact template, its send state written, and a portfolio limit. */
async function tenantWithLimit(phoneNumberId: string, whatsappNumber: string, limit: number) {
  const wabaId = `waba-exp-${new Types.ObjectId().toHexString()}`;
  const c = await db.clients.create({
    userId: `exp-user-${wabaId}`,
    companyName: "ACME",
    phoneNumberId,
    wabaId,
    whatsappNumber,
    status: "active",
  });
  await db.templates.collection.insertOne(storedTemplate<TemplateDoc>({ wabaId }));
  const state = new SendState({ redis, prefix, db });
  await state.writeClient(c._id);
  await state.writeTemplates(wabaId);
  const gate = new SendGate({ redis, prefix, db });
  await gate.state.setLimit(wabaId, limit, "test");
  return { clientId: c._id.toHexString(), wabaId, state, gate };
}

/** A campaign stored as the POST route stores it: its recipients in chunks of 50, then the campaign. */
async function storedCampaign(clientId: string, phones: string[]) {
  const recipients: CampaignRecipientDoc[] = phones.map((phone, index) => ({
    index,
    phone,
    userId: null,
    vars: ["Amal", "Comptable"],
    applicationId: null,
  }));
  const campaigns = db.campaignsOf(clientId);
  const campaignId = new Types.ObjectId();
  const chunks = campaignChunksOf(recipients, 50);
  await campaigns.storeRecipients(campaignId, chunks);
  await campaigns.create({
    _id: campaignId,
    idempotencyKey: `k-${campaignId.toHexString()}`,
    templateName: "application_received",
    language: "fr",
    requested: phones.length,
    recipients: phones.length,
    duplicates: [],
    suppressed: [],
    chunks: chunks.length,
    createdBy: { role: "service", userId: "platform" },
  });
  return { campaigns, campaignId, chunks };
}

describe("CampaignExpander", () => {
  it("a run that dies mid-chunk is retried: each recipient queued or scheduled once, the opted-out ones suppressed once, the budget spent exactly", async () => {
    const limit = 120;
    const { clientId, wabaId, state, gate } = await tenantWithLimit(
      `77${Date.now() % 1_000_000}`,
      "212522000001",
      limit,
    );
    // 250 recipients in chunks of 50; three opted out.
    const phones = Array.from({ length: 250 }, (_, i) => `2126${String(30_000_000 + i)}`);
    const stopped = [phones[3]!, phones[120]!, phones[249]!];
    const register = new OptOutRegister({ db, state: state.optOuts });
    for (const p of stopped)
      await register.change({
        clientId,
        candidate: { phones: [p], userIds: [] },
        action: "opt_out",
        scope: "all",
        source: "recruiter",
        at: new Date(),
        dedupeKey: `test:${p}`,
      });
    const { campaigns, campaignId, chunks } = await storedCampaign(clientId, phones);

    const lane = new Queue<OutboundJob>(OUTBOUND_CAMPAIGN_QUEUE, { connection: queueRedis, prefix });
    await lane.obliterate({ force: true });
    // The third chunk's first enqueue: half its jobs reach Redis, then the process "dies" (the run throws).
    let calls = 0;
    const crashing = new Proxy(lane, {
      get(target, prop, receiver) {
        if (prop === "addBulk")
          return async (jobs: Parameters<typeof target.addBulk>[0]) => {
            if (++calls === 3) {
              await target.addBulk(jobs.slice(0, Math.floor(jobs.length / 2)));
              throw new Error("the process died mid-chunk");
            }
            return target.addBulk(jobs);
          };
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const progress = new CampaignProgress({ redis, prefix, db });
    const expander = new CampaignExpander({
      db,
      decider: new SendDecider(state, { gate }),
      queue: crashing,
      progress,
    });
    const expansions = new Queue<CampaignExpansionJob>(CAMPAIGN_EXPANSION_QUEUE, { connection: queueRedis, prefix });
    const attempts: string[] = [];
    const workerRedis = createRedis(redisUrl, { autoPipelining: false });
    const worker = new Worker<CampaignExpansionJob>(
      CAMPAIGN_EXPANSION_QUEUE,
      async (job: Job<CampaignExpansionJob>) => {
        try {
          const out = await expander.expand(job.data.clientId, job.data.campaignId);
          attempts.push(out);
          return out;
        } catch (err) {
          attempts.push("died");
          throw err;
        }
      },
      { connection: workerRedis, prefix },
    );
    const job = { clientId, campaignId: campaignId.toHexString() };
    const opts = { jobId: campaignExpansionJobId(job.campaignId), attempts: 3, backoff: { type: "fixed", delay: 50 } };
    await expansions.add(CAMPAIGN_EXPANSION_JOB, job, opts);
    // A repeated POST adds the same job: nothing new.
    await expansions.add(CAMPAIGN_EXPANSION_JOB, job, opts);
    await eventually(() => (attempts.length >= 2 ? true : null), 30_000);
    expect(attempts).toEqual(["died", "expanded"]);

    // Each planned recipient has exactly one job, under its derived id; the opted-out ones none.
    const planned = phones.length - stopped.length;
    const jobs = await lane.getJobs(["waiting", "delayed", "prioritized", "paused"], 0, -1);
    const ids = jobs.map((j) => j.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(planned);
    const want = phones
      .map((p, i) => (stopped.includes(p) ? null : outboundJobId(campaignMessageId(campaignId, i).toHexString())))
      .filter(Boolean)
      .sort();
    expect([...ids].sort()).toEqual(want);
    expect(
      new Set(jobs.map((j) => (j.data.accepted as { request: { candidatePhone: string } }).request.candidatePhone))
        .size,
    ).toBe(planned);
    // Counts: once each. The budget: exactly `limit` go now, the rest scheduled after.
    const counts = await progress.counts(campaignId.toHexString());
    expect(counts).toMatchObject({ queued: limit, scheduled: planned - limit, suppressed: stopped.length });
    expect(jobs.filter((j) => !(j.opts.delay ?? 0)).length).toBe(limit);
    expect((await gate.budget.usage(wabaId, limit)).used + (await gate.budget.usage(wabaId, limit)).scheduled).toBe(
      planned,
    );
    const doc = await campaigns.get(campaignId);
    expect(doc).toMatchObject({ status: "running", expandedChunks: chunks.length });
    expect(doc!.suppressed.map((s) => s.index).sort((a, b) => a - b)).toEqual([3, 120, 249]);
    // The recipients' numbers are gone from the campaign's storage once queued.
    expect(await db.campaignRecipients.countDocuments({ campaignId })).toBe(0);
    await worker.close();
    await workerRedis.quit();
    await expansions.obliterate({ force: true });
    await expansions.close();
    await lane.obliterate({ force: true });
    await lane.close();
    await progress.close();
  }, 60_000);

  it("a cancel during the expansion stops it: what it queued is cancelled (budget places given back), the rest never decided, the recipients dropped", async () => {
    const { clientId, wabaId, state, gate } = await tenantWithLimit(
      `76${Date.now() % 1_000_000}`,
      "212522000002",
      1_000,
    );
    const phones = Array.from({ length: 150 }, (_, index) => `2126${String(40_000_000 + index)}`);
    const { campaigns, campaignId } = await storedCampaign(clientId, phones);
    const lane = new Queue<OutboundJob>(OUTBOUND_CAMPAIGN_QUEUE, { connection: queueRedis, prefix });
    await lane.obliterate({ force: true });
    const progress = new CampaignProgress({ redis, prefix, db });
    const decider = new SendDecider(state, { gate });
    let cancelledBy = -1;
    // The recruiter's cancel (as POST /api/campaigns/:id/cancel runs it) lands while the first chunk is queued.
    const cancelling = new Proxy(lane, {
      get(target, prop, receiver) {
        if (prop === "addBulk")
          return async (jobs: Parameters<typeof target.addBulk>[0]) => {
            const out = await target.addBulk(jobs);
            await campaigns.markCancelled(campaignId);
            cancelledBy = (
              await cancelCampaignSends({ queue: lane, progress, decider }, clientId, campaignId.toHexString())
            ).length;
            return out;
          };
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const expander = new CampaignExpander({ db, decider, queue: cancelling, progress });
    expect(await expander.expand(clientId, campaignId.toHexString())).toBe("cancelled");
    // The cancel ran before the first chunk was counted: the expansion's own stop cancelled its 50.
    expect(cancelledBy).toBe(0);
    expect(await progress.counts(campaignId.toHexString())).toMatchObject({
      queued: 0,
      scheduled: 0,
      suppressed: 50,
      cancelled: 50,
    });
    expect(await lane.getJobCountByTypes("waiting", "delayed", "prioritized", "paused")).toBe(0);
    const usage = await gate.budget.usage(wabaId, 1_000);
    expect(usage.used + usage.scheduled).toBe(0);
    expect(await campaigns.get(campaignId)).toMatchObject({ status: "cancelled", expandedChunks: 1 });
    expect(await db.campaignRecipients.countDocuments({ campaignId })).toBe(0);
    // Its job retried: nothing more.
    expect(await expander.expand(clientId, campaignId.toHexString())).toBe("cancelled");
    expect(await lane.getJobCountByTypes("waiting", "delayed", "prioritized", "paused")).toBe(0);
    await lane.obliterate({ force: true });
    await lane.close();
    await progress.close();
  }, 60_000);
});
