import { Types, type Model } from "mongoose";
import { isDuplicateKeyError } from "../errors";
import { STATUS_RANK, type MessageDoc, type MessageError } from "./message.model";

/** What the sender asked for (the send API's body, normalised). Stored with the message. */
export interface OutboundRequest {
  candidatePhone: string;
  candidateName?: string | null;
  message?: string | null;
  templateName?: string | null;
  templateLanguage?: string | null;
  templateVars?: string[] | null;
  jobTitle?: string | null;
  companyName?: string | null;
  applicationId?: string | null;
  /** Media to send (issue 5): ids only, never the bytes (a staged GridFS file or a link). */
  media?: OutboundMediaRef | null;
}

/** An image or document to send: a link Meta fetches, or a file staged in GridFS (`fileId`). */
export interface OutboundMediaRef {
  type: "image" | "document";
  url?: string;
  fileId?: string;
  mimeType?: string;
  caption?: string;
  filename?: string;
}

/** `media`: an image or document inside the window (a free service message, like text). */
export type OutboundKind = "text" | "template" | "media";

/** The template actually sent. */
export interface SentTemplate {
  name: string;
  language: string;
  category?: string | null;
  vars: string[];
}

/** Outbound messages carry these fields on top of MessageDoc (messageJson passes them through). */
export interface OutboundMessageDoc extends MessageDoc {
  direction: "outbound";
  request: OutboundRequest;
  /** `template` or `text`: planned by the API, then what the worker actually sent. */
  kind: OutboundKind;
  template?: SentTemplate | null;
  /** MAD: the expected cost until Meta reports pricing, then what that pricing implies. */
  cost: number;
  costExpected: number;
  costCategory: string;
  costSource: "estimate" | "meta";
  idempotencyKey?: string | null;
  /** When the current send call started (status `sending`): what a resumed job checks. */
  sendingSince?: Date | null;
  sendAttempts?: number;
  /** Why it is held or failed, in words a dashboard can show. */
  reason?: string | null;
  reasonCode?: string | null;
  lastError?: MessageError | null;
  heldAt?: Date | null;
  /** The automatic template sent after this text failed with 131047 (and the reverse link). */
  fallbackMessageId?: Types.ObjectId | null;
  fallbackOf?: Types.ObjectId | null;
}

export const outboundDedupeKey = (messageId: string) => `out:${messageId}`;
export const idempotentDedupeKey = (key: string) => `out:idem:${key}`;
export const fallbackDedupeKey = (originalId: string) => `out:fallback:${originalId}`;

export interface NewOutbound {
  conversationId: Types.ObjectId;
  request: OutboundRequest;
  kind: OutboundKind;
  cost: number;
  costCategory: string;
  idempotencyKey?: string | null;
  fallbackOf?: Types.ObjectId | null;
  /** Explicit dedupe key (fallbacks); else from the idempotency key, else from the new id. */
  dedupeKey?: string;
}

export interface CostTotals {
  total: number;
  count: number;
  byCategory: Record<string, { count: number; cost: number }>;
  byKind: Record<string, { count: number; cost: number }>;
  currency: "MAD";
}

const rank = (s: keyof typeof STATUS_RANK) => STATUS_RANK[s];

/**
 * One tenant's outbound messages: the send API stores them `queued`, the outbound worker moves them
 * through `sending` to `sent` / `failed` / `held`; status webhooks move them further (MessageRepository).
 * Writes go through the driver (`collection`): the extra outbound fields are not in the shared schema.
 */
export class OutboundMessageRepository {
  constructor(
    private readonly model: Model<MessageDoc>,
    readonly clientId: Types.ObjectId,
  ) {}

  private get col() {
    return this.model.collection;
  }

  /** Stores a new queued message once per dedupe key. `created` is false when the key existed. */
  async create(input: NewOutbound): Promise<{ created: boolean; message: OutboundMessageDoc }> {
    const _id = new Types.ObjectId();
    const now = new Date();
    const dedupeKey =
      input.dedupeKey ?? (input.idempotencyKey ? idempotentDedupeKey(input.idempotencyKey) : outboundDedupeKey(_id.toHexString()));
    const doc = {
      _id,
      clientId: this.clientId,
      conversationId: input.conversationId,
      dedupeKey,
      wamid: null,
      direction: "outbound" as const,
      type: input.kind,
      text: input.kind === "text" ? (input.request.message ?? null) : null,
      timestamp: now,
      receivedAt: now,
      status: "queued",
      statusRank: rank("queued"),
      error: null,
      pricing: null,
      request: input.request,
      kind: input.kind,
      template: null,
      cost: input.cost,
      costExpected: input.cost,
      costCategory: input.costCategory,
      costSource: "estimate" as const,
      idempotencyKey: input.idempotencyKey ?? null,
      sendAttempts: 0,
      fallbackOf: input.fallbackOf ?? null,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.col.insertOne(doc);
      return { created: true, message: doc as unknown as OutboundMessageDoc };
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      const existing = await this.col.findOne({ clientId: this.clientId, dedupeKey });
      return { created: false, message: existing as unknown as OutboundMessageDoc };
    }
  }

  async get(id: Types.ObjectId | string): Promise<OutboundMessageDoc | null> {
    const _id = typeof id === "string" ? new Types.ObjectId(id) : id;
    return (await this.col.findOne({ _id, clientId: this.clientId, direction: "outbound" })) as OutboundMessageDoc | null;
  }

  /** The send call is about to start: `sending`, with the time a resumed job will check against. */
  async markSending(id: Types.ObjectId, plan: { kind: OutboundKind; text: string | null; template: SentTemplate | null; cost: number; costCategory: string }) {
    const now = new Date();
    await this.col.updateOne(
      { _id: id, clientId: this.clientId, statusRank: { $lte: rank("sending") }, wamid: null },
      {
        $set: {
          status: "sending",
          statusRank: rank("sending"),
          sendingSince: now,
          kind: plan.kind,
          type: plan.kind,
          text: plan.text,
          template: plan.template,
          cost: plan.cost,
          costExpected: plan.cost,
          costCategory: plan.costCategory,
          heldAt: null,
          updatedAt: now,
        },
        $inc: { sendAttempts: 1 },
      },
    );
  }

  /**
   * Meta accepted the send. The wamid is written unless a status webhook already linked one through
   * biz_opaque_callback_data (the same one); the status moves to `sent` unless webhooks moved it further.
   */
  async markSent(id: Types.ObjectId, wamid: string, at = new Date()): Promise<void> {
    await this.col.updateOne({ _id: id, clientId: this.clientId, wamid: null }, { $set: { wamid, updatedAt: at } });
    // When webhooks already moved it further, they also recorded statusAt.sent (Meta's own time).
    await this.col.updateOne(
      { _id: id, clientId: this.clientId, statusRank: { $lt: rank("sent") } },
      {
        $set: { status: "sent", statusRank: rank("sent"), sendingSince: null, reason: null, reasonCode: null, updatedAt: at },
        $min: { "statusAt.sent": at },
      },
    );
  }

  /** Ends the message as failed (never after a delivery report: ranks only move forward). */
  async markFailed(id: Types.ObjectId, error: MessageError, reasonCode: string, at = new Date()): Promise<void> {
    await this.col.updateOne(
      { _id: id, clientId: this.clientId, statusRank: { $lt: rank("failed") } },
      {
        $set: { status: "failed", statusRank: rank("failed"), error, reason: error.title ?? error.message ?? reasonCode, reasonCode, sendingSince: null, updatedAt: at },
        $min: { "statusAt.failed": at },
      },
    );
  }

  /** Meta refused this attempt with a transient error: back to `queued` until the retry. */
  async markRetrying(id: Types.ObjectId, error: MessageError): Promise<void> {
    await this.col.updateOne(
      { _id: id, clientId: this.clientId, status: "sending", wamid: null },
      { $set: { status: "queued", statusRank: rank("queued"), sendingSince: null, lastError: error, updatedAt: new Date() } },
    );
  }

  /** The call did not start after all (the pacing guard said wait): back to `queued`, attempt not counted. */
  async releaseSending(id: Types.ObjectId): Promise<void> {
    await this.col.updateOne(
      { _id: id, clientId: this.clientId, status: "sending", wamid: null },
      { $set: { status: "queued", statusRank: rank("queued"), sendingSince: null, updatedAt: new Date() }, $inc: { sendAttempts: -1 } },
    );
  }

  /** The client cannot send (token revoked, reconnect needed): held until it is active again. */
  async markHeld(id: Types.ObjectId, reason: string): Promise<void> {
    await this.col.updateOne(
      { _id: id, clientId: this.clientId, statusRank: { $lte: rank("sending") }, wamid: null },
      { $set: { status: "held", statusRank: rank("held"), heldAt: new Date(), reason, reasonCode: "CLIENT_NOT_ACTIVE", sendingSince: null, updatedAt: new Date() } },
    );
  }

  /** Held messages, oldest first, to resume. */
  async listHeld(limit = 10_000): Promise<Array<{ _id: Types.ObjectId; heldAt: Date | null; kind: OutboundKind }>> {
    return (await this.col
      .find({ clientId: this.clientId, direction: "outbound", status: "held" }, { projection: { _id: 1, heldAt: 1, kind: 1 } })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray()) as Array<{ _id: Types.ObjectId; heldAt: Date | null; kind: OutboundKind }>;
  }

  async linkFallback(originalId: Types.ObjectId, fallbackId: Types.ObjectId): Promise<void> {
    await this.col.updateOne({ _id: originalId, clientId: this.clientId }, { $set: { fallbackMessageId: fallbackId } });
  }

  /** Meta's pricing for this message: the cost it implies replaces the estimate. */
  async recordCost(id: Types.ObjectId, cost: number, category: string): Promise<void> {
    await this.col.updateOne({ _id: id, clientId: this.clientId }, { $set: { cost, costCategory: category, costSource: "meta" } });
  }

  /** Totals of outbound costs between two instants (creation time), by category and by kind. */
  async costTotals(from: Date, to: Date): Promise<CostTotals> {
    const docs = await this.col
      .find(
        { clientId: this.clientId, direction: "outbound", createdAt: { $gte: from, $lt: to }, status: { $ne: "failed" } },
        { projection: { cost: 1, costCategory: 1, kind: 1 } },
      )
      .toArray();
    const out: CostTotals = { total: 0, count: 0, byCategory: {}, byKind: {}, currency: "MAD" };
    for (const d of docs as unknown as Array<{ cost?: number; costCategory?: string; kind?: string }>) {
      const cost = typeof d.cost === "number" ? d.cost : 0;
      out.total += cost;
      out.count++;
      const c = (out.byCategory[d.costCategory ?? "unknown"] ??= { count: 0, cost: 0 });
      c.count++;
      c.cost += cost;
      const k = (out.byKind[d.kind ?? "unknown"] ??= { count: 0, cost: 0 });
      k.count++;
      k.cost += cost;
    }
    // Sums of 0.40 accumulate binary rounding: report centimes.
    const round = (n: number) => Math.round(n * 100) / 100;
    out.total = round(out.total);
    for (const v of [...Object.values(out.byCategory), ...Object.values(out.byKind)]) v.cost = round(v.cost);
    return out;
  }

  /** Messages left `queued` or `sending` since before `before` (a lost enqueue, a dead worker). */
  async listStale(before: Date, limit = 1_000): Promise<Array<{ _id: Types.ObjectId; updatedAt: Date }>> {
    return (await this.col
      .find(
        { clientId: this.clientId, direction: "outbound", status: { $in: ["queued", "sending"] }, updatedAt: { $lt: before } },
        { projection: { _id: 1, updatedAt: 1 } },
      )
      .limit(limit)
      .toArray()) as Array<{ _id: Types.ObjectId; updatedAt: Date }>;
  }
}
