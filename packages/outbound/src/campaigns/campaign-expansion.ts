import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { Types } from "mongoose";
import type { CampaignDoc, CampaignRecipientDoc, Database, TemplateDoc } from "@linkojob/db";
import { outboundJobId } from "@linkojob/queues";
import { acceptedSendSchema } from "../accepted-send.js";
import { CANDIDATE_OPTED_OUT } from "../opt-outs/index.js";
import { enqueueSends, type OutboundQueue, type SendEnqueue } from "../enqueue.js";
import type { PlannedSend, SendDecider } from "../send-decider.js";
import type { OutboundRequest } from "../send-request.js";
import { templateRequestProblem, type TemplateProblem } from "../template-components.js";
import { campaignMessageId } from "./campaign-ids.js";
import { refusedRecipientMember, type CampaignEvent, type CampaignProgress } from "./campaign-progress.js";

/** Recipients stored in one document; the expansion's cursor moves a chunk at a time. */
export const CAMPAIGN_CHUNK = 500;

/**
 * How an expansion shares its process with the sends beside it (another tenant's replies): the
 * recipients are decided, gated and queued `sliceSize` at a time (one round of Redis requests each),
 * and after each slice the expansion waits `idleRatio` times as long as the slice took, so it uses at
 * most 1 / (1 + idleRatio) of the event loop and of its Redis connection, less when they are slow
 * (a loaded machine lengthens the slice, hence the pause). Defaults: 50 recipients, 2 (a third).
 */
export interface ExpansionPacing {
  sliceSize?: number;
  idleRatio?: number;
}
export const DEFAULT_EXPANSION_PACING: Required<ExpansionPacing> = { sliceSize: 50, idleRatio: 2 };

/** The code and words a cancelled campaign's unsent messages end with. */
export const CAMPAIGN_CANCELLED = "CAMPAIGN_CANCELLED";
export const CAMPAIGN_CANCELLED_REASON = "the campaign was cancelled before this message went";

/** A campaign's recipients cut into the chunks the expansion decides one at a time. */
export function campaignChunksOf(recipients: CampaignRecipientDoc[], size = CAMPAIGN_CHUNK): CampaignRecipientDoc[][] {
  const out: CampaignRecipientDoc[][] = [];
  for (let i = 0; i < recipients.length; i += size) out.push(recipients.slice(i, i + size));
  return out;
}

/** The single send a campaign's recipient stands for (a first contact with the campaign's template). */
export const campaignSendRequest = (
  campaign: Pick<CampaignDoc, "templateName" | "language">,
  r: CampaignRecipientDoc,
): OutboundRequest => ({
  candidatePhone: r.phone,
  candidateUserId: r.userId,
  candidateName: null,
  message: null,
  templateName: campaign.templateName,
  templateLanguage: campaign.language,
  templateVars: r.vars ?? null,
  templateHeader: null,
  templateButtons: null,
  jobTitle: null,
  companyName: null,
  applicationId: r.applicationId,
});

/**
 * Whether a campaign's recipient can get the template (`doc`, looked up once for the campaign): the
 * checks templateRefusal makes for a first contact (templateRequestProblem on the variables
 * planTemplate would use: the recipient's, else the defaults filled at send time; an authentication
 * template only to a phone), without pricing the send or building its components, which the
 * expansion does. The campaign's request is refused when any recipient has a problem.
 */
export function campaignRecipientProblem(
  doc: TemplateDoc,
  language: string,
  client: { companyName?: string | null },
  r: Pick<CampaignRecipientDoc, "phone" | "vars">,
): TemplateProblem | null {
  const expected = doc.headerParams.length + doc.bodyParams.length;
  const defaults = ["", "", client.companyName || ""].slice(0, Math.min(expected, 3));
  // The candidate's name and the job title come from the conversation at send time.
  const filledLater = r.vars ? [] : defaults.flatMap((v, i) => (v === "" && i < 2 ? [i] : []));
  const problem = templateRequestProblem(
    doc,
    language,
    r.vars ?? defaults,
    { header: null, buttons: null },
    {
      filledLater,
    },
  );
  if (problem) return problem;
  if (!r.phone && String(doc.category ?? "").toUpperCase() === "AUTHENTICATION")
    return {
      code: "TEMPLATE_NEEDS_PHONE",
      reason: `template ${doc.name} (${doc.language}) is an authentication template: Meta sends those only to a phone number (candidatePhone)`,
    };
  return null;
}

/** What a cancel needs to stop a campaign's waiting sends. */
export interface CampaignCancelDeps {
  queue: OutboundQueue;
  progress: CampaignProgress;
  decider: Pick<SendDecider, "giveBack">;
}

/**
 * Stops a campaign's waiting sends: every message still queued or scheduled is counted `cancelled`
 * and flagged for the outbound workers (their check just before the Graph call suppresses a job that
 * was already running), its waiting job is removed and the budget place its acceptance counted given
 * back. Returns the members cancelled. Repeating it cancels only what was queued since.
 */
export async function cancelCampaignSends(
  deps: CampaignCancelDeps,
  clientId: string,
  campaignId: string,
): Promise<string[]> {
  const members = await deps.progress.cancel(clientId, campaignId);
  for (let i = 0; i < members.length; i += CAMPAIGN_CHUNK) {
    await Promise.all(
      members.slice(i, i + CAMPAIGN_CHUNK).map(async (messageId) => {
        const job = await deps.queue.getJob(outboundJobId(messageId));
        if (!job) return;
        const state = await job.getState();
        if (!["delayed", "waiting", "prioritized", "paused"].includes(state)) return;
        // A job taken by a worker meanwhile is locked: not removed, and that worker's check suppresses it.
        const removed = await job.remove().then(
          () => true,
          () => false,
        );
        const accepted = acceptedSendSchema.safeParse(job.data.accepted);
        if (removed && accepted.success && accepted.data.budget)
          await deps.decider.giveBack({ action: "go", reservation: accepted.data.budget });
      }),
    );
  }
  return members;
}

export interface CampaignExpanderDeps {
  db: Database;
  /** The single send's decision (the send state in Redis, the sending protections). */
  decider: SendDecider;
  /** The campaign lane (OUTBOUND_CAMPAIGN_QUEUE). */
  queue: OutboundQueue;
  progress: CampaignProgress;
  logger?: Pick<Logger, "info" | "warn">;
  /** Slices and pauses (DEFAULT_EXPANSION_PACING). */
  pacing?: ExpansionPacing;
  /** Awaited before each slice: the outbound worker lets its running replies finish first. */
  beforeSlice?: () => Promise<void>;
}

export type ExpansionOutcome = "expanded" | "cancelled" | "missing" | "done-before";

/**
 * Expands an accepted campaign (the CAMPAIGN_EXPANSION_QUEUE job, in the outbound worker): each
 * stored chunk of recipients goes through the single send's own steps (SendDecider.decide: the
 * candidate's window and opt-out from the send state in Redis, planSend, the opt-out rule;
 * SendDecider.gateOf: quality, quiet hours, the portfolio's budget) and becomes the same job, in the
 * campaign's lane. Opted-out recipients are counted `suppressed` and never queued.
 *
 * Resumable: the cursor (`expandedChunks`) moves after a chunk's jobs are queued and counted, and
 * the chunk's document is deleted then. A chunk redone after a crash decides only the recipients
 * with neither a job nor a count: message ids derive from the campaign id and the position
 * (campaignMessageId), so a job is never added twice, and the budget's reservation is per recipient
 * (taking it again returns the same place). A cancel, seen before each chunk, stops the expansion and
 * cancels what it had queued.
 */
export class CampaignExpander {
  private readonly pacing: Required<ExpansionPacing>;

  constructor(private readonly deps: CampaignExpanderDeps) {
    this.pacing = { ...DEFAULT_EXPANSION_PACING, ...(deps.pacing ?? {}) };
    this.pacing.sliceSize = Math.max(1, Math.floor(this.pacing.sliceSize));
    this.pacing.idleRatio = Math.max(0, this.pacing.idleRatio);
  }

  async expand(clientId: string, campaignId: string): Promise<ExpansionOutcome> {
    const { db, progress } = this.deps;
    const campaigns = db.campaignsOf(clientId);
    const id = new Types.ObjectId(campaignId);
    const campaign = await campaigns.get(id);
    if (!campaign) return "missing";
    if (campaign.status === "running") {
      await campaigns.dropRecipients(id);
      return "done-before";
    }
    if (campaign.status === "cancelled" || (await progress.isCancelled(campaignId))) {
      await this.stop(clientId, campaign);
      return "cancelled";
    }
    const client = await this.deps.decider.caches.client(clientId);
    if (!client) throw new Error("the campaign's client is not in the send state yet");
    const chunks = campaign.chunks ?? 0;
    let first = true;
    for (let chunk = campaign.expandedChunks ?? 0; chunk < chunks; chunk++) {
      if (await progress.isCancelled(campaignId)) {
        await this.stop(clientId, campaign);
        return "cancelled";
      }
      const doc = await campaigns.recipientChunk(id, chunk);
      // Deleted after its cursor moved: a run that read an older cursor.
      if (!doc) continue;
      const suppressed = await this.expandChunk(clientId, client, campaign, doc.recipients, first);
      first = false;
      await campaigns.chunkExpanded(id, chunk, suppressed);
    }
    // A cancel that came while the last chunk was queued: its sends are cancelled too.
    if (await progress.isCancelled(campaignId)) {
      await this.stop(clientId, campaign);
      return "cancelled";
    }
    await campaigns.markRunning(id);
    await campaigns.dropRecipients(id);
    await progress.emitNow(clientId, campaignId).catch(() => undefined);
    return "expanded";
  }

  /** A cancelled campaign: what the expansion queued is cancelled too, and the recipients left are dropped. */
  private async stop(clientId: string, campaign: CampaignDoc): Promise<void> {
    const campaignId = campaign._id.toHexString();
    // Again: a cancel's write that raced one of the expansion's own is not lost.
    await this.deps.db.campaignsOf(clientId).markCancelled(campaign._id);
    await cancelCampaignSends(this.deps, clientId, campaignId);
    await this.deps.db
      .forTenant(clientId)
      .outbound.suppressCampaign(campaign._id, CAMPAIGN_CANCELLED, CAMPAIGN_CANCELLED_REASON);
    await this.deps.db.campaignsOf(clientId).dropRecipients(campaign._id);
    await this.deps.progress.emitNow(clientId, campaignId).catch(() => undefined);
  }

  /**
   * Decides, gates and queues one chunk; returns its opted-out recipients. `resumed`: the chunk may
   * have been started by a run that crashed: recipients it queued or counted are not decided again.
   */
  private async expandChunk(
    clientId: string,
    client: NonNullable<Awaited<ReturnType<SendDecider["caches"]["client"]>>>,
    campaign: CampaignDoc,
    recipients: CampaignRecipientDoc[],
    resumed: boolean,
  ): Promise<Array<{ index: number; code: string }>> {
    const { progress, queue } = this.deps;
    const campaignId = campaign._id.toHexString();
    const messageIdOf = (r: CampaignRecipientDoc) => campaignMessageId(campaign._id, r.index).toHexString();
    let todo = recipients;
    const recount: Array<[string, CampaignEvent]> = [];
    /** Positions refused (counted suppressed) by a run that stopped: decided again for their code, never queued. */
    const refusedBefore = new Set<number>();
    if (resumed) {
      const ids = recipients.map(messageIdOf);
      const states = await progress.statesOf(campaignId, [
        ...ids,
        ...recipients.map((r) => refusedRecipientMember(r.index)),
      ]);
      const jobs = await Promise.all(ids.map((m) => queue.getJob(outboundJobId(m))));
      todo = [];
      for (let k = 0; k < recipients.length; k++) {
        if (states[k]) continue; // queued and counted before
        const job = jobs[k];
        // Queued, not counted yet (the run stopped between the two): counted now from the job.
        if (job) recount.push([ids[k]!, (job.opts.delay ?? 0) > 0 ? "scheduled" : "queued"]);
        else {
          if (states[k + recipients.length]) refusedBefore.add(recipients[k]!.index);
          todo.push(recipients[k]!);
        }
      }
    }
    const suppressed: Array<{ index: number; code: string }> = [];
    const { sliceSize, idleRatio } = this.pacing;
    for (let at = 0; at < todo.length || (at === 0 && recount.length); at += sliceSize) {
      await this.deps.beforeSlice?.();
      const started = performance.now();
      suppressed.push(
        ...(await this.expandSlice(
          clientId,
          client,
          campaign,
          todo.slice(at, at + sliceSize),
          at === 0 ? recount : [],
          refusedBefore,
        )),
      );
      // Paced: the sends beside it (other tenants' replies) get the loop and Redis in between.
      if (idleRatio > 0) await sleep((performance.now() - started) * idleRatio);
    }
    return suppressed;
  }

  /** Decides, gates, queues and counts one slice of a chunk's recipients; returns the ones refused. */
  private async expandSlice(
    clientId: string,
    client: NonNullable<Awaited<ReturnType<SendDecider["caches"]["client"]>>>,
    campaign: CampaignDoc,
    todo: CampaignRecipientDoc[],
    recount: Array<[string, CampaignEvent]>,
    refusedBefore: Set<number>,
  ): Promise<Array<{ index: number; code: string }>> {
    const { decider, progress, queue } = this.deps;
    const campaignId = campaign._id.toHexString();
    const messageIdOf = (r: CampaignRecipientDoc) => campaignMessageId(campaign._id, r.index).toHexString();
    const requests = todo.map((r) => ({ r, request: campaignSendRequest(campaign, r) }));
    // Deciding has no side effect: a chunk redone decides again.
    const decided = await Promise.all(
      requests.map(async (x) => ({ ...x, decision: await decider.decide(clientId, client, x.request) })),
    );
    const suppressed: Array<{ index: number; code: string }> = [];
    const planned: Array<{ r: CampaignRecipientDoc; request: OutboundRequest; decision: PlannedSend }> = [];
    for (const d of decided) {
      if (d.decision.optedOut) suppressed.push({ index: d.r.index, code: d.decision.optedOut.code });
      else if (d.decision.plan.kind === "refused") suppressed.push({ index: d.r.index, code: d.decision.plan.code });
      else if (refusedBefore.has(d.r.index)) suppressed.push({ index: d.r.index, code: CANDIDATE_OPTED_OUT });
      else planned.push(d as (typeof planned)[number]);
    }
    // The protections read once for the slice (the client's policy, limit and quality), each recipient gated.
    const view = await decider.viewOf(client);
    const jobs = await Promise.all(
      planned.map(async ({ r, request, decision }): Promise<{ job: SendEnqueue; event: CampaignEvent }> => {
        const gate = await decider.gateOf(client, request, decision.plan, view);
        return {
          job: {
            clientId,
            messageId: messageIdOf(r),
            kind: decision.kind,
            lane: "campaign",
            accepted: decider.acceptedOf(request, null, decision, gate, { campaignId }),
            ...(gate?.action === "schedule" ? { delayMs: Math.max(0, gate.at - Date.now()) } : {}),
          },
          event: gate?.action === "schedule" ? "scheduled" : "queued",
        };
      }),
    );
    // Jobs first, counts second: a run stopped between them leaves jobs the redo counts (above), never a count without a job.
    // A failure here fails the run (retried): the budget places stay taken, the redo takes the same ones again.
    await enqueueSends(
      queue,
      jobs.map((j) => j.job),
    );
    await progress.mark(clientId, campaignId, [
      ...recount,
      ...jobs.map((j): [string, CampaignEvent] => [j.job.messageId, j.event]),
      ...suppressed.map((s): [string, CampaignEvent] => [refusedRecipientMember(s.index), "suppressed"]),
    ]);
    return suppressed;
  }
}
