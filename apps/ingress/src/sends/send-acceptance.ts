import { Types } from "mongoose";
import type { Principal } from "@linkojob/auth";
import { candidateKeyOf, type Database, type TenantData } from "@linkojob/db";
import { DomainError } from "@linkojob/errors";
import { TenantAccess } from "../auth/tenant-access.js";
import { notFound } from "../http/errors.js";
import { SendError } from "./send-error.js";
import {
  NotReplicatedError,
  OptOutError,
  OutboundMediaError,
  SendDecider,
  TemplateRefusalError,
  acceptOutboundMedia,
  discardStagedMedia,
  templatePrecheck,
  type KnownTemplateDecision,
  type OutboundMedia,
  type OutboundRequest,
  type PriceTable,
  type SendClient,
  type SendIntake,
  type SendState,
  type StoredOutboundMedia,
  type SendGate,
} from "@linkojob/outbound";
import { scheduledAnswerOf, type ScheduledFields } from "../sending-policy/send-gate-hook.js";

export interface SendAnswer {
  success: true;
  messageId: string;
  /**
   * `held`: stored, waiting for the client to be active again (reauth_required, an account hold), or
   * a marketing first contact while the number's quality pauses them. `scheduled`: goes at
   * `scheduledFor` (the portfolio's messaging limit is spent until then, or quiet hours).
   */
  status: "queued" | "held" | "scheduled";
  /**
   * What is planned: `text`, `media` (an image or document inside the window: a free service
   * message, like text) or `template` (first contact or closed window).
   */
  kind: "text" | "template" | "media" | "interactive" | "reaction";
  /** Expected cost in MAD; confirmed or corrected later by the pricing Meta reports. */
  cost: number;
  /**
   * Only when the request has media: whether it is planned to go. With the window closed it is not
   * sent (Meta takes only templates there): the template goes instead, or, without a usable
   * template, the message fails with WINDOW_CLOSED_NO_TEMPLATE.
   */
  media?: { willSend: boolean; reason?: string };
}
export type SendAnswerWithSchedule = SendAnswer & Partial<ScheduledFields>;

const WINDOW_CLOSED_MEDIA =
  "the 24-hour window is closed (or this is a first contact): media can be sent only after the candidate writes; the template goes instead";

const answerOf = (
  messageId: string,
  held: boolean,
  kind: SendAnswer["kind"],
  cost: number,
  request: Pick<OutboundRequest, "media">,
): SendAnswer => ({
  success: true,
  messageId,
  status: held ? "held" : "queued",
  kind,
  cost,
  ...(request.media
    ? { media: kind === "media" ? { willSend: true } : { willSend: false, reason: WINDOW_CLOSED_MEDIA } }
    : {}),
});

/** An accepted media that cannot be stored, naming the request's field. */
const mediaError = (err: OutboundMediaError) =>
  new OutboundMediaError(err.code, err.message, { field: "media" }, { cause: err });

export interface SendAcceptanceOptions {
  /** OUTBOUND_PRICE_TABLE. Default: DEFAULT_PRICE_TABLE_MAD. */
  prices?: PriceTable;
  /** The sending protections (quality, quiet hours, the portfolio's limit). None: not applied here. */
  gate?: SendGate;
}

/** A Redis (or, on a miss, MongoDB) failure while deciding: nothing was enqueued, the caller retries. */
const unavailable = (err: unknown) =>
  err instanceof DomainError ? err : new SendError("SEND_UNAVAILABLE", undefined, undefined, { cause: err });

export type { PlannedSend, SendDecision } from "@linkojob/outbound";

/**
 * Accepts a send by appending it to the send stream (SendIntake: one XADD, answered before the 202;
 * the outbound worker's pump moves it into the outbound queue): no Meta call and, for a client whose state is in Redis, no
 * MongoDB request. The client, its templates and the candidate's window come from SendState (the
 * client and templates through SendCaches, kept in process and dropped on change announcements);
 * the answer's `kind` and `cost` are @linkojob/outbound's planSend from them, the best estimate: the
 * outbound worker stores the message under the `messageId` answered here, then decides again from
 * MongoDB at send time (a candidate may have written meanwhile).
 *
 * With an Idempotency-Key, the key is claimed in Redis (SET NX) with the answer before the enqueue
 * and confirmed after it: a repeated request on any ingress answers the same messageId once the
 * first one's job is queued (409 IDEMPOTENCY_KEY_IN_USE while it is being queued), and the worker's
 * unique `out:idem:<key>` dedupe key stores one message even if Redis lost the key.
 *
 * Media: base64 bytes are written to GridFS first (MongoDB, on this path only for them) and the job
 * keeps their id only; a link is kept as is. Jobs never carry bytes.
 */
export class SendAcceptance extends SendDecider {
  /** Who may act for a client: the ingress's one decision (TenantAccess.forClient, mayActFor). */
  private readonly access: TenantAccess;

  constructor(
    readonly db: Database,
    private readonly intake: SendIntake,
    state: SendState,
    options: SendAcceptanceOptions = {},
  ) {
    super(state, options);
    this.access = new TenantAccess(db);
  }

  /**
   * The tenant a send names by clientId, from the client's state: the decision TenantAccess.resolve
   * takes (TenantAccess.forClient), on the cached client, so without a database request once cached.
   */
  async tenantFor(principal: Principal, clientId: string): Promise<TenantData> {
    const client = await this.caches.client(clientId).catch((err: unknown) => Promise.reject(unavailable(err)));
    return this.access.forClient(principal, client);
  }

  async accept(
    tenant: TenantData,
    request: Omit<OutboundRequest, "media">,
    idempotencyKey: string | null,
    media: OutboundMedia | null = null,
  ): Promise<{ answer: SendAnswer; replay: boolean }> {
    const clientId = tenant.clientId.toHexString();
    let client: SendClient | null;
    try {
      client = await this.caches.client(clientId);
    } catch (err) {
      throw unavailable(err);
    }
    if (!client) throw notFound("client");
    // Disconnected: the token is wiped and nothing could ever send it; refused before anything is queued.
    if (client.status === "disconnected") {
      throw new SendError("CLIENT_DISCONNECTED", undefined, { clientId });
    }
    const templates = this.caches.templatesOf(client.wabaId);
    // The candidate's window and opt-out, and the sending protections, from Redis in one MGET.
    const candidate = await this.state
      .candidate(
        clientId,
        candidateKeyOf(request),
        [request.candidatePhone, request.candidateUserId],
        Date.now(),
        this.gate ? this.gate.state.keysOf(client) : [],
      )
      .catch((err: unknown) => Promise.reject(unavailable(err)));
    // A template request that does not match the synced template (variables, media header, buttons,
    // paused or disabled) is refused before anything is queued or reaches Meta: the template half of
    // the plan the worker decides with, on the variables this request gives.
    const { problem: refusal, template } = await templatePrecheck({
      request: media ? { ...request, media: { type: media.type } } : request,
      client,
      conversation: { windowExpiresAt: candidate.windowExpiresAt },
      templates,
      prices: this.prices,
      estimate: true,
    }).catch((err: unknown) => Promise.reject(unavailable(err)));
    if (refusal) throw new TemplateRefusalError(refusal.code, refusal.reason, { field: "template" });

    // The media first: a refused one (size, type, unknown fileId) leaves nothing stored or queued.
    let stored: StoredOutboundMedia | null = null;
    if (media) {
      try {
        stored = await acceptOutboundMedia(this.db, tenant.clientId, media);
      } catch (err) {
        throw err instanceof OutboundMediaError ? mediaError(err) : unavailable(err);
      }
    }
    // Only bytes this request staged are ours to remove (a `fileId` names a file staged before).
    const staged = stored && media?.base64 !== undefined ? stored : null;
    const discard = async () => {
      if (staged) await discardStagedMedia(this.db, tenant.clientId, staged).catch(() => undefined);
    };
    const full: OutboundRequest = { ...request, ...(stored ? { media: stored } : {}) };
    try {
      return await this.enqueue(clientId, client, full, candidate, idempotencyKey, discard, template);
    } catch (err) {
      await discard();
      throw unavailable(err);
    }
  }

  /** Plans from the state in Redis, then claims the Idempotency-Key (if any) and enqueues. */
  private async enqueue(
    clientId: string,
    client: SendClient,
    request: OutboundRequest,
    candidate: Awaited<ReturnType<SendState["candidate"]>>,
    idempotencyKey: string | null,
    discard: () => Promise<void>,
    /** The precheck's template decision, which the plan reuses rather than planning the template twice. */
    template: KnownTemplateDecision | null,
  ): Promise<{ answer: SendAnswer; replay: boolean }> {
    const decision = await this.decide(clientId, client, request, candidate, template);
    if (decision.optedOut) {
      const optedOut = decision.optedOut;
      throw new OptOutError(optedOut.code, optedOut.reason, {
        scope: optedOut.scope,
        source: optedOut.source,
        since: optedOut.since,
      });
    }
    const { kind, cost } = decision;
    const messageId = new Types.ObjectId().toHexString();
    // reauth_required (or pending): accepted; the worker holds it until the client is active again.
    let answer: SendAnswerWithSchedule = answerOf(messageId, client.status !== "active", kind, cost, request);
    // Sending protections: a business-initiated send may be held (quality) or scheduled (limit, quiet hours).
    const gated = await this.gateOf(
      client,
      request,
      decision.plan,
      this.gate ? this.gate.state.viewOf(candidate.extra) : undefined,
    );
    if (gated && gated.action !== "go") answer = scheduledAnswerOf(answer, gated);
    if (idempotencyKey) {
      const first = await this.state.claimIdempotent(clientId, idempotencyKey, answer);
      if (first) {
        await discard();
        if (first.state === "queued") return { answer: first.answer, replay: true };
        throw new SendError("IDEMPOTENCY_KEY_IN_USE");
      }
    }
    try {
      await this.intake.append({
        clientId,
        messageId,
        kind,
        accepted: this.acceptedOf(request, idempotencyKey, decision, gated),
        ...(gated?.action === "schedule" ? { delayMs: Math.max(0, gated.at - Date.now()) } : {}),
      });
    } catch (err) {
      if (err instanceof NotReplicatedError) {
        // On the primary, not confirmed by its replica: it goes if the primary lives, and is lost only if
        // a failover happens now. The key keeps this answer (a retry with it gets this messageId if the
        // send survived, and is accepted anew if it did not); the budget place stays the send's.
        if (idempotencyKey) await this.state.confirmIdempotent(clientId, idempotencyKey, answer).catch(() => undefined);
        throw new SendError("NOT_REPLICATED", undefined, { messageId });
      }
      if (idempotencyKey) await this.state.releaseIdempotent(clientId, idempotencyKey).catch(() => undefined);
      // Nothing queued: the budget place the gate counted for it is given back.
      await this.giveBack(gated);
      throw new SendError("QUEUE_UNAVAILABLE", undefined, {});
    }
    // Queued: a failed confirmation leaves the key pending (409 to a repeat until it expires), never a second send.
    if (idempotencyKey) await this.state.confirmIdempotent(clientId, idempotencyKey, answer).catch(() => undefined);
    return { answer, replay: false };
  }
}
