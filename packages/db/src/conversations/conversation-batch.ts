import { Types, type AnyBulkWriteOperation, type Model } from "mongoose";
import { MONGODB_UPDATE_LIMITS, bulkWriteGroups, chunks, type UpdateLimits } from "../ferretdb-adapter";
import type { ConversationDoc } from "./conversation.model";
import { WINDOW_MS, conversationView, type ConversationView } from "./conversation.repository";

/** A candidate of a tenant, as a batch of inbound messages names them. */
export interface ConversationRef {
  clientId: Types.ObjectId;
  candidateKey: string;
  candidatePhone?: string | null;
  candidateUserId?: string | null;
}

/** One inbound message newly counted in a conversation (stored by this batch, or taken over). */
export interface CountedInbound {
  /** Meta's timestamp. */
  timestamp: Date;
  /** When this service stored it: unread if after the conversation's readUpTo. */
  receivedAt: Date;
  /** messageSortKey of the message: the greatest one is the conversation's last message. */
  sortKey: string;
  preview: string | null;
  type: string;
  /** A candidate's own message (not a system notice): it opens or renews the 24-hour window. */
  opensWindow: boolean;
  profileName?: string;
}

export interface ConversationInbound {
  clientId: Types.ObjectId;
  conversationId: Types.ObjectId;
  messages: CountedInbound[];
}

const refKey = (clientId: Types.ObjectId, candidateKey: string) => `${clientId.toHexString()}|${candidateKey}`;

/**
 * Conversations of many tenants, written a batch of inbound messages at a time. Ids are resolved
 * from an in-process cache (a conversation's id never changes), else with one find and, for
 * candidates never seen, one bulk upsert. Each batch then writes every touched conversation in one
 * bulkWrite: counters with $inc by the messages this batch counted (the unique message insert
 * decided which), dates with $max, and the summary and name with guarded $set, so that batches
 * applied in any order converge to one state. Every filter carries the tenant's clientId.
 */
export interface ConversationBatchOptions {
  /** Conversation ids kept in memory (oldest dropped first). Default 100,000. */
  cacheSize?: number;
  /** How update commands are cut (see ferretdb-adapter). Default: MongoDB's, one bulkWrite. */
  updateLimits?: UpdateLimits;
}

export class ConversationBatch {
  private readonly ids = new Map<string, Types.ObjectId>();
  private readonly cacheSize: number;
  private readonly limits: UpdateLimits;

  constructor(
    private readonly model: Model<ConversationDoc>,
    opts: ConversationBatchOptions = {},
  ) {
    this.cacheSize = opts.cacheSize ?? 100_000;
    this.limits = opts.updateLimits ?? MONGODB_UPDATE_LIMITS;
  }

  /** The id of each candidate's conversation (created on first sight), keyed by `clientId|candidateKey`. */
  async resolve(refs: ConversationRef[], now = new Date()): Promise<Map<string, Types.ObjectId>> {
    const out = new Map<string, Types.ObjectId>();
    const missing = new Map<string, ConversationRef>();
    for (const r of refs) {
      const k = refKey(r.clientId, r.candidateKey);
      const cached = this.ids.get(k);
      if (cached) out.set(k, cached);
      else if (!missing.has(k)) missing.set(k, r);
    }
    if (!missing.size) return out;

    await this.findInto([...missing.values()], out);
    const absent = [...missing.values()].filter((r) => !out.has(refKey(r.clientId, r.candidateKey)));
    if (absent.length) {
      const ops = absent.map((r) => ({
        updateOne: {
          filter: { clientId: r.clientId, candidateKey: r.candidateKey },
          update: { $setOnInsert: newConversation(r, now) },
          upsert: true,
        },
      }));
      const upserted = new Map<number, Types.ObjectId>();
      let offset = 0;
      for (const part of chunks(ops, this.limits.perCommand)) {
        let ids: Record<number, unknown> = {};
        try {
          ids = (await this.model.collection.bulkWrite(part, { ordered: false })).upsertedIds;
        } catch (err) {
          // Another worker created some of them meanwhile (duplicate key): read those below.
          const e = err as { writeErrors?: unknown; result?: { upsertedIds?: Record<number, unknown> } };
          const writeErrors = (Array.isArray(e.writeErrors) ? e.writeErrors : e.writeErrors ? [e.writeErrors] : []) as Array<{ code?: number }>;
          if (!writeErrors.length || writeErrors.some((w) => w.code !== 11000)) throw err;
          ids = e.result?.upsertedIds ?? {};
        }
        for (const [i, id] of Object.entries(ids)) upserted.set(offset + Number(i), id as Types.ObjectId);
        offset += part.length;
      }
      for (const [i, id] of upserted) {
        const r = absent[i]!;
        out.set(refKey(r.clientId, r.candidateKey), id);
      }
      const raced = absent.filter((r) => !out.has(refKey(r.clientId, r.candidateKey)));
      if (raced.length) await this.findInto(raced, out);
    }
    for (const r of missing.values()) {
      const k = refKey(r.clientId, r.candidateKey);
      const id = out.get(k);
      if (!id) throw new Error(`conversation of ${r.candidateKey} could not be resolved`);
      this.remember(k, id);
    }
    return out;
  }

  /** Applies a batch's newly counted inbound messages to their conversations. One bulkWrite. */
  async recordInbound(batch: ConversationInbound[], now = new Date()): Promise<void> {
    const groups: AnyBulkWriteOperation<ConversationDoc>[][] = [];
    for (const c of batch) {
      if (!c.messages.length) continue;
      const ops: AnyBulkWriteOperation<ConversationDoc>[] = [];
      groups.push(ops);
      const own = { _id: c.conversationId, clientId: c.clientId };
      const latest = c.messages.reduce((a, b) => (b.sortKey > a.sortKey ? b : a));
      const lastAt = c.messages.reduce((a, b) => (b.timestamp > a ? b.timestamp : a), new Date(0));
      const candidate = c.messages.filter((m) => m.opensWindow);
      const max: Record<string, Date> = { lastMessageAt: lastAt };
      const set: Record<string, unknown> = { updatedAt: now };
      if (candidate.length) {
        const lastInboundAt = candidate.reduce((a, b) => (b.timestamp > a ? b.timestamp : a), new Date(0));
        max.lastInboundAt = lastInboundAt;
        max.windowExpiresAt = new Date(lastInboundAt.getTime() + WINDOW_MS);
        if (max.windowExpiresAt.getTime() > now.getTime()) set.inWindow = true;
      }
      ops.push({ updateOne: { filter: own, update: { $inc: { messageCount: c.messages.length }, $max: max, $set: set } } });
      // Unread: only what was stored after the conversation was last read (readUpTo).
      const byReceivedAt = new Map<number, number>();
      for (const m of c.messages) byReceivedAt.set(m.receivedAt.getTime(), (byReceivedAt.get(m.receivedAt.getTime()) ?? 0) + 1);
      for (const [at, n] of byReceivedAt) {
        ops.push({ updateOne: { filter: { ...own, readUpTo: { $lt: new Date(at) } }, update: { $inc: { unreadCount: n } } } });
      }
      ops.push({
        updateOne: {
          filter: { ...own, $or: [{ lastMessageSortKey: null }, { lastMessageSortKey: { $lt: latest.sortKey } }] },
          update: {
            $set: {
              lastMessageSortKey: latest.sortKey,
              lastMessageFrom: "candidate",
              lastMessagePreview: latest.preview?.slice(0, 280) ?? null,
              lastMessageType: latest.type,
            },
          },
        },
      });
      const named = c.messages.filter((m) => m.profileName).reduce<CountedInbound | null>((a, b) => (!a || b.timestamp >= a.timestamp ? b : a), null);
      if (named) {
        ops.push({
          updateOne: {
            filter: { ...own, $or: [{ candidateNameAt: null }, { candidateNameAt: { $lte: named.timestamp } }] },
            update: { $set: { candidateName: named.profileName, candidateNameAt: named.timestamp } },
          },
        });
      }
    }
    // The writes to one conversation apply one after the other, in this order.
    await bulkWriteGroups(this.model.collection, groups, this.limits);
  }

  /** The conversations as they are now (for conversation:updated). One find. */
  async read(refs: Array<{ clientId: Types.ObjectId; conversationId: Types.ObjectId }>): Promise<ConversationView[]> {
    if (!refs.length) return [];
    const clients = [...new Map(refs.map((r) => [r.clientId.toHexString(), r.clientId])).values()];
    const docs = (await this.model.collection
      .find({ _id: { $in: refs.map((r) => r.conversationId) }, clientId: { $in: clients } }, { projection: { __v: 0 }, batchSize: refs.length + 1 })
      .toArray()) as unknown as ConversationDoc[];
    const now = Date.now();
    return docs.map((d) => conversationView(d, now));
  }

  /** Forgets a cached id (e.g. after its conversation was deleted). */
  forget(clientId: Types.ObjectId, candidateKey: string): void {
    this.ids.delete(refKey(clientId, candidateKey));
  }

  private async findInto(refs: ConversationRef[], out: Map<string, Types.ObjectId>): Promise<void> {
    const byClient = new Map<string, { clientId: Types.ObjectId; keys: string[] }>();
    for (const r of refs) {
      const entry = byClient.get(r.clientId.toHexString()) ?? { clientId: r.clientId, keys: [] };
      entry.keys.push(r.candidateKey);
      byClient.set(r.clientId.toHexString(), entry);
    }
    const found = await this.model.collection
      .find(
        { $or: [...byClient.values()].map((c) => ({ clientId: c.clientId, candidateKey: { $in: c.keys } })) },
        { projection: { _id: 1, clientId: 1, candidateKey: 1 }, batchSize: refs.length + 1 },
      )
      .toArray();
    for (const d of found) out.set(refKey(d.clientId as Types.ObjectId, d.candidateKey as string), d._id as Types.ObjectId);
  }

  private remember(key: string, id: Types.ObjectId): void {
    this.ids.delete(key);
    this.ids.set(key, id);
    if (this.ids.size > this.cacheSize) this.ids.delete(this.ids.keys().next().value!);
  }
}

/** Every field of a new conversation, as the schema's defaults would fill them. */
function newConversation(r: ConversationRef, now: Date) {
  return {
    clientId: r.clientId,
    candidateKey: r.candidateKey,
    candidatePhone: r.candidatePhone ?? null,
    candidateUserId: r.candidateUserId ?? null,
    candidateName: null,
    candidateNameAt: null,
    applicationId: null,
    jobTitle: null,
    status: "active",
    messageCount: 0,
    unreadCount: 0,
    readUpTo: new Date(0),
    lastMessageAt: null,
    lastMessageFrom: null,
    lastMessagePreview: null,
    lastMessageType: null,
    lastMessageSortKey: null,
    lastInboundAt: null,
    windowExpiresAt: null,
    inWindow: false,
    createdAt: now,
    updatedAt: now,
    __v: 0,
  };
}
