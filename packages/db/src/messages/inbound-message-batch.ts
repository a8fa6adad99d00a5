import { Types, type Model } from "mongoose";
import type { NormalizedMessage } from "@linkojob/whatsapp";
import { updateEach, type BulkWriter } from "../ferretdb-adapter.js";
import { distinctIds, oneOrIn } from "../ids.js";
import { type CountClaim, type MessageDoc } from "./message.model.js";
import { inboundMessageDoc } from "./message-docs.js";

/** One inbound message to store, for the tenant `clientId`, in the conversation already resolved. */
export interface InboundInsert {
  clientId: Types.ObjectId;
  conversationId: Types.ObjectId;
  message: NormalizedMessage;
}

/**
 * What became of one message of the batch:
 * - `inserted`: this call stored it; the caller owes its conversation the count;
 * - `taken_over`: stored earlier by a writer that died (or failed) before counting it; the caller
 *   now owes the count;
 * - `counted`: stored and counted before (a plain redelivery): nothing to do;
 * - `claimed_elsewhere`: stored by another live writer that has not counted it yet: try later;
 * - `refused`: the server refused this document (a write error other than a duplicate key and not a
 *   server-state error): retrying cannot store it; the others of the batch are unaffected.
 */
export type InboundInsertState = "inserted" | "taken_over" | "counted" | "claimed_elsewhere" | "refused";

export interface InboundInsertResult {
  state: InboundInsertState;
  message: MessageDoc;
  /** For `refused`: the server's code and message. */
  refusal?: { code: number | null; message: string };
}

/**
 * Server error codes that say nothing about the document: the server's state (stepping down, shutting
 * down, interrupted, out of time, write conflict, FerretDB's InternalError when PostgreSQL is
 * unreachable). A write failing with one of these is retried; any other write error refuses the document.
 */
export const TRANSIENT_SERVER_CODES: ReadonlySet<number> = new Set([
  1, 6, 7, 46, 50, 64, 89, 91, 112, 189, 262, 9001, 10107, 11600, 11601, 11602, 13435, 13436,
]);

export interface InboundMessageBatchOptions {
  /** This writer's token (one per worker process), recorded in the claims it takes. */
  writer: string;
  /**
   * A claim older than this is a dead writer's: a redelivery takes it over. It must exceed the time
   * one batch takes from its insert to its release. Default 60 s.
   */
  claimLeaseMs?: number;
}

interface BulkWriteErrorLike {
  writeErrors?: WriteErrorLike | WriteErrorLike[];
  writeConcernError?: unknown;
}

interface WriteErrorLike {
  index: number;
  code?: number;
  errmsg?: string;
}

/**
 * Inbound messages of many tenants, written a batch at a time: one unordered insertMany for the
 * whole batch, whose unique (clientId, dedupeKey) index decides which call stored each message.
 *
 * Counters stay exact across crashes through a claim on each new message (`countClaim`: who
 * inserted it, when), released only after the conversation's counters include it. A redelivery that
 * finds a message without a claim does nothing; one that finds a claim of its own writer (a batch
 * of this process that failed: batches of one writer never overlap) or a claim older than the lease
 * (a dead process) takes it over and counts it; one that finds a live claim of another writer says
 * so, and its job retries later. A writer dying after the counter write and before the release
 * counts those messages twice: the one window left, one request wide.
 */
export class InboundMessageBatch {
  private readonly leaseMs: number;

  constructor(
    private readonly model: Model<MessageDoc>,
    private readonly opts: InboundMessageBatchOptions,
    /** The connection's batched-update writer (Database.batchWriter): its findEach reads the duplicates. */
    private readonly bulk: BulkWriter,
  ) {
    this.leaseMs = opts.claimLeaseMs ?? 60_000;
  }

  get writer(): string {
    return this.opts.writer;
  }

  /** How old another writer's claim must be before a redelivery takes it over. */
  get claimLeaseMs(): number {
    return this.leaseMs;
  }

  /**
   * Stores the batch (items must be distinct by tenant and wamid). Returns one result per item, in
   * order. Two requests when nothing was there (insertMany, then nothing), one more find when some
   * were (on FerretDB one per message found there: BulkWriter.lookups), and one update per message
   * taken over.
   */
  async insert(items: InboundInsert[], now = new Date()): Promise<InboundInsertResult[]> {
    if (!items.length) return [];
    const claim: CountClaim = { by: this.opts.writer, at: now };
    const docs = items.map((item) => inboundDoc(item, now, claim));
    const duplicates = new Set<number>();
    const refused = new Map<number, { code: number | null; message: string }>();
    try {
      // The driver's insertMany skips Mongoose casting of the Mixed content (already validated).
      await this.model.collection.insertMany(docs, { ordered: false });
    } catch (err) {
      const e = err as BulkWriteErrorLike;
      if (!e.writeErrors || e.writeConcernError) throw err;
      const writeErrors = Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors];
      // No error of its own for any document: the command itself failed (the driver reports a
      // connection closed mid-insert as a bulk write error with no write errors), and which documents
      // were stored is unknown. Taking them all for inserted counted messages that were not there.
      if (!writeErrors.length) throw err;
      // A server-state error retries the whole batch (every write is idempotent).
      if (writeErrors.some((w) => w.code === undefined || TRANSIENT_SERVER_CODES.has(w.code))) throw err;
      for (const w of writeErrors) {
        if (w.code === 11000) duplicates.add(w.index);
        else refused.set(w.index, { code: w.code ?? null, message: String(w.errmsg ?? "refused by the server") });
      }
    }
    const results: InboundInsertResult[] = docs.map((d, i) => {
      const refusal = refused.get(i);
      return refusal
        ? { state: "refused", message: d as unknown as MessageDoc, refusal }
        : { state: "inserted", message: d as unknown as MessageDoc };
    });
    if (!duplicates.size) return results;

    const stored = await this.findStored([...duplicates].map((i) => docs[i]!));
    for (const i of duplicates) {
      const doc = docs[i]!;
      const existing = stored.get(`${doc.clientId.toHexString()}|${doc.dedupeKey}`);
      if (!existing) throw new Error(`message ${doc.dedupeKey} is a duplicate but could not be read`);
      results[i] = { state: await this.settleDuplicate(existing, now), message: existing };
    }
    return results;
  }

  /**
   * Releases the claims of messages whose conversations now count them. One request; its filter names
   * the tenant when the messages are one tenant's, and is an equality on `_id` for one message
   * (updateEach: one equality per message on FerretDB, whose `$in` reads the whole collection).
   */
  async release(messages: Array<{ _id: Types.ObjectId; clientId: Types.ObjectId }>): Promise<void> {
    if (!messages.length) return;
    const clients = distinctIds(messages.map((m) => m.clientId));
    await updateEach(
      this.model.collection,
      {
        _id: oneOrIn(messages.map((m) => m._id)),
        ...(clients.length === 1 ? { clientId: clients[0]! } : {}),
      },
      messages.map((m) => ({ _id: m._id, clientId: m.clientId })),
      { $unset: { countClaim: "" } },
    );
  }

  private async findStored(
    docs: Array<{ clientId: Types.ObjectId; dedupeKey: string }>,
  ): Promise<Map<string, MessageDoc>> {
    const byClient = new Map<string, { clientId: Types.ObjectId; keys: string[] }>();
    for (const d of docs) {
      const k = d.clientId.toHexString();
      const entry = byClient.get(k) ?? { clientId: d.clientId, keys: [] };
      entry.keys.push(d.dedupeKey);
      byClient.set(k, entry);
    }
    // One tenant (a batch of one number's webhooks): its id and keys at the top, no `$or`. On
    // FerretDB one find per message (BulkWriter.findEach: its `$in` reads the tenant's messages).
    const tenants = [...byClient.values()].map((c) => ({ clientId: c.clientId, dedupeKey: oneOrIn(c.keys) }));
    const filter = tenants.length === 1 ? tenants[0]! : { $or: tenants };
    const found = await this.bulk.findEach<MessageDoc>(
      this.model.collection,
      filter,
      docs.map((d) => ({ clientId: d.clientId, dedupeKey: d.dedupeKey })),
    );
    return new Map(found.map((m) => [`${m.clientId.toHexString()}|${m.dedupeKey}`, m]));
  }

  private async settleDuplicate(existing: MessageDoc, now: Date): Promise<InboundInsertState> {
    const held = existing.countClaim;
    if (!held) return "counted";
    const mine = held.by === this.opts.writer;
    const expired = now.getTime() - new Date(held.at).getTime() > this.leaseMs;
    if (!mine && !expired) return "claimed_elsewhere";
    // Compare-and-set: of several redeliveries taking over, one wins.
    const res = await this.model.collection.updateOne(
      { _id: existing._id, clientId: existing.clientId, "countClaim.by": held.by, "countClaim.at": held.at },
      { $set: { countClaim: { by: this.opts.writer, at: now } } },
    );
    return res.modifiedCount === 1 ? "taken_over" : "claimed_elsewhere";
  }
}

function inboundDoc(item: InboundInsert, now: Date, claim: CountClaim) {
  return { ...inboundMessageDoc(item.clientId, item.conversationId, item.message, now), countClaim: claim };
}
