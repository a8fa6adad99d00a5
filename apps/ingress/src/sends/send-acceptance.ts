import type { Queue } from "bullmq";
import {
  expectedCost,
  type ClientDoc,
  type Database,
  type OutboundMessageDoc,
  type OutboundRequest,
  type TenantData,
} from "@linkojob/db";
import type { OutboundJob } from "@linkojob/queues";
import { HttpError } from "../http/errors";
import {
  OutboundMediaError,
  acceptOutboundMedia,
  discardStagedMedia,
  enqueueSend,
  type OutboundMedia,
  type StoredOutboundMedia,
} from "@linkojob/outbound";

export interface SendAnswer {
  success: true;
  messageId: string;
  status: "queued";
  /**
   * What is planned: `text`, `media` (an image or document inside the window: a free service
   * message, like text) or `template` (first contact or closed window).
   */
  kind: "text" | "template" | "media";
  /** Expected cost in MAD; confirmed or corrected later by the pricing Meta reports. */
  cost: number;
  /**
   * Only when the request has media: whether it is planned to go. With the window closed it is not
   * sent (Meta takes only templates there, §8): the template goes instead, or, without a usable
   * template, the message fails with WINDOW_CLOSED_NO_TEMPLATE.
   */
  media?: { willSend: boolean; reason?: string };
}

const WINDOW_CLOSED_MEDIA =
  "the 24-hour window is closed (or this is a first contact): media can be sent only after the candidate writes; the template goes instead";

const answerOf = (m: Pick<OutboundMessageDoc, "_id" | "kind" | "costExpected" | "request">): SendAnswer => ({
  success: true,
  messageId: m._id.toHexString(),
  status: "queued",
  kind: m.kind,
  cost: m.costExpected,
  ...(m.request?.media ? { media: m.kind === "media" ? { willSend: true } : { willSend: false, reason: WINDOW_CLOSED_MEDIA } } : {}),
});

/** An accepted media that cannot be stored: 413 over Meta's size limit, 400 otherwise. */
const mediaHttpError = (err: OutboundMediaError) =>
  new HttpError(err.code === "MEDIA_TOO_LARGE" ? 413 : 400, err.code, err.message, { field: "media" });

/**
 * Accepts a send: stores the message `queued` in its conversation and enqueues it. No Meta call:
 * the outbound worker decides and sends. The answer's `kind` is the plan from the window as it is
 * now; the worker decides again at send time (a candidate may write meanwhile).
 *
 * With an Idempotency-Key, the message's dedupe key is `out:idem:<key>` (unique per client): a
 * repeated request finds the first message and answers the same, and only enqueues it again (same
 * job id: no second job), which also heals a first request whose enqueue failed.
 *
 * Media (issue 5): base64 bytes are written to GridFS first (they are part of the stored request) and
 * the message keeps their id only; a link is kept as is. Jobs carry message ids only, never bytes.
 */
export class SendAcceptance {
  constructor(
    private readonly db: Database,
    private readonly queue: Queue<OutboundJob>,
  ) {}

  async accept(
    tenant: TenantData,
    request: Omit<OutboundRequest, "media">,
    idempotencyKey: string | null,
    media: OutboundMedia | null = null,
  ): Promise<{ answer: SendAnswer; replay: boolean }> {
    const clientId = tenant.clientId;
    if (idempotencyKey) {
      const first = await this.db.messages.collection.findOne({ clientId, dedupeKey: `out:idem:${idempotencyKey}` });
      if (first) {
        const m = first as unknown as OutboundMessageDoc;
        await this.enqueue(clientId.toHexString(), m);
        return { answer: answerOf(m), replay: true };
      }
    }
    const client = await this.db.clients.findById(clientId, { defaultTemplate: 1, status: 1 }).lean<Pick<ClientDoc, "defaultTemplate" | "status">>();
    if (!client) throw new HttpError(404, "NOT_FOUND", "client not found");

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
    try {
      ({ created, message } = await this.store(tenant, client, { ...request, ...(stored ? { media: stored } : {}) }, idempotencyKey));
    } catch (err) {
      if (staged) await discardStagedMedia(this.db, clientId, staged).catch(() => undefined);
      throw err;
    }
    // A concurrent request with the same Idempotency-Key stored first: its message (and file) stand.
    if (!created && staged) await discardStagedMedia(this.db, clientId, staged).catch(() => undefined);
    await this.enqueue(clientId.toHexString(), message);
    return { answer: answerOf(message), replay: !created };
  }

  /** Plans from the window as it is now and stores the message `queued` in its conversation. */
  private async store(
    tenant: TenantData,
    client: Pick<ClientDoc, "defaultTemplate">,
    request: OutboundRequest,
    idempotencyKey: string | null,
  ): Promise<{ created: boolean; message: OutboundMessageDoc }> {
    const clientId = tenant.clientId;
    // Read first: the conversation is written (created) only when it does not exist yet.
    const existing = await this.db.conversations
      .findOne({ clientId, candidateKey: request.candidatePhone }, { _id: 1, windowExpiresAt: 1 })
      .lean<{ _id: OutboundMessageDoc["conversationId"]; windowExpiresAt?: Date | null }>();
    const conversationId =
      existing?._id ??
      (await tenant.conversations.ensure(
        { candidateKey: request.candidatePhone, candidatePhone: request.candidatePhone },
        {
          ...(request.applicationId ? { applicationId: request.applicationId } : {}),
          ...(request.jobTitle ? { jobTitle: request.jobTitle } : {}),
          ...(request.candidateName ? { candidateName: request.candidateName } : {}),
        },
      ));
    const inWindow = !!existing?.windowExpiresAt && new Date(existing.windowExpiresAt).getTime() > Date.now();
    // The worker's planSend rule: free-form content (media, else text) only inside the window.
    const kind = request.media && inWindow ? "media" : request.message && inWindow ? "text" : "template";
    let category: string | null = null;
    if (kind === "template") {
      const name = request.templateName ?? client.defaultTemplate?.name ?? "application_received";
      const language = request.templateLanguage ?? client.defaultTemplate?.language ?? "fr";
      category = (await tenant.templates.find(name, language))?.category ?? null;
    }
    // Media is a service message: priced as text (free inside the window, §8).
    const est = expectedCost(kind === "template" ? "template" : "text", category, inWindow);
    return tenant.outbound.create({ conversationId, request, kind, cost: est.cost, costCategory: est.category, idempotencyKey });
  }

  private async enqueue(clientId: string, m: Pick<OutboundMessageDoc, "_id" | "kind">): Promise<void> {
    const messageId = m._id.toHexString();
    try {
      await enqueueSend(this.queue, { clientId, messageId, kind: m.kind });
    } catch {
      // Stored but not queued: the caller retries with the same Idempotency-Key (which enqueues it),
      // and the outbound worker re-enqueues messages left queued without a job when it starts.
      throw new HttpError(503, "QUEUE_UNAVAILABLE", "the message is stored but could not be queued; retry with the same Idempotency-Key", { messageId });
    }
  }
}
