import type { Queue } from "bullmq";
import { Types } from "mongoose";
import type { Principal } from "@linkojob/auth";
import type { CampaignDoc, Database } from "@linkojob/db";
import type { OutboundJob, RedisClient } from "@linkojob/queues";
import {
  CampaignProgress,
  campaignMessageId,
  enqueueSends,
  refusedRecipientMember,
  templateRefusal,
  templateRefusalStatus,
  type CampaignEvent,
  type CampaignRequest,
  type GateDecision,
  type OutboundRequest,
  type SendClient,
  type SendEnqueue,
} from "@linkojob/outbound";
import { normalizePhone } from "@linkojob/whatsapp";
import { HttpError, notFound } from "../http/errors.js";
import type { PlannedSend, SendAcceptance } from "../sends/send-acceptance.js";

/** Recipients decided (and enqueued) at once: one round of Redis requests each, bounded memory. */
const CHUNK = 500;
/** How long one acceptance holds a campaign (a crashed one's lease ends by itself; the retry resumes it). */
const ACCEPT_LEASE_MS = 120_000;
/** Problems named in a refusal (the count gives the rest). */
const SHOWN_PROBLEMS = 50;

interface Problem {
  field: string;
  code?: string;
  message: string;
}

const refuse = (status: number, code: string, message: string, problems: Problem[]) =>
  new HttpError(status, code, message, { count: problems.length, problems: problems.slice(0, SHOWN_PROBLEMS) });

/** A Redis or MongoDB failure while accepting: what was queued stays, the same idempotencyKey resumes the rest. */
const unavailable = (err: unknown) =>
  err instanceof HttpError
    ? err
    : new HttpError(
        503,
        "CAMPAIGN_UNAVAILABLE",
        "the campaign could not be accepted right now: retry with the same idempotencyKey (nothing is sent twice)",
      );

async function inChunks<T, R>(items: T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

interface Recipient {
  index: number;
  request: OutboundRequest;
}

/**
 * Accepts a campaign: one template to up to 10,000 candidates of a client. Each recipient goes
 * through the single send's own steps (SendAcceptance.decide: the candidate's window and opt-out
 * from the send state in Redis, planSend, the opt-out rule; templateRefusal; SendAcceptance.gateOf:
 * quality, quiet hours, the portfolio's budget) and becomes the same job, in the campaign's lane
 * (behind every reply and single first contact). Opted-out recipients are counted `suppressed` and
 * never queued; duplicates (the same phone or user id again) are dropped, by their position.
 *
 * Nothing is stored or queued for a request with a bad recipient (400 naming each, or the template's
 * refusal). The campaign document is written before the first job; message ids are derived from the
 * campaign id and each recipient's position (campaignMessageId), so a repeated request with the same
 * idempotencyKey answers the same campaign and, if the first acceptance stopped halfway, queues the
 * rest without queuing or counting anything twice.
 */
export class CampaignAcceptance {
  constructor(
    private readonly deps: {
      db: Database;
      redis: RedisClient;
      prefix: string;
      queue: Queue<OutboundJob>;
      acceptance: SendAcceptance;
      progress: CampaignProgress;
    },
  ) {}

  async accept(principal: Principal, body: CampaignRequest): Promise<{ campaignId: string; replay: boolean }> {
    const { acceptance, db } = this.deps;
    const tenant = await acceptance.tenantFor(principal, body.clientId);
    const clientId = tenant.clientId.toHexString();
    const client = await acceptance.caches.client(clientId).catch((err: unknown) => Promise.reject(unavailable(err)));
    if (!client) throw notFound("client");
    if (client.status === "disconnected")
      throw new HttpError(
        409,
        "CLIENT_DISCONNECTED",
        "this client's WhatsApp is disconnected: reconnect it before sending",
        {
          clientId,
        },
      );
    const campaigns = db.campaignsOf(clientId);
    const existing = await campaigns
      .byKey(body.idempotencyKey)
      .catch((err: unknown) => Promise.reject(unavailable(err)));
    if (existing && existing.status !== "accepting") return { campaignId: existing._id.toHexString(), replay: true };

    const { recipients, duplicates } = this.normalise(body);
    // Every recipient's template request, as a single send's is checked before anything is queued.
    const templates = acceptance.caches.templatesOf(client.wabaId);
    const refusals = (
      await inChunks(recipients, CHUNK, async (r) => ({
        r,
        // A campaign's send is a first contact: planned as to a closed window (the worker decides again).
        refusal: await templateRefusal({
          request: r.request,
          client,
          conversation: { windowExpiresAt: null },
          templates,
          prices: acceptance.prices,
          estimate: true,
        }),
      }))
    ).filter((x) => x.refusal);
    if (refusals.length) {
      const first = refusals[0]!.refusal!;
      throw refuse(
        templateRefusalStatus(first),
        first.code,
        `${refusals.length} recipient(s) cannot get template ${body.templateName} (${body.language}): ${first.reason}`,
        refusals.map(({ r, refusal }) => ({
          field: `recipients.${r.index}.templateVars`,
          code: refusal!.code,
          message: refusal!.reason,
        })),
      );
    }
    // Each recipient decided as a single send is (no side effect yet).
    const decided = await inChunks(recipients, CHUNK, async (r) => ({
      r,
      decision: await acceptance.decide(clientId, client, r.request),
    })).catch((err: unknown) => Promise.reject(unavailable(err)));
    const refused = decided.filter((d) => !d.decision.optedOut && d.decision.plan.kind === "refused");
    if (refused.length) {
      const plan = refused[0]!.decision.plan as Extract<PlannedSend["plan"], { kind: "refused" }>;
      throw refuse(
        400,
        plan.code,
        `${refused.length} recipient(s) cannot be sent this template: ${plan.reason}`,
        refused.map(({ r, decision }) => {
          const p = decision.plan as Extract<PlannedSend["plan"], { kind: "refused" }>;
          return { field: `recipients.${r.index}`, code: p.code, message: p.reason };
        }),
      );
    }
    const suppressed = decided
      .filter((d) => d.decision.optedOut)
      .map((d) => ({ index: d.r.index, code: d.decision.optedOut!.code }));

    let campaign: CampaignDoc;
    if (existing) campaign = existing;
    else {
      const created = await campaigns
        .create({
          _id: new Types.ObjectId(),
          idempotencyKey: body.idempotencyKey,
          templateName: body.templateName,
          language: body.language,
          requested: body.recipients.length,
          recipients: recipients.length,
          duplicates,
          suppressed,
          createdBy: { role: principal.role, userId: principal.userId },
        })
        .catch((err: unknown) => Promise.reject(unavailable(err)));
      campaign = created.campaign;
      if (!created.created && campaign.status !== "accepting")
        return { campaignId: campaign._id.toHexString(), replay: true };
    }
    const campaignId = campaign._id.toHexString();
    const lease = `${this.deps.prefix}:campaign:${campaignId}:accepting`;
    const token = new Types.ObjectId().toHexString();
    if (!(await this.deps.redis.set(lease, token, "PX", ACCEPT_LEASE_MS, "NX").catch(() => null)))
      throw new HttpError(
        409,
        "CAMPAIGN_BEING_ACCEPTED",
        "this campaign is being accepted: retry shortly for its answer",
        {
          campaignId,
        },
      );
    try {
      await this.queueAll(clientId, client, campaign, decided, suppressed);
      await campaigns.markRunning(campaign._id);
    } catch (err) {
      throw unavailable(err);
    } finally {
      if ((await this.deps.redis.get(lease).catch(() => null)) === token)
        await this.deps.redis.del(lease).catch(() => 0);
    }
    await this.deps.progress.emitNow(clientId, campaignId).catch(() => undefined);
    return { campaignId, replay: !!existing };
  }

  /** Phones normalised (400 naming each bad one), duplicates (the same phone or user id again) dropped. */
  private normalise(body: CampaignRequest): { recipients: Recipient[]; duplicates: number[] } {
    const problems: Problem[] = [];
    const seen = new Set<string>();
    const recipients: Recipient[] = [];
    const duplicates: number[] = [];
    body.recipients.forEach((r, index) => {
      const phone = r.candidatePhone === undefined ? null : normalizePhone(r.candidatePhone);
      if (r.candidatePhone !== undefined && !phone) {
        problems.push({
          field: `recipients.${index}.candidatePhone`,
          message: "not a phone number (digits with country code, or a Moroccan 06/07 number)",
        });
        return;
      }
      const key = phone ? `p:${phone}` : `u:${r.candidateUserId}`;
      if (seen.has(key)) {
        duplicates.push(index);
        return;
      }
      seen.add(key);
      recipients.push({
        index,
        request: {
          candidatePhone: phone,
          candidateUserId: r.candidateUserId ?? null,
          candidateName: null,
          message: null,
          templateName: body.templateName,
          templateLanguage: body.language,
          templateVars: r.templateVars ?? null,
          templateHeader: null,
          templateButtons: null,
          jobTitle: null,
          companyName: null,
          applicationId: r.applicationId ?? null,
        },
      });
    });
    if (problems.length)
      throw refuse(400, "VALIDATION_ERROR", `${problems.length} recipient(s) have a bad candidatePhone`, problems);
    return { recipients, duplicates };
  }

  /**
   * Gates and enqueues every planned recipient, a chunk at a time: its counts first (queued or
   * scheduled; the opted-out ones suppressed), then its jobs in one round trip. A chunk that could not
   * be enqueued gives its budget places back; the request then fails and its retry resumes.
   */
  private async queueAll(
    clientId: string,
    client: SendClient,
    campaign: CampaignDoc,
    decided: Array<{ r: Recipient; decision: Awaited<ReturnType<SendAcceptance["decide"]>> }>,
    suppressed: Array<{ index: number; code: string }>,
  ): Promise<void> {
    const { acceptance, progress } = this.deps;
    const campaignId = campaign._id.toHexString();
    if (suppressed.length)
      await progress.mark(
        clientId,
        campaignId,
        suppressed.map((s) => [refusedRecipientMember(s.index), "suppressed"]),
      );
    const planned = decided.filter((d) => !d.decision.optedOut) as Array<{ r: Recipient; decision: PlannedSend }>;
    for (let i = 0; i < planned.length; i += CHUNK) {
      const chunk = planned.slice(i, i + CHUNK);
      const gated: Array<GateDecision | null> = [];
      try {
        const jobs = await Promise.all(
          chunk.map(async ({ r, decision }, k): Promise<{ job: SendEnqueue; event: CampaignEvent }> => {
            const gate = await acceptance.gateOf(client, r.request, decision.plan);
            gated[k] = gate;
            const messageId = campaignMessageId(campaign._id, r.index).toHexString();
            return {
              job: {
                clientId,
                messageId,
                kind: decision.kind,
                lane: "campaign",
                accepted: acceptance.acceptedOf(r.request, null, decision, gate, { campaignId }),
                ...(gate?.action === "schedule" ? { delayMs: Math.max(0, gate.at - Date.now()) } : {}),
              },
              event: gate?.action === "schedule" ? "scheduled" : "queued",
            };
          }),
        );
        await progress.mark(
          clientId,
          campaignId,
          jobs.map((j) => [j.job.messageId, j.event]),
        );
        await enqueueSends(
          this.deps.queue,
          jobs.map((j) => j.job),
        );
      } catch (err) {
        await Promise.all(gated.map((g) => acceptance.giveBack(g ?? null)));
        throw err;
      }
    }
  }
}
