import type { Queue } from "bullmq";
import { Types } from "mongoose";
import type { Principal } from "@linkojob/auth";
import type { CampaignRecipientDoc, Database } from "@linkojob/db";
import {
  CAMPAIGN_EXPANSION_JOB,
  campaignExpansionJobId,
  campaignExpansionJobOptions,
  type CampaignExpansionJob,
} from "@linkojob/queues";
import {
  campaignChunksOf,
  TemplateRefusalError,
  campaignRecipientProblem,
  type CampaignRequest,
  type TemplateProblem,
} from "@linkojob/outbound";
import { normalizePhone } from "@linkojob/whatsapp";
import { DomainError } from "@linkojob/errors";
import { ApiError, notFound } from "../http/api-error.js";
import { CampaignError } from "./campaign-error.js";
import type { SendAcceptance } from "../sends/send-acceptance.js";

/** Problems named in a refusal (the count gives the rest). */
const SHOWN_PROBLEMS = 50;

interface Problem {
  field: string;
  code?: string;
  message: string;
}

/** The details of a refusal: how many problems, and the first ones. */
const problemDetails = (problems: Problem[]) => ({
  count: problems.length,
  problems: problems.slice(0, SHOWN_PROBLEMS),
});

/** A Redis or MongoDB failure while accepting: the same idempotencyKey answers the same campaign once it is stored. */
const unavailable = (err: unknown) =>
  err instanceof DomainError ? err : new CampaignError("CAMPAIGN_UNAVAILABLE", undefined, undefined, { cause: err });

/**
 * Accepts a campaign: one template to up to 10,000 candidates of a client, answered at once. The
 * request is checked whole first (each phone, each recipient's variables against the synced
 * template: 400/409 naming each problem, nothing stored), duplicates (the same phone or user id
 * again) are dropped by their position; then the recipients are stored in chunks
 * (campaign_recipients), the campaign `expanding`, and ONE job is added to CAMPAIGN_EXPANSION_QUEUE
 * (its id derives from the campaign's). The outbound worker's CampaignExpander then puts each
 * recipient through the single send's own checks (opt-out, the portfolio's budget, quiet hours,
 * quality) and queues it in the campaign's lane; GET shows the counts as they grow.
 *
 * A repeated request with the same idempotencyKey answers the same campaign (and adds its expansion
 * job again, a no-op when it exists): a request that stopped after storing it still gets it expanded.
 */
export class CampaignAcceptance {
  constructor(
    private readonly deps: {
      db: Database;
      acceptance: SendAcceptance;
      expansions: Queue<CampaignExpansionJob>;
    },
  ) {}

  async accept(principal: Principal, body: CampaignRequest): Promise<{ campaignId: string; replay: boolean }> {
    const { acceptance, db } = this.deps;
    const tenant = await acceptance.tenantFor(principal, body.clientId);
    const clientId = tenant.clientId.toHexString();
    const client = await acceptance.caches.client(clientId).catch((err: unknown) => Promise.reject(unavailable(err)));
    if (!client) throw notFound("client");
    if (client.status === "disconnected") throw new CampaignError("CLIENT_DISCONNECTED", undefined, { clientId });
    const campaigns = db.campaignsOf(clientId);
    const existing = await campaigns
      .byKey(body.idempotencyKey)
      .catch((err: unknown) => Promise.reject(unavailable(err)));
    if (existing) {
      await this.expandLater(clientId, existing._id.toHexString(), existing.status);
      return { campaignId: existing._id.toHexString(), replay: true };
    }

    const { recipients, duplicates } = this.normalise(body);
    // Every recipient's template request, checked as a single send's is before anything is stored
    // (the template looked up once; not synced yet: accepted, decided at send time, as a single send).
    const doc = await acceptance.caches
      .templatesOf(client.wabaId)(body.templateName, body.language)
      .catch((err: unknown) => Promise.reject(unavailable(err)));
    const refusals: Array<{ r: CampaignRecipientDoc; refusal: TemplateProblem }> = [];
    if (doc)
      for (const r of recipients) {
        const refusal = campaignRecipientProblem(doc, body.language, client, r);
        if (refusal) refusals.push({ r, refusal });
      }
    if (refusals.length) {
      const first = refusals[0]!.refusal;
      throw new TemplateRefusalError(
        first.code,
        `${refusals.length} recipient(s) cannot get template ${body.templateName} (${body.language}): ${first.reason}`,
        problemDetails(
          refusals.map(({ r, refusal }) => ({
            field: `recipients.${r.index}.templateVars`,
            code: refusal.code,
            message: refusal.reason,
          })),
        ),
      );
    }

    // The recipients first, then the campaign: a stored campaign always has all of them.
    const campaignId = new Types.ObjectId();
    const chunks = campaignChunksOf(recipients);
    try {
      await campaigns.storeRecipients(campaignId, chunks);
      const created = await campaigns.create({
        _id: campaignId,
        idempotencyKey: body.idempotencyKey,
        templateName: body.templateName,
        language: body.language,
        requested: body.recipients.length,
        recipients: recipients.length,
        duplicates,
        suppressed: [],
        chunks: chunks.length,
        createdBy: { role: principal.role, userId: principal.userId },
      });
      if (!created.created) {
        // A concurrent request with the same key stored its campaign first: ours is dropped.
        await campaigns.dropRecipients(campaignId).catch(() => undefined);
        const id = created.campaign._id.toHexString();
        await this.expandLater(clientId, id, created.campaign.status);
        return { campaignId: id, replay: true };
      }
      await this.expandLater(clientId, campaignId.toHexString(), "expanding");
    } catch (err) {
      throw unavailable(err);
    }
    return { campaignId: campaignId.toHexString(), replay: false };
  }

  /** The campaign's one expansion job (added again by a repeated request: a no-op while it exists). */
  private async expandLater(clientId: string, campaignId: string, status: string): Promise<void> {
    if (status !== "expanding") return;
    await this.deps.expansions
      .add(
        CAMPAIGN_EXPANSION_JOB,
        { clientId, campaignId },
        { ...campaignExpansionJobOptions, jobId: campaignExpansionJobId(campaignId) },
      )
      .catch((err: unknown) => Promise.reject(unavailable(err)));
  }

  /** Phones normalised (400 naming each bad one), duplicates (the same phone or user id again) dropped. */
  private normalise(body: CampaignRequest): { recipients: CampaignRecipientDoc[]; duplicates: number[] } {
    const problems: Problem[] = [];
    const seen = new Set<string>();
    const recipients: CampaignRecipientDoc[] = [];
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
        phone,
        userId: r.candidateUserId ?? null,
        vars: r.templateVars ?? null,
        applicationId: r.applicationId ?? null,
      });
    });
    if (problems.length)
      throw new ApiError(
        "VALIDATION_ERROR",
        `${problems.length} recipient(s) have a bad candidatePhone`,
        problemDetails(problems),
      );
    return { recipients, duplicates };
  }
}
