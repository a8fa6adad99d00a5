import { DelayedError, UnrecoverableError, type Job } from "bullmq";
import type { RedisClient } from "@linkojob/queues";
import type { Logger } from "pino";
import { Types } from "mongoose";
import {
  conversationView,
  messageSortKey,
  outboundDedupeKey,
  windowOpen,
  type ClientDoc,
  type Database,
  type MessageError,
  type OutboundKind,
  type OutboundMessageDoc,
  type SendRecord,
  type TenantData,
} from "@linkojob/db";
import {
  CONVERSATION_CHANGES,
  EVENTS,
  conversationUpdated,
  messageSent,
  messageStatus,
  type DashboardEvents,
  type MessageStatusValue,
  conversationJson,
  messageJson,
} from "@linkojob/events";
import { OUTBOUND_PRIORITY, RedisLock, outboundJobSchema, type OutboundJob } from "@linkojob/queues";
import type { TokenVault } from "@linkojob/vault";
import {
  classifyGraphError,
  GraphApiError,
  GraphNetworkError,
  GraphResponseError,
  sendInteractive,
  sendMedia,
  sendReaction,
  sendTemplate,
  sendText,
  type GraphClient,
  type MediaSend,
  type SendResult,
} from "@linkojob/whatsapp";
import {
  CAMPAIGN_CANCELLED,
  CAMPAIGN_CANCELLED_REASON,
  CLIENT_STATUS_REASONS,
  ClientStatusAnnouncer,
  DEFAULT_PRICE_TABLE_MAD,
  acceptedSendSchema,
  type AcceptedSend,
  OutboundMediaError,
  OptOutRegister,
  OptOutState,
  optOutShapeOf,
  type OptOutRefusal,
  SendCaches,
  chatFieldsOf,
  createTemplateFallback,
  accountHoldMessage,
  accountHoldReason,
  holdTenant,
  sendHoldOf,
  planSend,
  prepareOutboundMedia,
  hasHeaderLink,
  uploadTemplateHeaderLinks,
  type OutboundMediaDeps,
  sendRecordOf,
  type OutboundQueue,
  type PlanConversation,
  type PriceTable,
  type SendPlan,
  type SendGate,
  type CampaignProgress,
  type CampaignEvent,
  type BudgetReservation,
  campaignEventsOfStatuses,
} from "@linkojob/outbound";
import { gateAtSendTime } from "./sending-gate.js";
import type { SendPacer } from "../pacing/send-pacer.js";
import type { InboundBacklog } from "./inbound-backlog.js";
import { RetryableSendError } from "./send-errors.js";
import { PendingStatusCheck, TemplateUsage } from "./send-batches.js";
import { clientAccessToken } from "./token-access.js";
import { reregisterOnce } from "./reregistration.js";

export interface SendProcessorOptions {
  /** Key prefix of locks (the deployment's queue prefix). */
  prefix: string;
  /**
   * How long a send whose answer never came (timeout, connection cut after the request left) waits
   * for Meta's status webhook to name our id before it is considered not accepted and sent again.
   * Default 120,000 ms: Meta's `sent` status normally follows an accepted send within seconds.
   */
  uncertainGraceMs?: number;
  /** Re-checks of unanswered sends before the message is failed as "no answer". Default 5. */
  maxUncertainChecks?: number;
  /**
   * Longest wait, from the unanswered call, for our own inbound pipeline to process the webhooks
   * received meanwhile; past it the message fails (`NO_ANSWER`) rather than risk a duplicate.
   * Default 30 minutes.
   */
  maxUncertainWaitMs?: number;
  /** Limit for Meta's answer to a send. Default 15,000 ms. */
  sendTimeoutMs?: number;
  prices?: PriceTable;
}

export interface SendProcessorDeps {
  db: Database;
  redis: RedisClient;
  queue: OutboundQueue;
  graph: GraphClient;
  vault: TokenVault;
  pacer: SendPacer;
  /** The inbound pipeline's backlog, checked before an unanswered send is sent again. */
  backlog?: InboundBacklog;
  events: DashboardEvents;
  logger: Logger;
  options: SendProcessorOptions;
  /** Clients and templates kept in process (OutboundWorker subscribes them to change announcements). */
  caches?: SendCaches;
  /** Changes a client's status and announces it (client:status, clients:changed). */
  announcer?: ClientStatusAnnouncer;
  /** The candidates' opt-outs: checked just before the Graph call; a 131050 answer records one. */
  optOuts?: OptOutRegister;
  /** The sending protections (quality, quiet hours, the portfolio's limit), decided again before the call. */
  gate?: SendGate;
  /** Campaigns' live counts and their cancel flag, checked before a campaign's message goes. */
  campaigns?: CampaignProgress;
  /** Media URLs: fetched once (SSRF-guarded), uploaded, the id shared by every send of the URL. */
  media?: Pick<OutboundMediaDeps, "fetcher" | "links">;
  /**
   * Told of a message this worker failed, or sent with statuses that waited for its wamid (the
   * inbound worker counts the others with their status webhooks): the analytics counters count it.
   * A failure is logged (the rebuild repairs it).
   */
  onMessageWritten?: (clientId: Types.ObjectId, messageId: Types.ObjectId) => Promise<void>;
}

export type SendOutcome =
  | { outcome: "sent"; wamid: string; kind: OutboundKind }
  | { outcome: "already"; status: string }
  | { outcome: "held"; reason: string }
  | { outcome: "failed"; code: string }
  | { outcome: "fallback"; fallbackId: string | null }
  | { outcome: "missing" }
  /** The candidate opted out before it went: stored `suppressed` with the reason, never sent. */
  | { outcome: "suppressed"; reason: string }
  /** Another message holds this send's Idempotency-Key: nothing stored or sent for this job. */
  | { outcome: "duplicate"; messageId: string };

/** How a cancelled campaign's unsent messages end (suppressed, with this code). */
export { CAMPAIGN_CANCELLED };

/** Jobs of one message wait this long for another job holding the message's lock. */
const LOCKED_RETRY_MS = 1_000;
/** A pacing slot less than this far away is taken at once. */
const SLOT_SLACK_MS = 5;

const errorOf = (err: unknown): MessageError => {
  if (err instanceof GraphApiError) {
    return {
      code: err.code,
      title: err.title ?? undefined,
      message: err.message,
      details: err.details ?? undefined,
      fbtraceId: err.fbtraceId ?? undefined,
    };
  }
  return {
    title: err instanceof Error ? err.name : "Error",
    message: err instanceof Error ? err.message : String(err),
  };
};

/**
 * Sends one stored outbound message. The life of a message:
 *
 *   queued ──claim──▶ sending ──200──▶ sent ─(webhooks)▶ delivered / read
 *      ▲                 │ Meta error, transient ─▶ queued (BullMQ retry with backoff)
 *      │                 │ Meta error, permanent ─▶ failed (code, title, details, fbtrace id)
 *      │                 │ 131047 on text ─▶ failed + one template fallback message
 *      │                 │ media: uploaded to Meta first (once: the id is kept), then sent by id
 *      │                 │ 190 / 0 ─▶ held (client reauth_required), resumed when active
 *      │                 │ waiting for a pacing slot ─▶ queued (the delayed job claims it again)
 *      └── held ◀── client not active       no answer (timeout / cut) ─▶ stays sending: re-checked after the grace
 *
 * Round trips: one request claims the message (findOneAndUpdate: queued or held → sending, returning
 * it), one records `sent` with what was sent; the client and its templates come from SendCaches and
 * the conversation's window from the message (as the send API saw it). Pending statuses and template
 * usage are checked and written in groups (send-batches.ts).
 *
 * Never sent twice: one Redis lock per message serialises every job of it, and only a queued or
 * held message can be claimed. A job that finds it `sending` (its previous call got no answer, or
 * its worker died mid-call) does not call Meta again until the grace period has passed without a
 * status webhook naming our id (biz_opaque_callback_data, which the status batch uses to
 * link the wamid). Never stuck in `sending`: that same check ends every such message as sent,
 * re-sent, or failed after maxUncertainChecks. Every write is guarded by the state it moves from, so
 * no in-process serialisation is needed on MongoDB.
 */
export class SendProcessor {
  private readonly grace: number;
  private readonly maxChecks: number;
  private readonly maxUncertainWait: number;
  private readonly timeout: number;
  private readonly prices: PriceTable;
  readonly caches: SendCaches;
  private readonly announcer: ClientStatusAnnouncer;
  private readonly pending: PendingStatusCheck;
  private readonly usage: TemplateUsage;
  private readonly lock: RedisLock;
  private readonly optOuts: OptOutRegister;

  constructor(private readonly deps: SendProcessorDeps) {
    this.grace = deps.options.uncertainGraceMs ?? 120_000;
    this.maxChecks = deps.options.maxUncertainChecks ?? 5;
    this.maxUncertainWait = deps.options.maxUncertainWaitMs ?? 30 * 60_000;
    this.timeout = deps.options.sendTimeoutMs ?? 15_000;
    this.prices = deps.options.prices ?? DEFAULT_PRICE_TABLE_MAD;
    this.caches = deps.caches ?? new SendCaches(deps.db);
    this.announcer =
      deps.announcer ??
      new ClientStatusAnnouncer({ db: deps.db, events: deps.events, publisher: deps.redis, log: deps.logger });
    this.pending = new PendingStatusCheck(deps.db);
    this.usage = new TemplateUsage(deps.db);
    this.lock = new RedisLock(deps.redis);
    this.optOuts =
      deps.optOuts ??
      new OptOutRegister({
        db: deps.db,
        state: new OptOutState({ redis: deps.redis, prefix: deps.options.prefix, db: deps.db }),
        events: deps.events,
        logger: deps.logger,
      });
  }

  async process(job: Job<OutboundJob>, token?: string): Promise<SendOutcome> {
    const parsed = outboundJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`bad outbound job: ${parsed.error.message}`);
    const data = parsed.data;
    const held = await this.lock.tryAcquire(
      `${this.deps.options.prefix}:outbound:lock:${data.messageId}`,
      this.timeout * 2 + 10_000,
    );
    if (!held) {
      // Another job of this message is running (a resume next to a retry): come back after it.
      await job.moveToDelayed(Date.now() + LOCKED_RETRY_MS, token);
      throw new DelayedError();
    }
    try {
      return await this.processLocked(job, token, data);
    } finally {
      await this.lock.release(held).catch(() => undefined);
    }
  }

  private async delay(
    job: Job<OutboundJob>,
    token: string | undefined,
    until: number,
    data: OutboundJob,
  ): Promise<never> {
    await job.updateData(data);
    // Waiting for its pacing slot: when promoted it goes before the bulk sends queued meanwhile,
    // which only come to reserve a slot (else a number's backlog is reserved before it is sent,
    // and the slots reserved first pass while their jobs wait behind it).
    if (data.slotAt !== undefined && (job.priority ?? 0) > OUTBOUND_PRIORITY.slotted)
      await job.changePriority({ priority: OUTBOUND_PRIORITY.slotted });
    await job.moveToDelayed(Math.ceil(until), token);
    throw new DelayedError();
  }

  /**
   * A stored message's count in its conversation (and its `conversation:updated`) is written while
   * the send goes on, off the path to Meta, and awaited before the job ends.
   */
  private async processLocked(
    job: Job<OutboundJob>,
    token: string | undefined,
    data: OutboundJob,
  ): Promise<SendOutcome> {
    const counting: Array<Promise<void>> = [];
    try {
      return await this.processSend(job, token, data, counting);
    } finally {
      await Promise.all(counting);
    }
  }

  private async processSend(
    job: Job<OutboundJob>,
    token: string | undefined,
    data: OutboundJob,
    counting: Array<Promise<void>>,
  ): Promise<SendOutcome> {
    const { db, logger } = this.deps;
    // An unanswered send waiting for the inbound pipeline (see below) asks Redis again, not MongoDB,
    // until the webhooks received up to the end of its grace are processed (or its wait is over): on
    // the FerretDB stand-in each claim and read of the message costs PostgreSQL a scan of the
    // collection, and the sends left unanswered by a killed worker (dozens), each reading twice every
    // 500 ms, took most of it while the statuses they wait for queued behind them.
    if (data.backlogUntil !== undefined) {
      const waited = Date.now() - (data.uncertainSince ?? 0);
      const behind =
        waited <= this.maxUncertainWait ? await this.deps.backlog?.oldestUnprocessedAt(data.backlogUntil) : null;
      if (behind != null && behind <= data.backlogUntil) return this.delay(job, token, Date.now() + 500, data);
      const { backlogUntil: _until, uncertainSince: _since, ...rest } = data;
      data = rest;
    }
    const tenant = db.forTenant(data.clientId);
    const accepted = data.accepted ? acceptedSendSchema.safeParse(data.accepted) : null;
    if (accepted && !accepted.success) throw new UnrecoverableError(`bad accepted send: ${accepted.error.message}`);
    // A send the API accepted and not stored yet: its pacing slot first (a job waiting for its slot
    // costs MongoDB nothing), then stored under the id the API answered, already `sending` when the
    // client may send (no separate claim). A retried run that finds it stored claims it as usual.
    let storedSending: OutboundMessageDoc | null = null;
    // The acceptance's place in the portfolio's budget: given back if the message is refused before it goes.
    const acceptedBudget = accepted?.data.budget;
    const campaignId = accepted?.data.campaignId ?? null;
    // A cancelled campaign's message not stored yet: nothing is stored, waited for or sent.
    if (accepted && !data.stored && campaignId && (await this.campaignCancelled(campaignId))) {
      await this.giveBack(acceptedBudget);
      await this.countCampaign(data.clientId, campaignId, data.messageId, "cancelled");
      return { outcome: "suppressed", reason: CAMPAIGN_CANCELLED };
    }
    if (accepted && !data.stored) {
      const request = accepted.data.request;
      const client = await this.caches.client(data.clientId);
      const ready = !!client && !sendHoldOf(client);
      if (ready) {
        const recipient = request.candidatePhone || request.candidateUserId || "";
        if (data.slotAt === undefined) {
          const { waitMs, slotAt } = await this.deps.pacer.reserve(
            client.phoneNumberId,
            client.throughputMps ?? 80,
            recipient,
          );
          if (waitMs > SLOT_SLACK_MS) return this.delay(job, token, Date.now() + waitMs, { ...data, slotAt });
          data = { ...data, slotAt };
        } else if (data.slotAt - Date.now() > SLOT_SLACK_MS) {
          return this.delay(job, token, data.slotAt, data);
        }
      }
      const stored = await this.store(tenant, data.messageId, accepted.data, ready, counting);
      if (stored.owner !== data.messageId) return { outcome: "duplicate", messageId: stored.owner };
      data = { ...data, stored: true };
      if (stored.created && ready) storedSending = stored.message;
    }
    // The common path for a stored message: one request takes it (queued or held) and marks it `sending`.
    let taken = storedSending ? { message: storedSending, claimed: true } : await tenant.outbound.claim(data.messageId);
    if (!taken.message && accepted) {
      const stored = await this.store(tenant, data.messageId, accepted.data, false, counting);
      if (stored.owner !== data.messageId) return { outcome: "duplicate", messageId: stored.owner };
      taken = await tenant.outbound.claim(data.messageId);
    }
    let message = taken.claimed ? taken.message : null;
    if (!message) {
      const current = taken.message;
      if (!current) return { outcome: "missing" };
      // Already accepted by Meta (our answer, or a status webhook linking our id): never again.
      if (current.wamid) {
        if (current.statusRank < 2) await this.finishSent(tenant, current, current.wamid, null);
        return { outcome: "already", status: current.status };
      }
      // Meta answered an earlier run, which could not record it: recorded now, not sent again.
      if (data.acceptedWamid && current.status === "sending") {
        await this.finishSent(tenant, current, data.acceptedWamid, null);
        return { outcome: "sent", wamid: data.acceptedWamid, kind: current.kind };
      }
      if (current.status !== "sending" || !current.sendingSince) return { outcome: "already", status: current.status };
      // The previous call of this message never got an answer (timeout, cut connection, dead worker).
      const checks = (data.uncertainChecks ?? 0) + 1;
      const until = new Date(current.sendingSince).getTime() + this.grace;
      if (Date.now() < until) {
        return this.delay(job, token, until, { ...data, uncertainChecks: checks, slotAt: undefined });
      }
      // Meta had the grace period to deliver the status; our own pipeline must also have processed
      // every webhook received up to then, else the status naming our id may still be queued.
      const behind = await this.deps.backlog?.oldestUnprocessedAt(until);
      if (behind != null && behind <= until) {
        if (Date.now() - new Date(current.sendingSince).getTime() > this.maxUncertainWait) {
          await this.fail(
            tenant,
            current,
            {
              title: "No answer from Meta",
              message: "inbound webhooks not processed in time to tell whether Meta accepted the send",
            },
            "NO_ANSWER",
          );
          return { outcome: "failed", code: "NO_ANSWER" };
        }
        return this.delay(job, token, Date.now() + 500, {
          ...data,
          slotAt: undefined,
          backlogUntil: until,
          uncertainSince: new Date(current.sendingSince).getTime(),
        });
      }
      if (checks > this.maxChecks) {
        await this.fail(
          tenant,
          current,
          { title: "No answer from Meta", message: `no answer and no status after ${this.maxChecks} checks` },
          "NO_ANSWER",
        );
        return { outcome: "failed", code: "NO_ANSWER" };
      }
      message = await tenant.outbound.reclaim(current);
      if (!message) return { outcome: "already", status: current.status };
      logger.warn(
        { messageId: data.messageId },
        "no status webhook named this unanswered send within the grace period: sending again",
      );
      data = { ...data, uncertainChecks: checks };
    }

    // A cancelled campaign's message, stored and taken: it ends suppressed, never sent.
    if (message.campaignId && (await this.campaignCancelled(message.campaignId.toHexString())))
      return this.suppressCancelled(tenant, message, [acceptedBudget]);

    const client = await this.caches.client(data.clientId);
    // An account-level pause (payment, lock, spam limit…) says why; otherwise the tenant must reconnect.
    const hold = sendHoldOf(client);
    if (!client || hold) {
      const reason = hold?.reason ?? "client not found";
      await this.hold(tenant, message, reason, true, hold?.code === "CLIENT_NOT_ACTIVE" ? undefined : hold?.code);
      return { outcome: "held", reason };
    }

    const plan = await planSend({
      request: message.request,
      client,
      conversation: await this.conversationFor(tenant, message),
      templates: this.caches.templatesOf(client.wabaId),
      prices: this.prices,
    });
    if (plan.kind === "refused") {
      // Not sent (e.g. the template is no longer approved): the budget place its acceptance counted is given back.
      await this.giveBack(acceptedBudget);
      await this.fail(tenant, message, { title: plan.reason, message: plan.reason }, plan.code, null, true);
      throw new UnrecoverableError(`${plan.code}: ${plan.reason}`);
    }
    const record = sendRecordOf(plan)!;

    // Sending protections (sending-gate.ts): a marketing first contact from a RED/FLAGGED number is
    // held; a business-initiated send in quiet hours or past the portfolio's budget waits (queued).
    const gated = await gateAtSendTime(this.deps.gate, client, message.request, plan);
    if (gated?.action === "hold") {
      await this.hold(tenant, message, gated.reason, true, gated.code);
      return { outcome: "held", reason: gated.code };
    }
    if (gated?.action === "schedule") {
      await tenant.outbound.releaseSending(message._id);
      await this.countCampaign(data.clientId, message.campaignId, data.messageId, "scheduled");
      return this.delay(job, token, gated.at, { ...data, slotAt: undefined });
    }
    // The place this send confirmed in the budget (a refusal before the call gives it back).
    const sendBudget = gated?.action === "go" ? gated.reservation : undefined;

    // Media: staged bytes go to Meta's media endpoint before the send, outside the pacing of sends.
    // The id is kept on the message, so a retried or resumed job sends by the same id (one upload).
    let media: MediaSend | null = null;
    if (plan.kind === "media") {
      try {
        media = await prepareOutboundMedia(
          { db, graph: this.deps.graph, ...this.deps.media },
          {
            clientId: tenant.clientId,
            messageId: message._id,
            phoneNumberId: client.phoneNumberId,
            token: clientAccessToken(this.deps.vault, client),
            media: plan.media,
          },
        );
      } catch (err) {
        if (err instanceof OutboundMediaError) {
          await this.fail(tenant, message, { title: err.message, message: err.message }, err.code, record, true);
          throw new UnrecoverableError(`${err.code}: ${err.message}`);
        }
        // A Graph error of the upload classifies like a send's (131053 permanent, 5xx retried…), but
        // nothing was sent: no status webhook to wait for, an unanswered upload is simply redone.
        return this.onSendError(job, token, data, tenant, client, message, err, record, "upload", sendBudget);
      }
      if (plan.caption) media = { ...media, caption: plan.caption };
    }
    // A template's media header by link goes the same way: fetched once, uploaded, sent by id.
    if (plan.kind === "template" && hasHeaderLink(plan.components)) {
      try {
        plan.components = await uploadTemplateHeaderLinks(
          { db, graph: this.deps.graph, ...this.deps.media },
          { phoneNumberId: client.phoneNumberId, token: clientAccessToken(this.deps.vault, client) },
          plan.components,
        );
      } catch (err) {
        if (err instanceof OutboundMediaError) {
          await this.fail(tenant, message, { title: err.message, message: err.message }, err.code, record, true);
          throw new UnrecoverableError(`${err.code}: ${err.message}`);
        }
        return this.onSendError(job, token, data, tenant, client, message, err, record, "upload");
      }
    }

    // Pacing: one reservation per send chain; the job waits (delayed) for its slot, not failing.
    // A message waiting for its slot goes back to `queued` (not an unanswered `sending`).
    const recipient = message.request.candidatePhone || message.request.candidateUserId || "";
    if (data.slotAt === undefined) {
      const { waitMs, slotAt } = await this.deps.pacer.reserve(
        client.phoneNumberId,
        client.throughputMps ?? 80,
        recipient,
      );
      if (waitMs > SLOT_SLACK_MS) {
        // Not going now: the budget place confirmed for this moment is given back (confirmed again then).
        await this.giveBack(sendBudget);
        await tenant.outbound.releaseSending(message._id);
        return this.delay(job, token, Date.now() + waitMs, { ...data, slotAt });
      }
    } else if (data.slotAt - Date.now() > SLOT_SLACK_MS) {
      // Not going now: the budget place confirmed for this moment is given back (confirmed again then).
      await this.giveBack(sendBudget);
      await tenant.outbound.releaseSending(message._id);
      return this.delay(job, token, data.slotAt, data);
    }

    // Hard guard at the very moment of the call, after every database write (a late-promoted job, or
    // a slow write, must not bunch this send with the next one at Meta).
    const guardWait = await this.deps.pacer.admit(client.phoneNumberId, client.throughputMps ?? 80, data.messageId);
    if (guardWait > 0) {
      // Not going now: the budget place confirmed for this moment is given back (confirmed again then).
      await this.giveBack(sendBudget);
      await tenant.outbound.releaseSending(message._id);
      return this.delay(job, token, Date.now() + guardWait, { ...data, slotAt: Date.now() + guardWait });
    }
    // The slot is used by this attempt; a retry reserves a new one.
    if (data.slotAt !== undefined) await job.updateData({ ...data, slotAt: undefined });

    // The candidate's opt-out, read again at the last moment: a STOP that arrived since acceptance wins.
    const optedOut = await this.optOuts.refusalFor(data.clientId, message.request, optOutShapeOf(plan));
    if (optedOut) {
      // Not sent: the budget places counted for it (at send time, then at acceptance) are given back.
      await this.giveBack(sendBudget);
      await this.giveBack(acceptedBudget);
      return this.suppress(tenant, message, optedOut);
    }
    // A campaign cancelled while this send waited for its slot: the cancel wins until the very call.
    if (message.campaignId && (await this.campaignCancelled(message.campaignId.toHexString())))
      return this.suppressCancelled(tenant, message, [sendBudget, acceptedBudget]);

    let result: SendResult;
    try {
      result = await this.callMeta(client, message, plan, media);
    } catch (err) {
      return this.onSendError(job, token, data, tenant, client, message, err, record, "send", sendBudget);
    }
    try {
      await Promise.all([
        this.finishSent(tenant, message, result.wamid, record),
        plan.kind === "template" ? this.usage.add({ id: plan.doc._id, at: new Date() }) : undefined,
      ]);
    } catch (err) {
      // Meta has it, our record failed (MongoDB): the retry must record this wamid, never send again.
      // (Should the job's update fail too, the ambiguous-send rule applies: the status webhook links it.)
      await job.updateData({ ...data, acceptedWamid: result.wamid }).catch(() => undefined);
      throw err;
    }
    return { outcome: "sent", wamid: result.wamid, kind: plan.kind };
  }

  /**
   * Stores an accepted send as a `queued` (or, at its pacing slot, `sending`) message in its conversation (created on first contact),
   * counts it there and tells the dashboard. Returns the id of the message that holds the send's
   * dedupe key: `messageId` itself, or, for an Idempotency-Key another message already holds (Redis
   * lost the key, a second ingress chose a new id), that message's id: then nothing is stored or sent.
   */
  private async store(
    tenant: TenantData,
    messageId: string,
    accepted: AcceptedSend,
    sending: boolean,
    counting: Array<Promise<void>>,
  ): Promise<{ owner: string; created: boolean; message: OutboundMessageDoc }> {
    const { request } = accepted;
    const at = new Date(accepted.acceptedAt);
    const text = accepted.planned?.text ?? null;
    const preview = accepted.planned?.template
      ? `[template ${accepted.planned.template.name}]`
      : accepted.kind === "reaction"
        ? text
          ? `[reaction ${text}]`
          : "[reaction removed]"
        : (text ?? request.message ?? (request.media ? `[${request.media.type}]` : null));
    // On first contact the conversation is created with this message counted (one request fewer).
    const first = {
      messageId: new Types.ObjectId(messageId),
      at,
      sortKey: messageSortKey(at, outboundDedupeKey(messageId)),
      from: "recruiter" as const,
      preview,
      type: accepted.kind,
    };
    const conversation = await tenant.conversations.openForSend(request, first);
    const res = await tenant.outbound.create({
      _id: first.messageId,
      acceptedAt: at,
      conversationId: conversation._id,
      request,
      kind: accepted.kind,
      cost: accepted.cost,
      costCategory: accepted.costCategory,
      idempotencyKey: accepted.idempotencyKey,
      planContext: {
        windowExpiresAt: conversation.windowExpiresAt,
        candidateName: conversation.candidateName,
        jobTitle: conversation.jobTitle,
      },
      planned: accepted.planned,
      sending,
      ...(accepted.campaignId ? { campaignId: new Types.ObjectId(accepted.campaignId) } : {}),
    });
    const owner = res.message._id.toHexString();
    if (!res.created) {
      // Another message holds the send's key: the conversation created for this one counts nothing.
      if (conversation.counted && owner !== messageId) await tenant.conversations.uncountFirst(conversation._id, first);
      return { owner, ...res };
    }
    if (conversation.counted) {
      // Counted by the insert that created the conversation: the document is already as it is now.
      this.deps.events.toClient(
        tenant.clientId.toHexString(),
        EVENTS.conversationUpdated,
        conversationUpdated(conversationJson(conversationView(conversation.doc)), CONVERSATION_CHANGES.outboundMessage),
      );
      return { owner, ...res };
    }
    const count = async () => {
      const { latest, summary } = await tenant.conversations.countSent(conversation._id, {
        at,
        sortKey: first.sortKey,
        preview,
        type: accepted.kind,
      });
      // Built from what is known (the conversation as upserted, and this change), without a read.
      const before = conversation.doc;
      const after = {
        ...before,
        messageCount: (before.messageCount ?? 0) + 1,
        lastMessageAt: before.lastMessageAt && new Date(before.lastMessageAt) > at ? before.lastMessageAt : at,
        ...(latest ? summary : {}),
        updatedAt: new Date(),
      };
      this.deps.events.toClient(
        tenant.clientId.toHexString(),
        EVENTS.conversationUpdated,
        conversationUpdated(conversationJson(conversationView(after)), CONVERSATION_CHANGES.outboundMessage),
      );
    };
    // Handled at once (a rejection must not wait for the job's end unobserved), awaited before it ends.
    counting.push(
      count().catch((err: unknown) =>
        this.deps.logger.warn({ err, messageId }, "message not counted in its conversation"),
      ),
    );
    return { owner, ...res };
  }

  /**
   * The window and names the plan needs. From the message (as the send API saw the conversation)
   * when that decides: a window seen open stays open until its end, and a template-only request
   * goes as a template whatever the window. Only a text or media request whose window looked closed
   * reads the conversation again (the candidate may have written since).
   */
  private async conversationFor(tenant: TenantData, message: OutboundMessageDoc): Promise<PlanConversation | null> {
    const seen = message.planContext;
    const chat = chatFieldsOf(message.request);
    const wantsFreeForm = !!(message.request.message || message.request.media || chat.interactive || chat.reaction);
    if (seen && (!wantsFreeForm || windowOpen(seen))) return seen;
    return tenant.conversations.get(message.conversationId);
  }

  private callMeta(
    client: ClientDoc,
    message: OutboundMessageDoc,
    plan: Exclude<SendPlan, { kind: "refused" }>,
    media: MediaSend | null,
  ): Promise<SendResult> {
    const common = {
      phoneNumberId: client.phoneNumberId,
      // A candidate known only by a user id is sent to with `recipient` (131062 when Meta does not know it).
      to: message.request.candidatePhone,
      recipient: message.request.candidateUserId ?? null,
      token: clientAccessToken(this.deps.vault, client),
      bizOpaqueCallbackData: message._id.toHexString(),
      timeoutMs: this.timeout,
      // A reply to a given message of the conversation (checked by the send API): Meta's context.
      ...(chatFieldsOf(message.request).replyToWamid ? { replyTo: chatFieldsOf(message.request).replyToWamid! } : {}),
    };
    if (plan.kind === "text") return sendText(this.deps.graph, { ...common, body: plan.text });
    if (plan.kind === "media") return sendMedia(this.deps.graph, { ...common, media: media! });
    if (plan.kind === "interactive")
      return sendInteractive(this.deps.graph, { ...common, interactive: plan.interactive });
    if (plan.kind === "reaction")
      return sendReaction(this.deps.graph, {
        ...common,
        messageWamid: plan.reaction.wamid,
        emoji: plan.reaction.emoji,
      });
    return sendTemplate(this.deps.graph, {
      ...common,
      // Text variables (parameter_name when named), then a media header and buttons (sub_type, index).
      template: {
        name: plan.template.name,
        language: plan.template.language,
        headerParams: plan.headerParams,
        bodyParams: plan.bodyParams,
        components: plan.components,
      },
    });
  }

  private async onSendError(
    job: Job<OutboundJob>,
    token: string | undefined,
    data: OutboundJob,
    tenant: TenantData,
    client: ClientDoc,
    message: OutboundMessageDoc,
    err: unknown,
    record: SendRecord,
    stage: "send" | "upload" = "send",
    /** The budget place the gate confirmed for this attempt: given back when Meta refused it and it is retried. */
    sendBudget?: BudgetReservation,
  ): Promise<SendOutcome> {
    const { logger } = this.deps;
    // The request may have reached Meta and been accepted: do not send again before the check.
    // (Not for a media upload: an upload Meta kept unanswered costs nothing and is redone.)
    const uncertain =
      stage === "send" &&
      ((err instanceof GraphNetworkError && err.mayHaveReachedMeta) ||
        (err instanceof GraphResponseError && err.httpStatus < 300));
    if (uncertain) {
      logger.warn(
        { messageId: data.messageId, err: (err as Error).message },
        "send got no answer; waiting for Meta's status webhook before any resend",
      );
      return this.delay(job, token, Date.now() + this.grace, { ...data, slotAt: undefined });
    }
    const c = classifyGraphError(err);
    const error = errorOf(err);
    if (c.code === 131050) {
      // The candidate stopped marketing messages: recorded, so the next marketing template is refused at once.
      await this.optOuts.marketingStoppedByMeta({
        clientId: tenant.clientId,
        phone: message.request.candidatePhone,
        userId: message.request.candidateUserId ?? null,
        at: new Date(),
        key: `message:${message._id.toHexString()}`,
      });
    }
    if (c.reauth) {
      // The cached client may hold a token replaced since (a reconnect whose announcement has not
      // arrived yet): with a newer token stored, this is no reason to hold anything.
      const fresh = await this.caches.freshClient(data.clientId);
      if (fresh?.status === "active" && JSON.stringify(fresh.accessToken) !== JSON.stringify(client.accessToken)) {
        await tenant.outbound.markRetrying(message._id, error);
        throw new RetryableSendError(
          c,
          `Meta refused a token replaced since (code ${c.code}): retrying with the stored one`,
        );
      }
      await this.announcer.markReauthRequired(client._id, CLIENT_STATUS_REASONS.tokenInvalid, {
        detail: error.message ?? null,
      });
      await this.hold(tenant, message, `Meta refused the token (${c.code}): reconnect WhatsApp to resume sends`);
      return { outcome: "held", reason: "token" };
    }
    const paused = accountHoldReason(c);
    if (paused) {
      // 133010: one re-registration of the number (per day, across workers), then this send again.
      if (c.reregister && (await reregisterOnce({ ...this.deps, prefix: this.deps.options.prefix }, client))) {
        await tenant.outbound.releaseSending(message._id);
        return this.delay(job, token, Date.now() + 1_000, { ...data, slotAt: undefined });
      }
      // The whole number is refused: pause the tenant (client:status with the reason) and hold this
      // send without spending its attempt; the queued ones are held as they come, resumed together.
      await holdTenant(this.announcer, client._id, paused, error.message ?? null);
      this.caches.dropClient(data.clientId);
      await this.hold(tenant, message, accountHoldMessage(paused, c.code), true, paused);
      return { outcome: "held", reason: paused };
    }
    const kind = record.kind;
    if (c.useTemplate && (kind === "text" || kind === "interactive") && !message.fallbackOf) {
      // The fallback first: when the text shows `failed`, its fallback is already linked to it.
      const fallbackId = await createTemplateFallback(tenant, this.deps.queue, { ...message, kind }, this.prices);
      await this.fail(tenant, message, error, String(c.code), record);
      return { outcome: "fallback", fallbackId };
    }
    if (c.retryable) {
      const attempt = job.attemptsMade + 1;
      const max = Math.min(c.maxAttempts ?? Number.POSITIVE_INFINITY, job.opts.attempts ?? 1);
      if (attempt < max) {
        await tenant.outbound.markRetrying(message._id, error);
        // Meta did not take it: the place is confirmed again by the retry, at the moment it goes.
        await this.giveBack(sendBudget);
        throw new RetryableSendError(c, `${c.reason} (code ${c.code ?? "none"}), attempt ${attempt} of ${max}`);
      }
    }
    // 131049 (per-user marketing limit): that recipient did not get it; their portfolio budget place is given back.
    if (c.code === 131049) await this.deps.gate?.giveBack(client, message.request).catch(() => undefined);
    // The reason in words (e.g. 131062: an unknown user id), Meta's own title and details kept in `error`.
    await this.fail(
      tenant,
      message,
      error,
      String(c.code ?? c.kind),
      record,
      false,
      c.code != null ? `${c.reason} (Meta ${c.code})` : undefined,
    );
    throw new UnrecoverableError(`${c.reason} (code ${c.code ?? "none"})`);
  }

  /**
   * Records Meta's acceptance (one request), applies statuses that arrived before the wamid was known
   * (checked in groups, see PendingStatusCheck), and tells the dashboard, built from what is known.
   */
  private async finishSent(
    tenant: TenantData,
    message: OutboundMessageDoc,
    wamid: string,
    record: SendRecord | null,
  ): Promise<void> {
    const at = new Date();
    const written = await tenant.outbound.markSent(message._id, wamid, record, at);
    const campaignId = message.campaignId ?? null;
    await this.countCampaign(tenant.clientId.toHexString(), campaignId, message._id.toHexString(), "sent");
    // Statuses that waited for this wamid were applied here, not by the inbound worker: count them.
    // (Otherwise the status webhooks to come count the message: the send path costs nothing more.)
    if (await this.pending.add({ clientId: tenant.clientId, wamid })) {
      await this.counted(tenant, message);
      if (campaignId) {
        const now = await tenant.outbound.get(message._id);
        for (const e of campaignEventsOfStatuses(now?.statusAt))
          await this.countCampaign(tenant.clientId.toHexString(), campaignId, message._id.toHexString(), e);
      }
    }
    const clientId = tenant.clientId.toHexString();
    const sent = {
      ...message,
      ...written,
      statusAt: { ...(message.statusAt ?? {}), sent: message.statusAt?.sent ?? at },
    } as OutboundMessageDoc;
    this.deps.events.toClient(clientId, EVENTS.messageSent, messageSent(messageJson(sent), wamid));
  }

  /** The candidate opted out: the message ends `suppressed` with the reason, and the dashboard is told. */
  private async suppress(
    tenant: TenantData,
    message: OutboundMessageDoc,
    refusal: OptOutRefusal,
  ): Promise<SendOutcome> {
    await tenant.outbound.markSuppressed(message._id, refusal.code, refusal.reason);
    await this.countCampaign(
      tenant.clientId.toHexString(),
      message.campaignId,
      message._id.toHexString(),
      "suppressed",
    );
    this.deps.logger.info(
      { messageId: message._id.toHexString(), scope: refusal.scope, source: refusal.source },
      "outbound message suppressed: the candidate opted out",
    );
    this.emitStatus(tenant, message, "suppressed", { title: refusal.reason });
    return { outcome: "suppressed", reason: refusal.code };
  }

  /** A cancelled campaign's message: `suppressed` (CAMPAIGN_CANCELLED), its budget places given back, counted `cancelled`. */
  private async suppressCancelled(
    tenant: TenantData,
    message: OutboundMessageDoc,
    budgets: Array<BudgetReservation | undefined>,
  ): Promise<SendOutcome> {
    await tenant.outbound.markSuppressed(message._id, CAMPAIGN_CANCELLED, CAMPAIGN_CANCELLED_REASON);
    for (const b of budgets) await this.giveBack(b);
    await this.countCampaign(tenant.clientId.toHexString(), message.campaignId, message._id.toHexString(), "cancelled");
    this.emitStatus(tenant, message, "suppressed", { title: CAMPAIGN_CANCELLED_REASON });
    return { outcome: "suppressed", reason: CAMPAIGN_CANCELLED };
  }

  private async campaignCancelled(campaignId: string): Promise<boolean> {
    return this.deps.campaigns ? this.deps.campaigns.isCancelled(campaignId) : false;
  }

  /** Gives back a budget place counted for a message that does not go (only while it is still that message's). */
  private async giveBack(reservation: BudgetReservation | undefined): Promise<void> {
    if (reservation && this.deps.gate)
      await this.deps.gate
        .giveBackReservation(reservation)
        .catch((err: unknown) => this.deps.logger.warn({ err }, "budget place not given back"));
  }

  /** Counts an event of a campaign's message (idempotent per message and event; a failure is logged). */
  private async countCampaign(
    clientId: string,
    campaignId: Types.ObjectId | string | null | undefined,
    messageId: string,
    event: CampaignEvent,
  ): Promise<void> {
    if (!campaignId || !this.deps.campaigns) return;
    await this.deps.campaigns
      .mark(clientId, String(campaignId), [[messageId, event]])
      .catch((err: unknown) => this.deps.logger.warn({ err, messageId }, "campaign count not updated"));
  }

  /** `uncount`: the claim counted an attempt for a message that is not sent after all. */
  private async fail(
    tenant: TenantData,
    message: OutboundMessageDoc,
    error: MessageError,
    code: string,
    record: SendRecord | null = null,
    uncount = false,
    reason?: string,
  ): Promise<void> {
    await tenant.outbound.markFailed(message._id, error, code, new Date(), record, uncount, reason);
    await this.counted(tenant, message);
    await this.countCampaign(tenant.clientId.toHexString(), message.campaignId, message._id.toHexString(), "failed");
    this.deps.logger.info({ messageId: message._id.toHexString(), code }, "outbound message failed");
    this.emitStatus(tenant, message, "failed", error);
  }

  private async counted(tenant: TenantData, message: OutboundMessageDoc): Promise<void> {
    await this.deps
      .onMessageWritten?.(tenant.clientId, message._id)
      .catch((err: unknown) => this.deps.logger.warn({ err }, "analytics counters not updated for a send"));
  }

  private async hold(
    tenant: TenantData,
    message: OutboundMessageDoc,
    reason: string,
    uncount = false,
    reasonCode?: string,
  ): Promise<void> {
    await tenant.outbound.markHeld(message._id, reason, uncount, reasonCode);
    this.emitStatus(tenant, message, "held", { title: reason });
  }

  private emitStatus(
    tenant: TenantData,
    message: OutboundMessageDoc,
    status: MessageStatusValue,
    error: MessageError | null,
  ): void {
    const clientId = tenant.clientId.toHexString();
    this.deps.events.toClient(
      clientId,
      EVENTS.messageStatus,
      messageStatus({
        clientId,
        conversationId: message.conversationId.toHexString(),
        messageId: message._id.toHexString(),
        wamid: message.wamid ?? null,
        status,
        at: new Date(),
        error,
        pricing: null,
      }),
    );
  }
}
