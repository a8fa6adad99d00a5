import { Types, type Model } from "mongoose";
import type { NormalizedMessage, NormalizedStatus } from "@linkojob/whatsapp";
import { DbError, isDuplicateKeyError } from "../errors.js";
import type { ErasedCostDoc } from "../erasures/erasure.model.js";
import type { BulkWriter } from "../ferretdb-adapter.js";
import { isObjectIdString } from "../ids.js";
import { failureOf, inboundMessageDoc, statusField, type StatusOutcome } from "./message-docs.js";
import { InboundMessageBatch, type InboundMessageBatchOptions } from "./inbound-message-batch.js";
import { statusRankOf, type MessageDoc, type MessageMedia, type PendingStatusDoc } from "./message.model.js";
import { OutboundMessages } from "./outbound-messages.js";
import { StatusBatch, type StatusItem } from "./status-batch.js";

export interface MessagePage {
  messages: MessageDoc[];
  nextCursor: string | null;
}

function encodeCursor(doc: Pick<MessageDoc, "_id" | "timestamp">): string {
  return Buffer.from(`${doc.timestamp.getTime()}:${doc._id.toHexString()}`).toString("base64url");
}

export class InvalidCursorError extends DbError {
  constructor() {
    super("DB_ERR_INVALID_CURSOR");
    this.name = "InvalidCursorError";
  }
}

function decodeCursor(cursor: string): { at: Date; id: Types.ObjectId } {
  const match = /^(\d{1,15}):([0-9a-f]{24})$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!match) throw new InvalidCursorError();
  return { at: new Date(Number(match[1])), id: new Types.ObjectId(match[2]) };
}

/**
 * The `messages` collection's repository (and that of the statuses waiting for their message,
 * `pending_statuses`), through which the rest of the code writes them. `of(clientId)` gives one
 * tenant's messages (reads, a single inbound message, a single status); `outboundOf(clientId)` one
 * tenant's outbound sends; the batch entry points serve many tenants at once: `inboundBatch` (the
 * inbound worker's message inserts, with their count claims) and `applyStatuses` (a batch of
 * delivery statuses).
 */
export class MessageRepository {
  private readonly statuses: StatusBatch;

  constructor(
    private readonly models: {
      messages: Model<MessageDoc>;
      pendingStatuses: Model<PendingStatusDoc>;
      /** Cost rows of erased messages, counted in the outbound cost totals. */
      erasedCosts?: Model<ErasedCostDoc>;
    },
    /** The connection's batched-update writer (Database.batchWriter). */
    private readonly writer: BulkWriter,
  ) {
    this.statuses = new StatusBatch(models.messages, models.pendingStatuses, writer);
  }

  /** One tenant's messages. */
  of(clientId: Types.ObjectId): TenantMessages {
    return new TenantMessages(this.models.messages, this.models.pendingStatuses, clientId);
  }

  /** One tenant's outbound sends. */
  outboundOf(clientId: Types.ObjectId): OutboundMessages {
    return new OutboundMessages(this.models.messages, clientId, this.models.erasedCosts);
  }

  /**
   * The inbound messages' batch writer of one writer (a worker process: `opts.writer` names it in
   * the count claims it takes); see InboundMessageBatch.
   */
  inboundBatch(opts: InboundMessageBatchOptions): InboundMessageBatch {
    return new InboundMessageBatch(this.models.messages, opts, this.writer);
  }

  /**
   * Deletes the messages of these tenants matching any of `anyOf` (an erasure's messages stored in
   * no conversation found). One request; returns how many went.
   */
  async deleteMatching(clientIds: Types.ObjectId[], anyOf: Array<Record<string, unknown>>): Promise<number> {
    return (await this.models.messages.deleteMany({ clientId: { $in: clientIds }, $or: anyOf })).deletedCount;
  }

  /** Deletes the waiting statuses of these tenants matching any of `anyOf` (an erasure). One request. */
  async deletePendingStatuses(clientIds: Types.ObjectId[], anyOf: Array<Record<string, unknown>>): Promise<number> {
    return (await this.models.pendingStatuses.deleteMany({ clientId: { $in: clientIds }, $or: anyOf })).deletedCount;
  }

  /** Deletes the statuses that waited for their message since before `before` (upkeep). One request. */
  async purgePendingStatuses(before: Date): Promise<number> {
    return (await this.models.pendingStatuses.deleteMany({ createdAt: { $lt: before } })).deletedCount;
  }

  /**
   * Applies delivery statuses of many tenants, a batch at a time, by the rules of
   * TenantMessages.applyStatus (see StatusBatch). Returns one outcome per item, in order.
   */
  applyStatuses(items: StatusItem[], now = new Date()): Promise<StatusOutcome[]> {
    return this.statuses.apply(items, now);
  }
}

/** One tenant's messages (MessageRepository.of); every query carries its clientId. */
export class TenantMessages {
  constructor(
    private readonly model: Model<MessageDoc>,
    private readonly pending: Model<PendingStatusDoc>,
    readonly clientId: Types.ObjectId,
  ) {}

  /**
   * Stores an inbound message once: the unique (clientId, dedupeKey) index turns every redelivery
   * into a no-op. Returns whether this call stored it. The inbound worker stores a batch at a time
   * with MessageRepository.inboundBatch instead (one request for the batch, and counters it can
   * keep exact).
   */
  async insertInbound(
    conversationId: Types.ObjectId,
    m: NormalizedMessage,
  ): Promise<{ inserted: boolean; message: MessageDoc }> {
    const doc = inboundMessageDoc(this.clientId, conversationId, m, new Date());
    try {
      // The driver's insertOne skips Mongoose casting of the Mixed content (already validated).
      await this.model.collection.insertOne(doc);
      return { inserted: true, message: doc as unknown as MessageDoc };
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      const existing = await this.model
        .findOne({ clientId: this.clientId, dedupeKey: doc.dedupeKey })
        .lean<MessageDoc>();
      return { inserted: false, message: existing! };
    }
  }

  /**
   * Applies one delivery status (the inbound worker applies a batch at a time with
   * MessageRepository.applyStatuses, by the same rules). Statuses only move forward (STATUS_RANK),
   * each status keeps the first time it was reported, and a status for a message we do not have
   * yet is kept until it appears. Matches by wamid, else by our own id echoed in
   * biz_opaque_callback_data.
   */
  async applyStatus(s: NormalizedStatus): Promise<StatusOutcome> {
    let target = await this.model
      .findOne({ clientId: this.clientId, wamid: s.wamid }, { _id: 1 })
      .lean<{ _id: Types.ObjectId }>();
    if (!target && s.bizOpaqueCallbackData && isObjectIdString(s.bizOpaqueCallbackData)) {
      // The send's response was lost (or not processed yet): link the wamid through our id.
      const byOurId = await this.model
        .findOneAndUpdate(
          {
            clientId: this.clientId,
            _id: new Types.ObjectId(s.bizOpaqueCallbackData),
            direction: "outbound",
            wamid: null,
          },
          { $set: { wamid: s.wamid } },
        )
        .lean<{ _id: Types.ObjectId }>();
      target = byOurId;
    }
    if (!target) {
      await this.savePending(s);
      // The message may have been stored between our lookup and the save: look once more. Whoever
      // writes second (this, or applyPendingFor after the message's write) sees the other.
      const now = await this.model
        .findOne({ clientId: this.clientId, wamid: s.wamid }, { _id: 1 })
        .lean<{ _id: Types.ObjectId }>();
      if (!now) return { outcome: "pending" };
      target = now;
      await this.pending.deleteOne({ clientId: this.clientId, wamid: s.wamid, status: s.status });
    }
    return this.applyTo(target._id, s);
  }

  private async applyTo(id: Types.ObjectId, s: NormalizedStatus): Promise<StatusOutcome> {
    const rank = statusRankOf(s.status);
    const record: Record<string, unknown> = { $min: { [statusField(s.status)]: s.timestamp } };
    if (s.pricing) record.$set = { pricing: s.pricing };
    await this.model.updateOne({ _id: id, clientId: this.clientId }, record);

    let applied = false;
    if (rank !== undefined) {
      const set: Record<string, unknown> = { status: s.status, statusRank: rank };
      if (s.status === "failed") set.error = failureOf(s);
      const res = await this.model.updateOne(
        { _id: id, clientId: this.clientId, statusRank: { $lt: rank } },
        { $set: set },
      );
      applied = res.modifiedCount === 1;
    }
    const message = await this.model
      .findOne(
        { _id: id, clientId: this.clientId },
        { _id: 1, conversationId: 1, wamid: 1, status: 1, error: 1, pricing: 1, statusAt: 1, campaignId: 1 },
      )
      .lean<StatusOutcome["message"]>();
    return { outcome: applied ? "applied" : "recorded", ...(message ? { message } : {}) };
  }

  private async savePending(s: NormalizedStatus): Promise<void> {
    try {
      await this.pending.create({
        clientId: this.clientId,
        wamid: s.wamid,
        status: s.status,
        bizOpaqueCallbackData: s.bizOpaqueCallbackData ?? null,
        payload: s,
      });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err; // the same status redelivered: already waiting
    }
  }

  /**
   * Applies the statuses that arrived before this message got its wamid. Call after every write that
   * gives a message a wamid.
   */
  async applyPendingFor(wamid: string): Promise<StatusOutcome[]> {
    const waiting = await this.pending.find({ clientId: this.clientId, wamid }).lean<PendingStatusDoc[]>();
    const outcomes: StatusOutcome[] = [];
    for (const p of waiting) {
      const s = p.payload as NormalizedStatus;
      const status: NormalizedStatus = { ...s, timestamp: new Date(s.timestamp) };
      const target = await this.model
        .findOne({ clientId: this.clientId, wamid }, { _id: 1 })
        .lean<{ _id: Types.ObjectId }>();
      if (!target) break;
      outcomes.push(await this.applyTo(target._id, status));
      await this.pending.deleteOne({ _id: p._id });
    }
    return outcomes;
  }

  /**
   * Deletes these messages of one conversation (a conversation removed, `ids` a batch at a time);
   * the conversation's equality narrows the delete (FerretDB scans the whole collection for an `$in`
   * alone). Returns how many went.
   */
  async deleteOfConversation(conversationId: Types.ObjectId, ids: Types.ObjectId[]): Promise<number> {
    return (await this.model.deleteMany({ clientId: this.clientId, conversationId, _id: { $in: ids } })).deletedCount;
  }

  /**
   * Writes an inbound message's `media` (its fetch's state or its stored file), unless a file is
   * stored already, and, with `unlessFailed`, unless it failed for good. Returns whether it wrote.
   */
  async setMedia(id: Types.ObjectId, media: MessageMedia, unlessFailed: boolean): Promise<boolean> {
    const res = await this.model.updateOne(
      {
        _id: id,
        clientId: this.clientId,
        "media.status": unlessFailed ? { $nin: ["stored", "failed"] } : { $ne: "stored" },
      },
      { $set: { media } },
    );
    return res.modifiedCount === 1;
  }

  /** Newest first, `limit` at a time; pass the returned cursor to read older ones. */
  async listByConversation(
    conversationId: Types.ObjectId,
    opts: { cursor?: string; limit: number },
  ): Promise<MessagePage> {
    const filter: Record<string, unknown> = { clientId: this.clientId, conversationId };
    if (opts.cursor) {
      const c = decodeCursor(opts.cursor);
      filter.$or = [{ timestamp: { $lt: c.at } }, { timestamp: c.at, _id: { $lt: c.id } }];
    }
    const docs = await this.model
      .find(filter, { __v: 0, dedupeKey: 0, raw: 0 })
      .sort({ timestamp: -1, _id: -1 })
      .limit(opts.limit + 1)
      .lean<MessageDoc[]>();
    const hasMore = docs.length > opts.limit;
    const messages = hasMore ? docs.slice(0, opts.limit) : docs;
    const last = messages[messages.length - 1];
    return { messages, nextCursor: hasMore && last ? encodeCursor(last) : null };
  }
}
