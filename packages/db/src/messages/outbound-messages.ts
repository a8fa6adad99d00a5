import { Types, type Model } from "mongoose";
import type { ErasedCostDoc } from "../erasures/erasure.model.js";
import { isDuplicateKeyError } from "../errors.js";
import { STATUS_RANK, type MessageDoc, type MessageError } from "./message.model.js";
import { flowTokenOf } from "../flows/flow-token.js";

/**
 * The send request as a message stores it (`request`), reduced to the fields this package reads;
 * the request itself, its schema and its type (OutboundRequest) live in @linkojob/outbound.
 */
export interface StoredOutboundRequest {
  /** Digits with country code; null when the candidate is known only by a user id. */
  candidatePhone: string | null;
  /** Meta's business-scoped user id (`MA.1234…`), sent as `recipient` when no phone is known. */
  candidateUserId?: string | null;
  candidateName?: string | null;
  message?: string | null;
  jobTitle?: string | null;
  applicationId?: string | null;
  /** Media to send: ids only, never the bytes (a staged GridFS file or a link). */
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

/** `media`: an image or document inside the window (a free service message, like text); `interactive` (buttons, list) and `reaction` too. */
export type OutboundKind = "text" | "template" | "media" | "interactive" | "reaction";

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
  request: StoredOutboundRequest;
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
  /**
   * The conversation as the send API saw it: the worker plans from it without reading the
   * conversation again (a window only ever grows, so an open one here is open until its end).
   */
  planContext?: PlanContext | null;
}

/** What the send plan needs of the conversation, as of acceptance. */
export interface PlanContext {
  windowExpiresAt: Date | null;
  candidateName: string | null;
  jobTitle: string | null;
}

/** The conversation a send goes to, as the upsert at acceptance returns it. */
export interface SendConversation extends PlanContext {
  _id: Types.ObjectId;
}

/** What a send writes into the conversation's summary. */
export interface SentSummary {
  at: Date;
  /** Orders "the latest message" (messageSortKey, conversation-view.ts). */
  sortKey: string;
  preview: string | null;
  type: string;
}

/** What the worker decided and sent: recorded with `sent` (or `failed`). */
export interface SendRecord {
  kind: OutboundKind;
  text: string | null;
  template: SentTemplate | null;
  cost: number;
  costCategory: string;
}

/** A send's conversation key: the phone when known, else the business-scoped user id. */
export function candidateKeyOf(request: Pick<StoredOutboundRequest, "candidatePhone" | "candidateUserId">): string {
  const key = request.candidatePhone || request.candidateUserId;
  if (!key) throw new Error("an outbound request needs candidatePhone or candidateUserId");
  return key;
}

export const outboundDedupeKey = (messageId: string) => `out:${messageId}`;
export const idempotentDedupeKey = (key: string) => `out:idem:${key}`;
export const fallbackDedupeKey = (originalId: string) => `out:fallback:${originalId}`;

export interface NewOutbound {
  /** The id the send API chose and answered (default: a new one). */
  _id?: Types.ObjectId;
  /** When the send was accepted (default: now): the message's timestamp. */
  acceptedAt?: Date;
  conversationId: Types.ObjectId;
  request: StoredOutboundRequest;
  kind: OutboundKind;
  cost: number;
  costCategory: string;
  idempotencyKey?: string | null;
  fallbackOf?: Types.ObjectId | null;
  /** Explicit dedupe key (fallbacks); else from the idempotency key, else from the new id. */
  dedupeKey?: string;
  planContext?: PlanContext | null;
  /**
   * What the send API planned (text or caption, template): stored with the message, so that it is
   * there before any status webhook (markSent writes what the worker actually sent).
   */
  planned?: Pick<SendRecord, "text" | "template"> | null;
  /** Stored `held` with this reason (the client cannot send now: reauth_required, an account hold). */
  heldReason?: string | null;
  /** Its code (an account-level pause's reason); default CLIENT_NOT_ACTIVE. */
  heldReasonCode?: string | null;
  /** Stored already taken for a send (`sending`, one attempt), as `claim` would leave it: the worker's store at its pacing slot. */
  sending?: boolean;
  /** The campaign it is one of (POST /api/campaigns). */
  campaignId?: Types.ObjectId | null;
}

export interface CostTotals {
  total: number;
  count: number;
  byCategory: Record<string, { count: number; cost: number }>;
  byKind: Record<string, { count: number; cost: number }>;
  currency: "MAD";
  /** What was expected at acceptance (the rate card then), whether or not Meta has priced it since. */
  estimated: { total: number; count: number; byCategory: Record<string, { count: number; cost: number }> };
  /** What Meta's pricing says (status webhooks): `billable` messages and their cost; `free` ones cost nothing. */
  billed: {
    total: number;
    count: number;
    billable: number;
    free: number;
    byCategory: Record<string, { count: number; cost: number }>;
  };
  /** Messages Meta has not priced yet (their `cost` is still the estimate). */
  unpriced: { count: number; estimated: number };
}

const rank = (s: keyof typeof STATUS_RANK) => STATUS_RANK[s];

const recordFields = (r: SendRecord) => ({
  kind: r.kind,
  type: r.kind,
  text: r.text,
  template: r.template,
  cost: r.cost,
  costExpected: r.cost,
  costCategory: r.costCategory,
});

/**
 * One tenant's outbound messages (MessageRepository.outboundOf): the send API stores them `queued`,
 * the outbound worker moves them through `sending` to `sent` / `failed` / `held`; status webhooks
 * move them further (MessageRepository). Writes go through the driver (`collection`): the extra
 * outbound fields are not in the shared schema.
 *
 * Designed for round trips: storing an accepted send takes the conversation lookup (one request for
 * a known candidate; on first contact a second, the insert, which also counts the message:
 * TenantConversations.openForSend), the message insert and, in a known conversation, its count and
 * summary (TenantConversations.countSent); then `sent` is one request. Every write is guarded by the
 * state it moves from, so nothing is re-read to check it, and counters move only with the insert
 * that actually stored the message.
 */
export class OutboundMessages {
  constructor(
    private readonly model: Model<MessageDoc>,
    readonly clientId: Types.ObjectId,
    /** Cost rows of erased messages, counted in costTotals (absent: none counted). */
    private readonly erasedCosts?: Model<ErasedCostDoc>,
  ) {}

  private get col() {
    return this.model.collection;
  }

  /**
   * Stores a new queued message once per dedupe key (the unique `{ clientId, dedupeKey }` index
   * decides, also between workers and after Redis lost an Idempotency-Key). `created` is false when
   * the key existed: `message` is then the stored one, whose `_id` may differ from `input._id`.
   */
  async create(input: NewOutbound): Promise<{ created: boolean; message: OutboundMessageDoc }> {
    const _id = input._id ?? new Types.ObjectId();
    const now = new Date();
    const at = input.acceptedAt ?? now;
    const dedupeKey =
      input.dedupeKey ??
      (input.idempotencyKey ? idempotentDedupeKey(input.idempotencyKey) : outboundDedupeKey(_id.toHexString()));
    const flowToken = flowTokenOf(input.request);
    const doc = {
      _id,
      clientId: this.clientId,
      conversationId: input.conversationId,
      dedupeKey,
      wamid: null,
      direction: "outbound" as const,
      type: input.kind,
      text: input.planned ? input.planned.text : input.kind === "text" ? (input.request.message ?? null) : null,
      timestamp: at,
      receivedAt: at,
      status: input.heldReason ? "held" : input.sending ? "sending" : "queued",
      statusRank: input.heldReason ? rank("held") : input.sending ? rank("sending") : rank("queued"),
      ...(input.sending && !input.heldReason ? { sendingSince: now } : {}),
      ...(input.heldReason
        ? { heldAt: now, reason: input.heldReason, reasonCode: input.heldReasonCode ?? "CLIENT_NOT_ACTIVE" }
        : {}),
      error: null,
      pricing: null,
      request: input.request,
      // The flow's token, top-level for the data-exchange endpoint's indexed lookup (flow-token.ts).
      ...(flowToken ? { flowToken } : {}),
      kind: input.kind,
      template: input.planned?.template ?? null,
      cost: input.cost,
      costExpected: input.cost,
      costCategory: input.costCategory,
      costSource: "estimate" as const,
      idempotencyKey: input.idempotencyKey ?? null,
      sendAttempts: input.sending && !input.heldReason ? 1 : 0,
      fallbackOf: input.fallbackOf ?? null,
      ...(input.campaignId ? { campaignId: input.campaignId } : {}),
      ...(input.planContext ? { planContext: input.planContext } : {}),
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

  /**
   * Stores an outbound message the business sent from the WhatsApp Business app (an app echo,
   * shaped by the inbound worker) once: false when its dedupe key is stored already (a redelivered
   * echo). Through the driver: the echo's own fields are not in the shared schema.
   */
  async insertEcho(doc: { _id: Types.ObjectId; dedupeKey: string } & Record<string, unknown>): Promise<boolean> {
    try {
      await this.col.insertOne({ ...doc, clientId: this.clientId });
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  async get(id: Types.ObjectId | string): Promise<OutboundMessageDoc | null> {
    const _id = typeof id === "string" ? new Types.ObjectId(id) : id;
    return (await this.col.findOne({
      _id,
      clientId: this.clientId,
      direction: "outbound",
    })) as OutboundMessageDoc | null;
  }

  /**
   * Takes a queued (or held) message for a send: `sending` from now, one more attempt, in one
   * request that also returns it. When it is not queued or held (already sent, failed, or `sending`
   * after a call that got no answer) it is read instead, for the caller to decide: `claimed` false.
   */
  async claim(id: Types.ObjectId | string): Promise<{ message: OutboundMessageDoc | null; claimed: boolean }> {
    const _id = typeof id === "string" ? new Types.ObjectId(id) : id;
    const now = new Date();
    const taken = (await this.col.findOneAndUpdate(
      { _id, clientId: this.clientId, direction: "outbound", wamid: null, status: { $in: ["queued", "held"] } },
      {
        $set: { status: "sending", statusRank: rank("sending"), sendingSince: now, heldAt: null, updatedAt: now },
        $inc: { sendAttempts: 1 },
      },
      { returnDocument: "after", includeResultMetadata: false },
    )) as OutboundMessageDoc | null;
    if (taken) return { message: taken, claimed: true };
    return { message: await this.get(_id), claimed: false };
  }

  /**
   * A `sending` message whose call got no answer is sent again (its grace period passed with no
   * status naming it): a new `sendingSince`, one more attempt. Null when it is no longer unanswered.
   */
  async reclaim(message: OutboundMessageDoc): Promise<OutboundMessageDoc | null> {
    const now = new Date();
    const res = await this.col.updateOne(
      { _id: message._id, clientId: this.clientId, status: "sending", wamid: null },
      { $set: { sendingSince: now, updatedAt: now }, $inc: { sendAttempts: 1 } },
    );
    return res.modifiedCount === 1
      ? { ...message, sendingSince: now, updatedAt: now, sendAttempts: (message.sendAttempts ?? 0) + 1 }
      : null;
  }

  /** The send call is about to start: `sending`, with the time a resumed job will check against. */
  async markSending(id: Types.ObjectId, plan: SendRecord) {
    const now = new Date();
    await this.col.updateOne(
      { _id: id, clientId: this.clientId, statusRank: { $lte: rank("sending") }, wamid: null },
      {
        $set: {
          status: "sending",
          statusRank: rank("sending"),
          sendingSince: now,
          ...recordFields(plan),
          heldAt: null,
          updatedAt: now,
        },
        $inc: { sendAttempts: 1 },
      },
    );
  }

  /**
   * Meta accepted the send: wamid, `sent`, and what was sent, in one request. When status webhooks
   * got there first (they link our id through biz_opaque_callback_data and may have moved the status
   * further), the wamid they linked stands, the status is not moved back, and Meta's own cost is
   * kept. Returns the fields written on the common path (to build the dashboard event without a read).
   */
  async markSent(
    id: Types.ObjectId,
    wamid: string,
    record: SendRecord | null = null,
    at = new Date(),
  ): Promise<Record<string, unknown>> {
    const sent = {
      wamid,
      status: "sent",
      statusRank: rank("sent"),
      sendingSince: null,
      reason: null,
      reasonCode: null,
      updatedAt: at,
    };
    const fields = { ...sent, ...(record ? recordFields(record) : {}) };
    const res = await this.col.updateOne(
      { _id: id, clientId: this.clientId, statusRank: { $lt: rank("sent") }, $or: [{ wamid: null }, { wamid }] },
      { $set: fields, $min: { "statusAt.sent": at } },
    );
    if (res.matchedCount === 1) return fields;
    // Webhooks moved it first: keep their wamid, status and statusAt.sent (Meta's own time).
    await this.col.updateOne({ _id: id, clientId: this.clientId, wamid: null }, { $set: { wamid, updatedAt: at } });
    if (record) {
      const { cost: _c, costExpected: _e, costCategory: _g, ...what } = recordFields(record);
      await this.col.updateOne({ _id: id, clientId: this.clientId }, { $set: what });
      await this.col.updateOne(
        { _id: id, clientId: this.clientId, costSource: { $ne: "meta" } },
        { $set: { cost: record.cost, costExpected: record.cost, costCategory: record.costCategory } },
      );
    }
    return { wamid };
  }

  /**
   * Ends the message as failed (never after a delivery report: ranks only move forward), with what
   * was attempted when the worker had planned it.
   */
  async markFailed(
    id: Types.ObjectId,
    error: MessageError,
    reasonCode: string,
    at = new Date(),
    record: SendRecord | null = null,
    /** The claim counted an attempt, but Meta was not called (refused locally). */
    uncount = false,
    /** Words for the dashboard; default Meta's title, else its message, else the code. */
    reason?: string,
  ): Promise<void> {
    await this.col.updateOne(
      { _id: id, clientId: this.clientId, statusRank: { $lt: rank("failed") } },
      {
        $set: {
          status: "failed",
          statusRank: rank("failed"),
          error,
          reason: reason ?? error.title ?? error.message ?? reasonCode,
          reasonCode,
          sendingSince: null,
          updatedAt: at,
          ...(record ? recordFields(record) : {}),
        },
        $min: { "statusAt.failed": at },
        ...(uncount ? { $inc: { sendAttempts: -1 } } : {}),
      },
    );
  }

  /**
   * The candidate opted out before this message went: it ends `suppressed` with the reason, never
   * sent. Only a message Meta has not accepted (no wamid) moves; the claim's attempt is uncounted.
   */
  async markSuppressed(id: Types.ObjectId, reasonCode: string, reason: string, at = new Date()): Promise<boolean> {
    const res = await this.col.updateOne(
      { _id: id, clientId: this.clientId, wamid: null, statusRank: { $lt: rank("suppressed") } },
      {
        $set: {
          status: "suppressed",
          statusRank: rank("suppressed"),
          reason,
          reasonCode,
          sendingSince: null,
          updatedAt: at,
        },
        $min: { "statusAt.suppressed": at },
        $inc: { sendAttempts: -1 },
      },
    );
    return res.modifiedCount > 0;
  }

  /**
   * A cancelled campaign: its messages not taken for a send yet (queued or held, no wamid) end
   * `suppressed` with the reason, in one request; a job that finds one so never claims it.
   */
  async suppressCampaign(
    campaignId: Types.ObjectId,
    reasonCode: string,
    reason: string,
    at = new Date(),
  ): Promise<number> {
    const res = await this.col.updateMany(
      { clientId: this.clientId, campaignId, wamid: null, status: { $in: ["queued", "held"] } },
      {
        $set: {
          status: "suppressed",
          statusRank: rank("suppressed"),
          reason,
          reasonCode,
          sendingSince: null,
          updatedAt: at,
        },
        $min: { "statusAt.suppressed": at },
      },
    );
    return res.modifiedCount;
  }

  /** Meta refused this attempt with a transient error: back to `queued` until the retry. */
  async markRetrying(id: Types.ObjectId, error: MessageError): Promise<void> {
    await this.col.updateOne(
      { _id: id, clientId: this.clientId, status: "sending", wamid: null },
      {
        $set: {
          status: "queued",
          statusRank: rank("queued"),
          sendingSince: null,
          lastError: error,
          updatedAt: new Date(),
        },
      },
    );
  }

  /** The call did not start after all (the pacing guard said wait): back to `queued`, attempt not counted. */
  async releaseSending(id: Types.ObjectId): Promise<void> {
    await this.col.updateOne(
      { _id: id, clientId: this.clientId, status: "sending", wamid: null },
      {
        $set: { status: "queued", statusRank: rank("queued"), sendingSince: null, updatedAt: new Date() },
        $inc: { sendAttempts: -1 },
      },
    );
  }

  /** The client cannot send (token revoked, reconnect needed): held until it is active again. */
  async markHeld(id: Types.ObjectId, reason: string, uncount = false, reasonCode = "CLIENT_NOT_ACTIVE"): Promise<void> {
    await this.col.updateOne(
      { _id: id, clientId: this.clientId, statusRank: { $lte: rank("sending") }, wamid: null },
      {
        $set: {
          status: "held",
          statusRank: rank("held"),
          heldAt: new Date(),
          reason,
          reasonCode,
          sendingSince: null,
          updatedAt: new Date(),
        },
        // The claim counted an attempt, but Meta was not called (the client cannot send).
        ...(uncount ? { $inc: { sendAttempts: -1 } } : {}),
      },
    );
  }

  /** Held messages, oldest first, to resume. */
  /** A client's held messages, oldest first (`campaignId`: a campaign's, resumed in its lane). */
  async listHeld(
    limit = 10_000,
  ): Promise<
    Array<{ _id: Types.ObjectId; heldAt: Date | null; kind: OutboundKind; campaignId?: Types.ObjectId | null }>
  > {
    return (await this.col
      .find(
        { clientId: this.clientId, direction: "outbound", status: "held" },
        { projection: { _id: 1, heldAt: 1, kind: 1, campaignId: 1 } },
      )
      .sort({ _id: 1 })
      .limit(limit)
      .toArray()) as Array<{
      _id: Types.ObjectId;
      heldAt: Date | null;
      kind: OutboundKind;
      campaignId?: Types.ObjectId | null;
    }>;
  }

  async linkFallback(originalId: Types.ObjectId, fallbackId: Types.ObjectId): Promise<void> {
    await this.col.updateOne({ _id: originalId, clientId: this.clientId }, { $set: { fallbackMessageId: fallbackId } });
  }

  /**
   * Meta's pricing of several messages (any tenant's: each names its clientId) in one request: the
   * cost it implies replaces the estimate. Used to write the costs of a group of status webhooks.
   */
  async recordCosts(
    items: Array<{ clientId: Types.ObjectId; id: Types.ObjectId; cost: number; category: string }>,
  ): Promise<void> {
    if (!items.length) return;
    await this.col.bulkWrite(
      items.map((i) => ({
        updateOne: {
          filter: { _id: i.id, clientId: i.clientId },
          update: { $set: { cost: i.cost, costCategory: i.category, costSource: "meta" } },
        },
      })),
      { ordered: false },
    );
  }

  /**
   * The Graph media id an upload of this message's file got (`mediaUpload`, reused while fresh).
   * Through the driver: `mediaUpload` is not in the Mongoose schema (strict mode would drop it).
   */
  async rememberMediaUpload(id: Types.ObjectId, uploadId: string, at = new Date()): Promise<void> {
    await this.col.updateOne(
      { _id: id, clientId: this.clientId },
      { $set: { mediaUpload: { id: uploadId, uploadedAt: at } } },
    );
  }

  /** Cost fields recomputed for several messages (a repricing), in one unordered request. */
  async setCosts(
    items: Array<{
      id: Types.ObjectId;
      set: Partial<Pick<OutboundMessageDoc, "cost" | "costExpected" | "costCategory" | "costSource">>;
    }>,
  ): Promise<void> {
    if (!items.length) return;
    await this.col.bulkWrite(
      items.map((i) => ({ updateOne: { filter: { _id: i.id, clientId: this.clientId }, update: { $set: i.set } } })),
      { ordered: false },
    );
  }

  /** Meta's pricing for this message: the cost it implies replaces the estimate. */
  async recordCost(id: Types.ObjectId, cost: number, category: string): Promise<void> {
    await this.col.updateOne(
      { _id: id, clientId: this.clientId },
      { $set: { cost, costCategory: category, costSource: "meta" } },
    );
  }

  /** Totals of outbound costs between two instants (creation time), by category and by kind. */
  async costTotals(from: Date, to: Date): Promise<CostTotals> {
    const docs = await this.col
      .find(
        {
          clientId: this.clientId,
          direction: "outbound",
          createdAt: { $gte: from, $lt: to },
          status: { $ne: "failed" },
        },
        { projection: { cost: 1, costCategory: 1, kind: 1, costExpected: 1, costSource: 1 } },
      )
      .toArray();
    // An erased candidate's sends still count, anonymised (erased_costs keeps price, category, kind).
    if (this.erasedCosts)
      docs.push(
        ...(await this.erasedCosts.collection
          .find(
            { clientId: this.clientId, createdAt: { $gte: from, $lt: to }, status: { $ne: "failed" } },
            { projection: { cost: 1, costCategory: 1, kind: 1, costExpected: 1, costSource: 1 } },
          )
          .toArray()),
      );
    const out: CostTotals = {
      total: 0,
      count: 0,
      byCategory: {},
      byKind: {},
      currency: "MAD",
      estimated: { total: 0, count: 0, byCategory: {} },
      billed: { total: 0, count: 0, billable: 0, free: 0, byCategory: {} },
      unpriced: { count: 0, estimated: 0 },
    };
    type Row = { cost?: number; costCategory?: string; kind?: string; costExpected?: number; costSource?: string };
    for (const d of docs as unknown as Row[]) {
      const cost = typeof d.cost === "number" ? d.cost : 0;
      const expected = typeof d.costExpected === "number" ? d.costExpected : cost;
      const category = d.costCategory ?? "unknown";
      out.estimated.total += expected;
      out.estimated.count++;
      const e = (out.estimated.byCategory[category] ??= { count: 0, cost: 0 });
      e.count++;
      e.cost += expected;
      if (d.costSource === "meta") {
        out.billed.total += cost;
        out.billed.count++;
        if (cost > 0) out.billed.billable++;
        else out.billed.free++;
        const b = (out.billed.byCategory[category] ??= { count: 0, cost: 0 });
        b.count++;
        b.cost += cost;
      } else {
        out.unpriced.count++;
        out.unpriced.estimated += expected;
      }
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
    out.estimated.total = round(out.estimated.total);
    out.billed.total = round(out.billed.total);
    out.unpriced.estimated = round(out.unpriced.estimated);
    for (const v of [
      ...Object.values(out.byCategory),
      ...Object.values(out.byKind),
      ...Object.values(out.estimated.byCategory),
      ...Object.values(out.billed.byCategory),
    ]) {
      v.cost = round(v.cost);
    }
    return out;
  }

  /** Messages left `queued` or `sending` since before `before` (a lost enqueue, a dead worker). */
  async listStale(before: Date, limit = 1_000): Promise<Array<{ _id: Types.ObjectId; updatedAt: Date }>> {
    return (await this.col
      .find(
        {
          clientId: this.clientId,
          direction: "outbound",
          status: { $in: ["queued", "sending"] },
          updatedAt: { $lt: before },
        },
        { projection: { _id: 1, updatedAt: 1 } },
      )
      .limit(limit)
      .toArray()) as Array<{ _id: Types.ObjectId; updatedAt: Date }>;
  }
}
