import { Types, type AnyBulkWriteOperation, type Model } from "mongoose";
import type { BulkWriter } from "../ferretdb-adapter.js";
import { newConversationDoc, type ConversationDoc } from "./conversation.model.js";
import {
  IDENTITY_PROJECTION,
  bestMatch,
  fillMissingIds,
  fillOps,
  identityClauses,
  identityEqualities,
  matchScore,
  newConversationIds,
  newConversationKey,
  successorKey,
  type CandidateIds,
  type StoredIdentity,
} from "./candidate-identity.js";
import { conversationView, type ConversationView } from "./conversation-view.js";
import type { MergeSeed } from "./conversation-merge.js";
import { windowEndAfter } from "./window.js";
import { distinctIds, oneOrIn } from "../ids.js";
import { newerThanSummary, summaryFields } from "./conversation-summary.js";

/** A candidate of a tenant, as a batch of inbound messages names them. */
export interface ConversationRef {
  clientId: Types.ObjectId;
  candidateKey: string;
  candidatePhone?: string | null;
  candidateUserId?: string | null;
  /**
   * An identity change's new ids (a `user_changed_number` notice names the old number and the new
   * one): when no conversation holds the old ids any more, the one an identity change moved to
   * these is the person's (a redelivered notice must not open a conversation for a number given up).
   */
  movedTo?: { phone?: string | null; userId?: string | null };
}

/** One inbound message newly counted in a conversation (stored by this batch, or taken over). */
export interface CountedInbound {
  /** The stored message's id: the counter writes name the messages they count (see recordInbound). */
  messageId: Types.ObjectId;
  /**
   * Taken over from a writer that failed or died after storing it: its count may have reached the
   * conversation already (an answer lost after the write), so it is checked before counting.
   */
  takenOver?: boolean;
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
  /** The candidate's WhatsApp username (`contacts[].profile.username`). */
  username?: string;
  /** The candidate's parent user id: one id across the numbers of the business portfolio. */
  parentUserId?: string;
  /** A `system` message that moves the candidate to a new phone number or user id (or both). */
  identityChange?: IdentityMove | readonly IdentityMove[];
}

/** An identity change to apply: `field` takes `value`, unless a later change already moved it. */
export interface IdentityMove {
  field: "candidatePhone" | "candidateUserId";
  value: string;
  /** The id it replaces, when known (its cache entry is dropped). */
  previous?: string;
}

/** Fields of the conversation a batch changed besides its counters and summary, by conversation id (hex). */
export type ConversationChanges = Map<string, Set<"candidatePhone" | "candidateUserId" | "candidateUsername">>;

export interface ConversationInbound {
  clientId: Types.ObjectId;
  conversationId: Types.ObjectId;
  messages: CountedInbound[];
}

/**
 * How many ids of counted messages a conversation keeps in each of `countedIds` and `unreadIds`
 * (at least the last write's): enough for a retry within the claim lease to find what it counted.
 */
export const COUNTED_IDS_KEPT = 128;

const refKey = (clientId: Types.ObjectId, candidateKey: string) => `${clientId.toHexString()}|${candidateKey}`;

/**
 * Conversations of many tenants, written a batch of inbound messages at a time. Ids are resolved
 * by phone or user id from an in-process cache (a conversation's id never changes), else with one
 * find and, for candidates never seen, one bulk upsert (see candidate-identity.ts). Each batch then writes every touched conversation in one
 * bulkWrite: counters with $inc by the messages this batch counted (the unique message insert
 * decided which), dates with $max, and the summary and name with guarded $set, so that batches
 * applied in any order converge to one state. Every filter carries the tenant's clientId.
 */
export interface ConversationBatchOptions {
  /** Conversation ids kept in memory (oldest dropped first). Default 100,000. */
  cacheSize?: number;
}

/** A conversation as this process last knew its ids. */
interface Known {
  id: Types.ObjectId;
  phone: string | null;
  userId: string | null;
}

/** The refs of one batch that are one person: linked by a shared phone or user id. */
interface Person {
  clientId: Types.ObjectId;
  ids: CandidateIds;
  /** The ids an identity change of the batch moves this person to (see ConversationRef.movedTo). */
  movedTo: CandidateIds;
  refKeys: string[];
}

export class ConversationBatch {
  /** `clientId|p:<phone>` and `clientId|u:<user id>` → the conversation holding that id. */
  private readonly ids = new Map<string, Known>();
  /** Ids to record in conversations that lack them (written by the next recordInbound). */
  private readonly fills = new Map<
    string,
    {
      own: { _id: Types.ObjectId; clientId: Types.ObjectId };
      fill: { candidatePhone?: string; candidateUserId?: string };
    }
  >();
  private readonly cacheSize: number;
  /**
   * Conversations that may have a twin (see ConversationMerger): created by resolve, or found beside
   * another conversation of the same person. Taken by the caller after its batch (takeMergeSeeds).
   */
  private seeds: MergeSeed[] = [];

  constructor(
    private readonly model: Model<ConversationDoc>,
    /** The connection's batched-update writer (see ferretdb-adapter). */
    private readonly writer: BulkWriter,
    opts: ConversationBatchOptions = {},
  ) {
    this.cacheSize = opts.cacheSize ?? 100_000;
  }

  /**
   * The id of each candidate's conversation (created on first sight), keyed by `clientId|candidateKey`.
   * Refs of one batch that share a phone or a user id are one person and get one conversation. A
   * conversation is found by either id (the cache, else one find for the whole batch); an id it
   * lacks is recorded by the next recordInbound (guarded: only while null). A new conversation is
   * keyed by the phone when known, else the user id (one bulk upsert for the batch).
   */
  async resolve(refs: ConversationRef[], now = new Date()): Promise<Map<string, Types.ObjectId>> {
    const out = new Map<string, Types.ObjectId>();
    const missing: Person[] = [];
    for (const p of groupPersons(refs)) {
      const known = this.cached(p);
      if (known) this.assign(p, known, out);
      else missing.push(p);
    }
    if (!missing.length) return out;

    const found = await this.findByIds(missing);
    const absent: Person[] = [];
    for (const p of missing) {
      const docs = found.get(p.clientId.toHexString()) ?? [];
      const doc =
        bestMatch(docs, p.ids) ??
        bestMatch(
          docs.filter((d) => movedHere(d, p)),
          p.movedTo,
        );
      if (doc) {
        this.assign(p, knownOf(doc), out);
        // Two conversations of this person (one opened by a message from a new number before the
        // number change was written): the caller merges them.
        if (docs.filter((d) => matchScore(d, p.ids) > 0).length > 1)
          this.seeds.push({ clientId: p.clientId, conversationId: doc._id, ids: p.ids });
      } else absent.push(p);
    }
    if (absent.length) {
      const taken = await this.create(
        absent.map((p) => ({ p, key: newConversationKey(p.ids) })),
        out,
        now,
      );
      // A key held by another person's conversation (a number given up, now someone else's; or a
      // conversation that moved to other ids): the newcomer's conversation takes a successor key
      // derived from its own ids and the holder, so that two processes doing the same still meet on
      // one key. A few rounds cover a number that changed hands more than once. A key with no
      // conversation at all was not written (a server that stops a command at its first error,
      // as FerretDB v1 does even unordered): it is upserted again under the same key. Each round
      // settles at least the statement that failed, so the rounds are bounded by the batch.
      let pending = taken;
      for (let round = 0; pending.length && round < absent.length + 4; round++) {
        pending = await this.create(
          pending.map(({ p, key, holder }) => ({ p, key: holder ? successorKey(p.ids, key, holder) : key })),
          out,
          now,
        );
      }
      if (pending.length) throw new Error(`conversation of ${pending[0]!.key} could not be resolved`);
    }
    return out;
  }

  /**
   * Creates the conversations of new persons under their keys (one bulk upsert); a key that exists
   * already (created meanwhile by another process) is read (one find) and taken when its conversation
   * is this person's. Returns the persons whose key is held by someone else's conversation (with that
   * holder), and those whose statement the server did not run (no holder).
   */
  private async create(
    items: Array<{ p: Person; key: string }>,
    out: Map<string, Types.ObjectId>,
    now: Date,
  ): Promise<Array<{ p: Person; key: string; holder: Types.ObjectId | null }>> {
    // Each new conversation's id is chosen here: what the write created is then known by id, not by
    // the position of `upserted[].index` (which FerretDB v1 counts among upserts only, not among the
    // statements: trusting it gave one tenant's message another tenant's conversation).
    const ids = items.map(() => new Types.ObjectId());
    const ops = items.map(({ p, key }, i) => ({
      updateOne: {
        filter: { clientId: p.clientId, candidateKey: key },
        update: {
          $setOnInsert: newConversationDoc(
            this.model,
            { _id: ids[i]!, clientId: p.clientId, candidateKey: key, ...newConversationIds(p.ids) },
            now,
          ),
        },
        upsert: true,
      },
    }));
    const created = new Set<string>();
    for (const part of this.writer.chunks(ops)) {
      let upsertedIds: Record<number, unknown> = {};
      try {
        upsertedIds = (await this.model.collection.bulkWrite(part, { ordered: false })).upsertedIds;
      } catch (err) {
        // Another worker created some of them meanwhile (duplicate key): read those below.
        const e = err as { writeErrors?: unknown; result?: { upsertedIds?: Record<number, unknown> } };
        const writeErrors = (
          Array.isArray(e.writeErrors) ? e.writeErrors : e.writeErrors ? [e.writeErrors] : []
        ) as Array<{ code?: number }>;
        if (!writeErrors.length || writeErrors.some((w) => w.code !== 11000)) throw err;
        upsertedIds = e.result?.upsertedIds ?? {};
      }
      for (const id of Object.values(upsertedIds)) created.add(String(id));
    }
    const raced: Array<{ p: Person; key: string }> = [];
    items.forEach((item, i) => {
      const id = ids[i]!;
      if (created.has(id.toHexString())) {
        const held = newConversationIds(item.p.ids);
        this.assign(item.p, { id, phone: held.candidatePhone, userId: held.candidateUserId }, out);
        this.seeds.push({ clientId: item.p.clientId, conversationId: id, ids: item.p.ids });
      } else raced.push(item);
    });
    if (!raced.length) return [];
    const taken: Array<{ p: Person; key: string; holder: Types.ObjectId | null }> = [];
    const byKey = await this.findByKeys(raced.map(({ p, key }) => ({ clientId: p.clientId, key })));
    for (const { p, key } of raced) {
      const doc = byKey.get(`${p.clientId.toHexString()}|${key}`);
      // Not created by us nor by anyone: the server never ran this statement. Upserted again.
      if (!doc) {
        taken.push({ p, key, holder: null });
        continue;
      }
      if (matchScore(doc, p.ids) > 0) this.assign(p, knownOf(doc), out);
      else taken.push({ p, key, holder: doc._id });
    }
    return taken;
  }

  /**
   * Applies a batch's newly counted inbound messages to their conversations, with the ids resolve
   * found missing, identity changes and usernames. One bulkWrite. Returns the identity fields it
   * wrote (or offered: a later change may have won), by conversation id. With `fills: "batch"` only
   * the missing ids of the batch's own conversations are written (a caller writing its conversations
   * in parts, each under its locks); the others wait for a later call.
   */
  async recordInbound(
    batch: ConversationInbound[],
    now = new Date(),
    opts: { fills?: "all" | "batch" } = {},
  ): Promise<ConversationChanges> {
    const counted = await this.countedAlready(batch);
    const inBatch = new Set(batch.map((c) => c.conversationId.toHexString()));
    const groups: AnyBulkWriteOperation<ConversationDoc>[][] = [];
    const changes: ConversationChanges = new Map();
    const changed = (id: Types.ObjectId, field: "candidatePhone" | "candidateUserId" | "candidateUsername") => {
      const set = changes.get(id.toHexString()) ?? new Set();
      set.add(field);
      changes.set(id.toHexString(), set);
    };
    // Ids to record go first in their conversation's group: one document's writes stay in one group
    // (the FerretDB adapter runs groups in parallel, and FerretDB v1 loses concurrent updates).
    const fills = [...this.fills.entries()].filter(([hex]) => opts.fills !== "batch" || inBatch.has(hex));
    const fillsOf = new Map<string, AnyBulkWriteOperation<ConversationDoc>[]>();
    for (const [hex, { own, fill }] of fills) {
      fillsOf.set(hex, fillOps(own, fill));
      for (const field of Object.keys(fill) as Array<"candidatePhone" | "candidateUserId">) changed(own._id, field);
    }
    const moves: Array<{ clientId: Types.ObjectId; id: Types.ObjectId; move: IdentityMove }> = [];
    for (const c of batch) {
      if (!c.messages.length) continue;
      const ops: AnyBulkWriteOperation<ConversationDoc>[] = fillsOf.get(c.conversationId.toHexString()) ?? [];
      fillsOf.delete(c.conversationId.toHexString());
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
        max.windowExpiresAt = windowEndAfter(lastInboundAt);
        if (max.windowExpiresAt.getTime() > now.getTime()) set.inWindow = true;
      }
      // The counters say which messages they count: a write whose answer was lost (the connection
      // closed after the server applied it) is not applied again when its batch is retried.
      const known = counted.get(c.conversationId.toHexString());
      const toCount = c.messages.filter((m) => !known?.counted.has(m.messageId.toHexString()));
      ops.push({
        updateOne: {
          filter: toCount.length ? { ...own, countedIds: { $nin: toCount.map((m) => m.messageId) } } : own,
          update: {
            ...(toCount.length
              ? {
                  $inc: { messageCount: toCount.length },
                  $push: { countedIds: keptIds(toCount.map((m) => m.messageId)) },
                }
              : {}),
            $max: max,
            $set: set,
          },
        },
      });
      // Unread: only what was stored after the conversation was last read (readUpTo).
      const byReceivedAt = new Map<number, Types.ObjectId[]>();
      for (const m of c.messages) {
        if (known?.unread.has(m.messageId.toHexString())) continue;
        const at = m.receivedAt.getTime();
        byReceivedAt.set(at, [...(byReceivedAt.get(at) ?? []), m.messageId]);
      }
      for (const [at, ids] of byReceivedAt) {
        ops.push({
          updateOne: {
            filter: { ...own, readUpTo: { $lt: new Date(at) }, unreadIds: { $nin: ids } },
            update: { $inc: { unreadCount: ids.length }, $push: { unreadIds: keptIds(ids) } },
          },
        });
      }
      ops.push({
        updateOne: {
          filter: { ...own, ...newerThanSummary(latest.sortKey) },
          update: {
            $set: summaryFields({
              sortKey: latest.sortKey,
              from: "candidate",
              preview: latest.preview,
              type: latest.type,
            }),
          },
        },
      });
      const named = c.messages
        .filter((m) => m.profileName)
        .reduce<CountedInbound | null>((a, b) => (!a || b.timestamp >= a.timestamp ? b : a), null);
      if (named) {
        ops.push({
          updateOne: {
            filter: { ...own, $or: [{ candidateNameAt: null }, { candidateNameAt: { $lte: named.timestamp } }] },
            update: { $set: { candidateName: named.profileName, candidateNameAt: named.timestamp } },
          },
        });
      }
      const withUsername = c.messages
        .filter((m) => m.username)
        .reduce<CountedInbound | null>((a, b) => (!a || b.timestamp >= a.timestamp ? b : a), null);
      if (withUsername) {
        ops.push({
          updateOne: {
            filter: {
              ...own,
              $or: [{ candidateUsernameAt: null }, { candidateUsernameAt: { $lte: withUsername.timestamp } }],
            },
            update: { $set: { candidateUsername: withUsername.username, candidateUsernameAt: withUsername.timestamp } },
          },
        });
        changed(c.conversationId, "candidateUsername");
      }
      const withParent = c.messages
        .filter((m) => m.parentUserId)
        .reduce<CountedInbound | null>((a, b) => (!a || b.timestamp >= a.timestamp ? b : a), null);
      if (withParent) {
        ops.push({
          updateOne: {
            filter: {
              ...own,
              $or: [{ candidateParentUserIdAt: null }, { candidateParentUserIdAt: { $lte: withParent.timestamp } }],
            },
            update: {
              $set: { candidateParentUserId: withParent.parentUserId, candidateParentUserIdAt: withParent.timestamp },
            },
          },
        });
      }
      // Identity changes: the latest change of each field wins, whatever order they arrive in.
      const identityMoves = c.messages.flatMap((m) => [m.identityChange ?? []].flat().map((move) => ({ m, move })));
      for (const { m, move } of identityMoves) {
        const at = `${move.field}At`;
        ops.push({
          updateOne: {
            filter: { ...own, $or: [{ [at]: null }, { [at]: { $lte: m.timestamp } }] },
            update: { $set: { [move.field]: move.value, [at]: m.timestamp } },
          },
        });
        moves.push({ clientId: c.clientId, id: c.conversationId, move });
        changed(c.conversationId, move.field);
      }
    }
    for (const ops of fillsOf.values()) groups.push(ops);
    // The writes to one conversation apply one after the other, in this order.
    await this.writer.writeGroups(this.model.collection, groups);
    for (const [k] of fills) this.fills.delete(k);
    // The cache no longer knows which ids a moved conversation holds: the next message finds it.
    for (const { clientId, move } of moves) {
      const kind = move.field === "candidatePhone" ? "p" : "u";
      this.ids.delete(idKey(clientId, kind, move.value));
      if (move.previous) this.ids.delete(idKey(clientId, kind, move.previous));
    }
    return changes;
  }

  /**
   * For conversations receiving messages taken over from a failed or dead writer, the ids of those
   * already counted (by the write whose answer was lost): one find, only when there are such messages.
   */
  private async countedAlready(
    batch: ConversationInbound[],
  ): Promise<Map<string, { counted: Set<string>; unread: Set<string> }>> {
    const out = new Map<string, { counted: Set<string>; unread: Set<string> }>();
    const retried = batch.filter((c) => c.messages.some((m) => m.takenOver));
    if (!retried.length) return out;
    const docs = await this.writer.findEach<Pick<ConversationDoc, "_id" | "countedIds" | "unreadIds">>(
      this.model.collection,
      byIds(retried.map((c) => ({ _id: c.conversationId, clientId: c.clientId }))),
      retried.map((c) => ({ _id: c.conversationId, clientId: c.clientId })),
      { projection: { countedIds: 1, unreadIds: 1 } },
    );
    for (const d of docs) {
      out.set(d._id.toHexString(), {
        counted: new Set((d.countedIds ?? []).map((id) => id.toHexString())),
        unread: new Set((d.unreadIds ?? []).map((id) => id.toHexString())),
      });
    }
    return out;
  }

  /**
   * The conversations as they are now (for conversation:updated). One find (on FerretDB one per
   * conversation, BulkWriter.findEach: its `_id: {$in}` reads every conversation). Lists of counted ids
   * grown past twice COUNTED_IDS_KEPT are cut back here (one more write, rarely): FerretDB v1
   * ignores `$slice` in `$push`, which bounds them on MongoDB. Call it while holding the
   * conversations' locks, as recordInbound: the cut rewrites the lists.
   */
  async read(refs: Array<{ clientId: Types.ObjectId; conversationId: Types.ObjectId }>): Promise<ConversationView[]> {
    if (!refs.length) return [];
    const own = refs.map((r) => ({ _id: r.conversationId, clientId: r.clientId }));
    const docs = await this.writer.findEach<ConversationDoc>(this.model.collection, byIds(own), own, {
      projection: { __v: 0 },
    });
    const tooLong = (ids: Types.ObjectId[] | undefined) => (ids?.length ?? 0) > 2 * COUNTED_IDS_KEPT;
    const cuts = docs
      .filter((d) => tooLong(d.countedIds) || tooLong(d.unreadIds))
      .map((d) => [
        {
          updateOne: {
            filter: { _id: d._id, clientId: d.clientId },
            update: {
              $set: {
                countedIds: (d.countedIds ?? []).slice(-COUNTED_IDS_KEPT),
                unreadIds: (d.unreadIds ?? []).slice(-COUNTED_IDS_KEPT),
              },
            },
          },
        },
      ]);
    if (cuts.length) await this.writer.writeGroups(this.model.collection, cuts);
    const now = Date.now();
    return docs.map((d) => {
      delete d.countedIds;
      delete d.unreadIds;
      return conversationView(d, now);
    });
  }

  /**
   * The conversations resolve created or found doubled since the last call: each may have a twin
   * of the same person (a message from a new number stored before the number change), which the
   * caller looks for once its batch is written (ConversationMerger.plan).
   */
  takeMergeSeeds(): MergeSeed[] {
    const seeds = this.seeds;
    this.seeds = [];
    return seeds;
  }

  /**
   * Each person's conversation as the database holds it now, without the cache and without creating
   * one (absent when they have none). One find. For a batch whose conversation vanished while it
   * wrote (merged into another, or erased).
   */
  async locate(refs: ConversationRef[]): Promise<Map<string, Types.ObjectId>> {
    const out = new Map<string, Types.ObjectId>();
    const persons = groupPersons(refs);
    if (!persons.length) return out;
    const found = await this.findByIds(persons);
    for (const p of persons) {
      const doc = bestMatch(found.get(p.clientId.toHexString()) ?? [], p.ids);
      if (doc) for (const k of p.refKeys) out.set(k, doc._id);
    }
    return out;
  }

  /** Forgets every cached id that leads to one of these conversations (deleted: an erasure, the retention purge). */
  forgetConversations(conversationIds: ReadonlySet<string>): void {
    for (const [key, known] of this.ids) if (conversationIds.has(known.id.toHexString())) this.ids.delete(key);
  }

  /** Forgets the cached ids of a candidate (e.g. after its conversation was deleted). */
  forget(clientId: Types.ObjectId, candidateKey: string): void {
    this.ids.delete(idKey(clientId, "p", candidateKey));
    this.ids.delete(idKey(clientId, "u", candidateKey));
  }

  /**
   * A person's conversation from the cache: by user id, else by phone when the message names no user
   * id. A message with a user id that the cache knows only by phone is looked up in the database: the
   * conversation may have moved to another number since (an identity change another process applied),
   * the number now being someone else's; the lookup happens once per conversation, which then caches
   * the user id.
   */
  private cached(p: Person): Known | undefined {
    for (const u of p.ids.userIds) {
      const k = this.ids.get(idKey(p.clientId, "u", u));
      if (k) return k;
    }
    if (p.ids.userIds.length) return undefined;
    for (const phone of p.ids.phones) {
      const k = this.ids.get(idKey(p.clientId, "p", phone));
      if (k) return k;
    }
    return undefined;
  }

  /** The person's refs get the conversation; ids it lacks are queued for the next recordInbound. */
  private assign(p: Person, known: Known, out: Map<string, Types.ObjectId>): void {
    for (const k of p.refKeys) out.set(k, known.id);
    const fill = fillMissingIds({ candidatePhone: known.phone, candidateUserId: known.userId }, p.ids);
    const now: Known = {
      id: known.id,
      phone: known.phone ?? fill.candidatePhone ?? null,
      userId: known.userId ?? fill.candidateUserId ?? null,
    };
    if (Object.keys(fill).length) {
      const hex = known.id.toHexString();
      const queued = this.fills.get(hex);
      this.fills.set(hex, { own: { _id: known.id, clientId: p.clientId }, fill: { ...fill, ...queued?.fill } });
    }
    if (now.phone) this.remember(idKey(p.clientId, "p", now.phone), now);
    if (now.userId) this.remember(idKey(p.clientId, "u", now.userId), now);
  }

  /**
   * The conversations holding any id of these persons, by client. One find (on FerretDB one per id,
   * BulkWriter.findEach: it serves no `$or` and would read every conversation).
   */
  private async findByIds(persons: Person[]): Promise<Map<string, StoredIdentity[]>> {
    const byClient = new Map<string, { clientId: Types.ObjectId; phones: Set<string>; userIds: Set<string> }>();
    for (const p of persons) {
      const entry = byClient.get(p.clientId.toHexString()) ?? {
        clientId: p.clientId,
        phones: new Set<string>(),
        userIds: new Set<string>(),
      };
      for (const x of [...p.ids.phones, ...p.movedTo.phones]) entry.phones.add(x);
      for (const x of [...p.ids.userIds, ...p.movedTo.userIds]) entry.userIds.add(x);
      byClient.set(p.clientId.toHexString(), entry);
    }
    const each = [...byClient.values()].map((c) => ({
      clientId: c.clientId,
      ids: { phones: [...c.phones], userIds: [...c.userIds] },
    }));
    const filter = {
      $or: each.flatMap(({ clientId, ids }) => identityClauses(ids).map((clause) => ({ clientId, ...clause }))),
    };
    const clauses = each.flatMap(({ clientId, ids }) =>
      identityEqualities(ids).map((clause) => ({ clientId, ...clause })),
    );
    const found = await this.writer.findEach<StoredIdentity & { clientId: Types.ObjectId }>(
      this.model.collection,
      filter,
      clauses,
      { projection: IDENTITY_PROJECTION },
    );
    const out = new Map<string, StoredIdentity[]>();
    for (const d of found) {
      const list = out.get(d.clientId.toHexString()) ?? [];
      list.push(d);
      out.set(d.clientId.toHexString(), list);
    }
    return out;
  }

  private async findByKeys(
    keys: Array<{ clientId: Types.ObjectId; key: string }>,
  ): Promise<Map<string, StoredIdentity>> {
    const byClient = new Map<string, { clientId: Types.ObjectId; keys: string[] }>();
    for (const { clientId, key } of keys) {
      const entry = byClient.get(clientId.toHexString()) ?? { clientId, keys: [] };
      entry.keys.push(key);
      byClient.set(clientId.toHexString(), entry);
    }
    const found = await this.writer.findEach<StoredIdentity & { clientId: Types.ObjectId }>(
      this.model.collection,
      { $or: [...byClient.values()].map((c) => ({ clientId: c.clientId, candidateKey: { $in: c.keys } })) },
      keys.map(({ clientId, key }) => ({ clientId, candidateKey: key })),
      { projection: IDENTITY_PROJECTION },
    );
    return new Map(found.map((d) => [`${d.clientId.toHexString()}|${d.candidateKey}`, d]));
  }

  private remember(key: string, known: Known): void {
    this.ids.delete(key);
    this.ids.set(key, known);
    if (this.ids.size > this.cacheSize) this.ids.delete(this.ids.keys().next().value!);
  }
}

/** A $push of these ids keeping the last COUNTED_IDS_KEPT (and at least all of these). */
const keptIds = (ids: Types.ObjectId[]) => ({ $each: ids, $slice: -Math.max(COUNTED_IDS_KEPT, ids.length) });

/**
 * The filter of these conversations (each named by id and tenant) for one find: the tenant as an
 * equality when they are one tenant's.
 */
function byIds(own: Array<{ _id: Types.ObjectId; clientId: Types.ObjectId }>): Record<string, unknown> {
  const clients = distinctIds(own.map((o) => o.clientId));
  return { _id: oneOrIn(own.map((o) => o._id)), clientId: oneOrIn(clients) };
}

const idKey = (clientId: Types.ObjectId, kind: "p" | "u", id: string) => `${clientId.toHexString()}|${kind}:${id}`;

const knownOf = (d: StoredIdentity): Known => ({
  id: d._id,
  phone: d.candidatePhone ?? null,
  userId: d.candidateUserId ?? null,
});

/**
 * The batch's refs grouped into persons: refs of one tenant sharing a phone or a user id (directly
 * or through another ref) are one person. A ref naming neither id is named by its key.
 */
function groupPersons(refs: ConversationRef[]): Person[] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let root = x;
    while (parent.get(root) !== root) root = parent.get(root)!;
    parent.set(x, root);
    return root;
  };
  const node = (x: string) => {
    if (!parent.has(x)) parent.set(x, x);
    return x;
  };
  const idsOf = (r: ConversationRef) => {
    const c = r.clientId.toHexString();
    const phone = r.candidatePhone ?? (!r.candidateUserId && /^\d+$/.test(r.candidateKey) ? r.candidateKey : null);
    const userId = r.candidateUserId ?? (!r.candidatePhone && !phone ? r.candidateKey : null);
    return {
      c,
      phone,
      userId,
      nodes: [...(phone ? [`${c}|p:${phone}`] : []), ...(userId ? [`${c}|u:${userId}`] : [])],
    };
  };
  const read = refs.map((r) => ({ r, ...idsOf(r) }));
  for (const x of read) {
    const [first, ...rest] = x.nodes.map(node);
    for (const n of rest) parent.set(find(n), find(first!));
  }
  const persons = new Map<
    string,
    Person & {
      phones: Set<string>;
      userIds: Set<string>;
      keys: Set<string>;
      movedPhones: Set<string>;
      movedUserIds: Set<string>;
    }
  >();
  for (const x of read) {
    const root = find(x.nodes[0]!);
    const p = persons.get(root) ?? {
      clientId: x.r.clientId,
      ids: { phones: [], userIds: [] },
      refKeys: [],
      movedTo: { phones: [], userIds: [] },
      phones: new Set(),
      userIds: new Set(),
      keys: new Set(),
      movedPhones: new Set(),
      movedUserIds: new Set(),
    };
    if (x.phone) p.phones.add(x.phone);
    if (x.userId) p.userIds.add(x.userId);
    if (x.r.movedTo?.phone) p.movedPhones.add(x.r.movedTo.phone);
    if (x.r.movedTo?.userId) p.movedUserIds.add(x.r.movedTo.userId);
    p.keys.add(refKey(x.r.clientId, x.r.candidateKey));
    persons.set(root, p);
  }
  return [...persons.values()].map((p) => ({
    clientId: p.clientId,
    ids: { phones: [...p.phones].sort(), userIds: [...p.userIds].sort() },
    movedTo: { phones: [...p.movedPhones].sort(), userIds: [...p.movedUserIds].sort() },
    refKeys: [...p.keys],
  }));
}

/**
 * A conversation an identity change moved to the ids `p` moves to: it holds the new user id, or it
 * was moved to the new number (candidatePhoneAt) and holds no other user id. A conversation that
 * merely holds the new number is not enough: the number may have been someone else's before.
 */
function movedHere(d: StoredIdentity, p: Person): boolean {
  if (d.candidateUserId && p.movedTo.userIds.includes(d.candidateUserId)) return true;
  if (!d.candidatePhoneAt || !d.candidatePhone || !p.movedTo.phones.includes(d.candidatePhone)) return false;
  return !d.candidateUserId || p.ids.userIds.includes(d.candidateUserId);
}
