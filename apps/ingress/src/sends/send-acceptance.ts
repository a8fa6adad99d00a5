import type { Queue } from "bullmq";
import type { Principal } from "@linkojob/auth";
import {
  conversationJson,
  messageSortKey,
  outboundDedupeKey,
  sameUser,
  type ClientDoc,
  type Database,
  type OutboundMessageDoc,
  type OutboundRequest,
  type TenantData,
} from "@linkojob/db";
import { CONVERSATION_CHANGES, EVENTS, conversationUpdated, type DashboardEvents } from "@linkojob/events";
import type { OutboundJob } from "@linkojob/queues";
import { HttpError, forbidden, notFound } from "../http/errors.js";
import {
  DEFAULT_PRICE_TABLE_MAD,
  OutboundMediaError,
  SendCaches,
  acceptOutboundMedia,
  discardStagedMedia,
  enqueueSend,
  planPreview,
  planSend,
  plannedKindAndCost,
  sendRecordOf,
  templateRefusal,
  templateRefusalStatus,
  accountHoldMessage,
  ACCOUNT_HOLD_REASON_LIST,
  type AccountHoldReason,
  type OutboundMedia,
  type PriceTable,
  type StoredOutboundMedia,
} from "@linkojob/outbound";

export interface SendAnswer {
  success: true;
  messageId: string;
  /** `held`: stored, waiting for the client to be active again (reauth_required, an account hold). */
  status: "queued" | "held";
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

const WINDOW_CLOSED_MEDIA =
  "the 24-hour window is closed (or this is a first contact): media can be sent only after the candidate writes; the template goes instead";

const answerOf = (m: Pick<OutboundMessageDoc, "_id" | "kind" | "costExpected" | "request" | "status">): SendAnswer => ({
  success: true,
  messageId: m._id.toHexString(),
  status: m.status === "held" ? "held" : "queued",
  kind: m.kind,
  cost: m.costExpected,
  ...(m.request?.media
    ? { media: m.kind === "media" ? { willSend: true } : { willSend: false, reason: WINDOW_CLOSED_MEDIA } }
    : {}),
});

/** The account-level pause a client is in (SPAM_RATE_LIMITED, PAYMENT_PROBLEM…), or null. */
const accountPauseOf = (client: ClientDoc): AccountHoldReason | null =>
  (ACCOUNT_HOLD_REASON_LIST as string[]).includes(client.statusReason ?? "")
    ? (client.statusReason as AccountHoldReason)
    : null;

/** Why a send to a client that cannot send now is held, in words a dashboard can show. */
const heldReasonOf = (client: ClientDoc) =>
  accountPauseOf(client)
    ? accountHoldMessage(accountPauseOf(client)!, null)
    : `client is ${client.status}${client.statusReason ? ` (${client.statusReason})` : ""}: sends resume when it is active again`;

/** An accepted media that cannot be stored: 413 over Meta's size limit, 400 otherwise. */
const mediaHttpError = (err: OutboundMediaError) =>
  new HttpError(err.code === "MEDIA_TOO_LARGE" ? 413 : 400, err.code, err.message, { field: "media" });

export interface SendAcceptanceOptions {
  /** Clients and templates kept in process, dropped on change announcements. Default: uncached. */
  caches?: SendCaches;
  /** OUTBOUND_PRICE_TABLE. Default: DEFAULT_PRICE_TABLE_MAD. */
  prices?: PriceTable;
  /** Dashboard events: `conversation:updated` when a send enters a conversation. */
  events?: DashboardEvents;
}

/**
 * Accepts a send: stores the message `queued` in its conversation and enqueues it. No Meta call:
 * the outbound worker decides again and sends. The answer's `kind` and `cost` are @linkojob/outbound's
 * planSend from the window as it is now (the worker's plan at send time may differ: a candidate may
 * write meanwhile).
 *
 * Three MongoDB requests on the common path: the conversation's upsert (which returns it: its window
 * plans the send), the message's insert, and the conversation's count and summary (only when the
 * insert stored the message, so a replay never counts twice). The client and its templates come
 * from SendCaches; the dashboard event is built from what is known, without a read.
 *
 * With an Idempotency-Key, the message's dedupe key is `out:idem:<key>` (unique per client): the
 * unique insert decides, and a repeated request reads the first message and answers the same, and
 * only enqueues it again (same job id: no second job), which also heals a first request whose
 * enqueue failed.
 *
 * Media (issue 5): base64 bytes are written to GridFS first (they are part of the stored request) and
 * the message keeps their id only; a link is kept as is. Jobs carry message ids only, never bytes.
 */
export class SendAcceptance {
  readonly caches: SendCaches;
  private readonly prices: PriceTable;

  constructor(
    readonly db: Database,
    private readonly queue: Queue<OutboundJob>,
    private readonly options: SendAcceptanceOptions = {},
  ) {
    this.caches = options.caches ?? new SendCaches(db);
    this.prices = options.prices ?? DEFAULT_PRICE_TABLE_MAD;
  }

  /**
   * The tenant a send names by clientId, from the cached client: a recruiter only for its own
   * client (the client's userId is its subject), the platform service and operators for any.
   * The same rule as TenantAccess.resolve, without a database request once the client is cached.
   */
  async tenantFor(principal: Principal, clientId: string): Promise<TenantData> {
    const client = await this.caches.client(clientId);
    if (!client) throw notFound("client");
    if (principal.role === "recruiter" && !sameUser(client.userId, principal.userId))
      throw forbidden("this client does not belong to you");
    return this.db.forTenant(client._id);
  }

  async accept(
    tenant: TenantData,
    request: Omit<OutboundRequest, "media">,
    idempotencyKey: string | null,
    media: OutboundMedia | null = null,
  ): Promise<{ answer: SendAnswer; replay: boolean }> {
    const clientId = tenant.clientId;
    const client = await this.caches.client(clientId.toHexString());
    if (!client) throw new HttpError(404, "NOT_FOUND", "client not found");
    // Disconnected: the token is wiped and nothing could ever send it; refused before anything is stored.
    if (client.status === "disconnected") {
      throw new HttpError(
        409,
        "CLIENT_DISCONNECTED",
        "this client's WhatsApp is disconnected: reconnect it before sending",
        { clientId: clientId.toHexString() },
      );
    }
    // A template request that does not match the synced template (variables, media header, buttons,
    // paused or disabled) is refused before anything is stored or reaches Meta.
    const refusal = await templateRefusal(
      media ? { ...request, media: { type: media.type } } : request,
      client,
      this.caches.templatesOf(client.wabaId),
    );
    if (refusal)
      throw new HttpError(templateRefusalStatus(refusal), refusal.code, refusal.reason, { field: "template" });

    // The media first: a refused one (size, type, unknown fileId) leaves nothing stored or queued.
    let stored: StoredOutboundMedia | null = null;
    if (media) {
      try {
        stored = await acceptOutboundMedia(this.db, clientId, media);
      } catch (err) {
        throw err instanceof OutboundMediaError ? mediaHttpError(err) : err;
      }
    }
    // Only bytes this request staged are ours to remove (a `fileId` names a file staged before).
    const staged = stored && media?.base64 !== undefined ? stored : null;
    let created: boolean;
    let message: OutboundMessageDoc;
    let count: (() => Promise<void>) | null;
    try {
      ({ created, message, count } = await this.store(
        tenant,
        client,
        { ...request, ...(stored ? { media: stored } : {}) },
        idempotencyKey,
      ));
    } catch (err) {
      if (staged) await discardStagedMedia(this.db, clientId, staged).catch(() => undefined);
      throw err;
    }
    // A concurrent request with the same Idempotency-Key stored first: its message (and file) stand.
    if (!created && staged) await discardStagedMedia(this.db, clientId, staged).catch(() => undefined);
    // The conversation's count and the enqueue do not wait for each other (one round trip less).
    await Promise.all([count?.(), this.enqueue(clientId.toHexString(), message)]);
    return { answer: answerOf(message), replay: !created };
  }

  /**
   * Plans from the window as it is now and stores the message `queued` in its conversation. Returns,
   * when this call inserted it, the conversation's count and summary write (and its dashboard event)
   * to run next.
   */
  private async store(
    tenant: TenantData,
    client: ClientDoc,
    request: OutboundRequest,
    idempotencyKey: string | null,
  ): Promise<{ created: boolean; message: OutboundMessageDoc; count: (() => Promise<void>) | null }> {
    const conversation = await tenant.outbound.openConversation(request);
    const plan = await planSend({
      request,
      client,
      conversation,
      templates: this.caches.templatesOf(client.wabaId),
      prices: this.prices,
    });
    const { kind, cost, costCategory } = plannedKindAndCost(plan);
    const res = await tenant.outbound.create({
      conversationId: conversation._id,
      request,
      kind,
      cost,
      costCategory,
      idempotencyKey,
      planContext: {
        windowExpiresAt: conversation.windowExpiresAt,
        candidateName: conversation.candidateName,
        jobTitle: conversation.jobTitle,
      },
      planned: sendRecordOf(plan),
      // reauth_required (or pending): accepted and stored held; resumed when the client is active.
      heldReason: client.status === "active" ? null : heldReasonOf(client),
      heldReasonCode: client.status === "active" ? null : accountPauseOf(client),
    });
    if (!res.created) return { ...res, count: null };
    const count = async () => {
      const m = res.message;
      const at = new Date(m.timestamp);
      const { latest, summary } = await tenant.outbound.countInConversation(conversation._id, {
        at,
        sortKey: messageSortKey(at, outboundDedupeKey(m._id.toHexString())),
        preview: planPreview(plan, request),
        type: kind,
      });
      if (this.options.events) {
        // Built from what is known (the conversation as read or created, and this change).
        const before = conversation.doc;
        const after = {
          ...before,
          messageCount: (before.messageCount ?? 0) + 1,
          lastMessageAt: before.lastMessageAt && new Date(before.lastMessageAt) > at ? before.lastMessageAt : at,
          ...(latest ? summary : {}),
          updatedAt: new Date(),
        };
        const json = conversationJson({ ...after, inWindow: false });
        this.options.events.toClient(
          tenant.clientId.toHexString(),
          EVENTS.conversationUpdated,
          conversationUpdated(json, CONVERSATION_CHANGES.outboundMessage),
        );
      }
    };
    return { ...res, count };
  }

  private async enqueue(clientId: string, m: Pick<OutboundMessageDoc, "_id" | "kind">): Promise<void> {
    const messageId = m._id.toHexString();
    try {
      await enqueueSend(this.queue, { clientId, messageId, kind: m.kind });
    } catch {
      // Stored but not queued: the caller retries with the same Idempotency-Key (which enqueues it),
      // and the outbound worker re-enqueues messages left queued without a job when it starts.
      throw new HttpError(
        503,
        "QUEUE_UNAVAILABLE",
        "the message is stored but could not be queued; retry with the same Idempotency-Key",
        { messageId },
      );
    }
  }
}
