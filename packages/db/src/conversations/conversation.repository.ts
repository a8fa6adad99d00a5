import { Types, type Model } from "mongoose";
import { isDuplicateKeyError } from "../errors.js";
import type { BulkWriter } from "../ferretdb-adapter.js";
import type { MessageDoc } from "../messages/message.model.js";
import {
  candidateKeyOf,
  type SendConversation,
  type SentSummary,
  type StoredOutboundRequest,
} from "../messages/outbound-messages.js";
import type { ConversationDoc } from "./conversation.model.js";
import {
  bestMatch,
  candidateClauses,
  clauseFilter,
  fillMissingIds,
  fillOps,
  identityOf,
  newConversationIds,
  newConversationKey,
  oldest,
  satisfies,
  successorKey,
  type CandidateClause,
  type CandidateIdentity,
  type CandidateIds,
} from "./candidate-identity.js";
import { ConversationBatch, type ConversationBatchOptions } from "./conversation-batch.js";
import {
  blockedCandidates,
  listBlockedConversations,
  setConversationBlocked,
  type InboundCandidateRef,
} from "./conversation-blocks.js";
import { ConversationMerger } from "./conversation-merge.js";
import { conversationView, type ConversationView } from "./conversation-view.js";
import { NO_SUMMARY, newerThanSummary, summaryFields } from "./conversation-summary.js";

export { WINDOW_MS } from "./window.js";

export type { CandidateIdentity } from "./candidate-identity.js";

/**
 * The message a conversation is opened for: counted by the insert itself when the conversation is
 * new (messageCount 1, its summary, its id in `countedIds`), so a first contact costs no separate
 * count. Whoever stores the message checks `countedIds` before counting it again.
 */
export interface FirstMessage {
  messageId: Types.ObjectId;
  at: Date;
  sortKey: string;
  from: "candidate" | "recruiter";
  preview: string | null;
  type: string;
}

/** Whether this message is counted in the conversation (by the insert that created it for the message). */
export const countedIn = (doc: Pick<ConversationDoc, "countedIds">, messageId: Types.ObjectId): boolean =>
  !!doc.countedIds?.some((id) => id.equals(messageId));

/** What the platform knows of a candidate when it opens the conversation (kept only on creation). */
export interface ConversationExtra {
  applicationId?: string | null;
  jobTitle?: string | null;
  candidateName?: string | null;
}

/**
 * One tenant's conversation with a candidate named by phone, user id or both (CandidateIdentity),
 * created on first sight; returns the whole document. The person's conversations are those of
 * candidateClauses (by user id; by phone or key only where it holds no other user id), chosen
 * among several as the inbound batch chooses (bestMatch). Each clause is one equality on an indexed
 * field, looked up on its own (at once, in parallel): no `$or`, so no lookup reads more than the documents holding that one value — on
 * MongoDB an index range, and on FerretDB v1 (which hands its storage only top-level equalities,
 * and reads and filters the whole tenant itself for anything else) a pushed-down filter.
 *
 * The clause on the new conversation's own key (newConversationKey: the phone, else the user id,
 * else `candidateKey`) is answered by the upsert on that key when nothing else matched: it finds the
 * key's holder (kept when it is this person's) or inserts. Two creators of one person meet on the
 * unique key. An id the conversation lacks is then recorded with a guarded write (only while null:
 * never overwrites an id it holds, nor one an identity change moved). Requests: one for a known
 * candidate found by a conversation holding the key; two on first contact (the lookups, then the
 * upsert); one more when the conversation learns an id, or when the key is held by a conversation
 * that moved to other ids (a number given up, now someone else's: this person's takes the
 * successor key, its user id else `<key>~<holder id>`, as the inbound batch does). The identity
 * rules (clauses, keys, successor keys, ids to record) are candidate-identity.ts'.
 */
async function openCandidateConversation(
  model: Model<ConversationDoc>,
  clientId: Types.ObjectId,
  candidate: CandidateIdentity,
  extra: ConversationExtra = {},
  first?: FirstMessage,
): Promise<ConversationDoc> {
  const ids = identityOf(candidate);
  const key = newConversationKey(ids, candidate.candidateKey);
  const clauses = candidateClauses(ids, candidate.candidateKey);
  const isOwnKey = (c: CandidateClause) => c.field === "candidateKey" && c.value === key;
  const found = await Promise.all(
    clauses
      .filter((c) => !isOwnKey(c))
      .map((c) => model.findOne(clauseFilter(clientId, c)).sort({ _id: 1 }).lean<ConversationDoc>()),
  );
  // Several of the person's conversations: the one the inbound batch takes (bestMatch: the best
  // match, then the one knowing both ids, then the oldest). A key alone names no id to score: oldest.
  const pick = (docs: ConversationDoc[]) => bestMatch(docs, ids) ?? oldest(docs);
  let doc = pick(found.filter((d): d is ConversationDoc => !!d));
  // Found elsewhere: the key's holder is this person's too when its clause holds (chosen by the same rule).
  if (doc && doc.candidateKey !== key) {
    const holder = await model.findOne({ clientId, candidateKey: key }).lean<ConversationDoc>();
    if (holder && clauses.some((c) => isOwnKey(c) && satisfies(holder, c))) doc = pick([doc, holder]);
  }
  // Not found: the upsert on the key finds its holder (kept when it is this person's) or inserts; a
  // key held by another person's conversation gives way to its successor key (successorKey, as the
  // inbound batch takes it), and one created meanwhile under the same key (a duplicate key) is
  // upserted again, which then finds it. Rounds are few: a number that changed hands more than once.
  for (let round = 0, tryKey = key; !doc && round < 6; round++) {
    try {
      const fresh = new Types.ObjectId();
      const got = await upsertConversation(
        model,
        { clientId, candidateKey: tryKey },
        fresh,
        clientId,
        tryKey,
        ids,
        extra,
        first,
      );
      if (got._id.equals(fresh) || clauses.some((c) => satisfies(got, c))) doc = got;
      else tryKey = successorKey(ids, tryKey, got._id);
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }
  if (!doc) throw new Error(`conversation of ${key} could not be opened`);
  const fill = fillMissingIds(doc, ids);
  if (Object.keys(fill).length)
    await model.collection.bulkWrite(fillOps({ _id: doc._id, clientId }, fill), { ordered: true });
  return { ...doc, ...fill };
}

/** Finds the conversation of `filter` (one equality), or inserts it under `_id` with the key and ids given. */
async function upsertConversation(
  model: Model<ConversationDoc>,
  filter: Record<string, unknown>,
  _id: Types.ObjectId,
  clientId: Types.ObjectId,
  key: string,
  ids: CandidateIds,
  extra: ConversationExtra,
  first?: FirstMessage,
): Promise<ConversationDoc> {
  const update = {
    $setOnInsert: {
      _id,
      clientId,
      candidateKey: key,
      ...newConversationIds(ids),
      ...(extra.applicationId ? { applicationId: extra.applicationId } : {}),
      ...(extra.jobTitle ? { jobTitle: extra.jobTitle } : {}),
      // The name the platform knows until the candidate's own WhatsApp profile name arrives
      // (candidateNameAt stays null, so the first inbound profile name replaces it).
      ...(extra.candidateName ? { candidateName: extra.candidateName } : {}),
      ...(first
        ? {
            messageCount: 1,
            lastMessageAt: first.at,
            ...summaryFields(first),
            countedIds: [first.messageId],
          }
        : {}),
    },
  };
  return model
    .findOneAndUpdate(filter, update, { upsert: true, new: true, setDefaultsOnInsert: true })
    .lean<ConversationDoc>();
}

const PROJECTION = { __v: 0 } as const;

/**
 * The `conversations` collection's repository, through which the rest of the code writes it.
 * `of(clientId)` gives one tenant's conversations (every query carries the tenant's clientId);
 * `batch()` writes the conversations of many tenants a batch of inbound messages at a time
 * (ConversationBatch); `merger()` makes one person's twin conversations one (ConversationMerger);
 * `blockedCandidates` reads the blocks of a batch's candidates. Every write commutes ($max, $setOnInsert, guarded $set,
 * and $inc only by the write that stored a message), so that at-least-once, unordered webhook
 * processing converges to one exact state.
 */
export class ConversationRepository {
  constructor(
    private readonly model: Model<ConversationDoc>,
    private readonly messages: Model<MessageDoc>,
    /** The connection's batched-update writer (Database.batchWriter). */
    private readonly writer: BulkWriter,
  ) {}

  /** One tenant's conversations. */
  of(clientId: Types.ObjectId): TenantConversations {
    return new TenantConversations(this.model, this.messages, clientId);
  }

  /**
   * A writer of inbound batches' conversations, for many tenants, with its own cache of
   * conversation ids (one per worker process).
   */
  batch(opts: ConversationBatchOptions = {}): ConversationBatch {
    return new ConversationBatch(this.model, this.writer, opts);
  }

  /** The merger of one person's twin conversations (`claimLeaseMs`: the inbound batch's claim lease). */
  merger(claimLeaseMs?: number): ConversationMerger {
    return new ConversationMerger(this.model, this.messages, this.writer, claimLeaseMs);
  }

  /** Which of these candidates are blocked by their tenant (see blockedCandidates). One find. */
  blockedCandidates(refs: readonly InboundCandidateRef[]): Promise<Map<string, Types.ObjectId>> {
    return blockedCandidates(this.model, this.writer, refs);
  }
}

/**
 * One tenant's conversations (ConversationRepository.of). Every query carries the tenant's
 * clientId: there is no method that could read or write another tenant's data. Inbound messages
 * are counted a batch at a time by the repository's batch(); a send's by countSent.
 */
export class TenantConversations {
  constructor(
    private readonly model: Model<ConversationDoc>,
    private readonly messages: Model<MessageDoc>,
    readonly clientId: Types.ObjectId,
  ) {}

  /**
   * The conversation with this candidate, created on first sight; the whole document. See
   * openCandidateConversation: found by phone or user id, a missing id recorded, a new one keyed by
   * the phone, else the user id, else `candidateKey`.
   */
  open(candidate: CandidateIdentity, extra: ConversationExtra = {}, first?: FirstMessage): Promise<ConversationDoc> {
    return openCandidateConversation(this.model, this.clientId, candidate, extra, first);
  }

  /** As `open`, returning the conversation's id. */
  async ensure(candidate: CandidateIdentity, extra: ConversationExtra = {}): Promise<Types.ObjectId> {
    return (await this.open(candidate, extra))._id;
  }

  /**
   * The conversation a send goes to, created on first contact: found by phone or user id as the
   * inbound side finds it (one equality lookup per id), or created (openCandidateConversation).
   * Returns the whole document (its window and names plan the send; the whole of it builds the
   * dashboard event). With `first`, a conversation created now already counts that message
   * (`counted`: no countSent for it; `uncountFirst` if the message is not stored after all).
   */
  async openForSend(
    request: Pick<
      StoredOutboundRequest,
      "candidatePhone" | "candidateUserId" | "applicationId" | "jobTitle" | "candidateName"
    >,
    first?: FirstMessage,
  ): Promise<SendConversation & { doc: ConversationDoc; counted: boolean }> {
    const doc = await this.open(
      {
        candidateKey: candidateKeyOf(request),
        candidatePhone: request.candidatePhone ?? null,
        candidateUserId: request.candidateUserId ?? null,
      },
      {
        applicationId: request.applicationId ?? null,
        jobTitle: request.jobTitle ?? null,
        candidateName: request.candidateName ?? null,
      },
      first,
    );
    return {
      counted: !!first && countedIn(doc, first.messageId),
      _id: doc._id,
      windowExpiresAt: doc.windowExpiresAt ?? null,
      candidateName: doc.candidateName ?? null,
      jobTitle: doc.jobTitle ?? null,
      doc,
    };
  }

  /**
   * A sent message was just inserted into the conversation (call only when the message's create
   * reported `created`: the unique insert decides, so a replay never counts twice): one more
   * message, and it is the latest unless a later one is already recorded. One request; a second only
   * when a later message is already the conversation's latest. Returns whether this message became
   * the latest.
   */
  async countSent(
    conversationId: Types.ObjectId,
    s: SentSummary,
  ): Promise<{ latest: boolean; summary: Record<string, unknown> }> {
    const base = { _id: conversationId, clientId: this.clientId };
    const count = { $inc: { messageCount: 1 }, $max: { lastMessageAt: s.at } };
    const summary = summaryFields({ sortKey: s.sortKey, from: "recruiter", preview: s.preview, type: s.type });
    const res = await this.model.updateOne({ ...base, ...newerThanSummary(s.sortKey) }, { ...count, $set: summary });
    if (res.matchedCount === 1) return { latest: true, summary };
    await this.model.updateOne(base, count);
    return { latest: false, summary };
  }

  /**
   * A conversation created for a message (openForSend's `first`) counted it, but the message was
   * not stored (its dedupe key held by another message): the count and, while still its own, the
   * summary are taken back. Guarded on the id being counted, so a replay takes nothing twice.
   */
  async uncountFirst(
    conversationId: Types.ObjectId,
    first: Pick<FirstMessage, "messageId" | "sortKey">,
  ): Promise<void> {
    const res = await this.model.updateOne(
      { _id: conversationId, clientId: this.clientId, countedIds: { $in: [first.messageId] } },
      { $inc: { messageCount: -1 }, $pull: { countedIds: first.messageId } },
    );
    if (res.modifiedCount === 0) return;
    await this.model.updateOne(
      { _id: conversationId, clientId: this.clientId, lastMessageSortKey: first.sortKey },
      { $set: NO_SUMMARY },
    );
  }

  /** Deletes the conversation (its messages first: an erasure, the retention purge). Returns how many went. */
  async delete(conversationId: Types.ObjectId): Promise<number> {
    return (await this.model.deleteOne({ clientId: this.clientId, _id: conversationId })).deletedCount;
  }

  /**
   * Records that the candidate's message `wamid` was marked read at Meta (`readReceiptWamid`, the
   * read receipts' field, written through the driver: not in the shared schema). Unless `always`,
   * only when it is not that message already; returns whether it changed.
   */
  async recordReadReceipt(
    conversationId: Types.ObjectId,
    wamid: string,
    opts: { always?: boolean } = {},
  ): Promise<boolean> {
    const res = await this.model.collection.updateOne(
      {
        _id: conversationId,
        clientId: this.clientId,
        ...(opts.always ? {} : { readReceiptWamid: { $ne: wamid } }),
      },
      { $set: { readReceiptWamid: wamid } },
    );
    return res.modifiedCount > 0;
  }

  /** Records (or, with null, lifts) the block of one conversation; the conversation after it (see conversation-blocks.ts). */
  setBlocked(
    conversationId: Types.ObjectId,
    block: { at: Date; by: { role: string; userId: string } } | null,
  ): Promise<ConversationView | null> {
    return setConversationBlocked(this.model, this.clientId, conversationId, block);
  }

  /** The tenant's blocked conversations, latest block first (`limit`, then the page after `after`). */
  listBlocked(limit: number, after?: { blockedAt: Date; id: Types.ObjectId }): Promise<ConversationView[]> {
    return listBlockedConversations(this.model, this.clientId, limit, after);
  }

  /**
   * Marks everything received so far as read. Returns the updated conversation, or null if not this
   * tenant's. Inbound batches add to unreadCount only where readUpTo is older than the message, so a
   * message stored before `at` and counted after this reset stays read; one stored after `at` whose
   * count landed before the reset is counted back here (messages still claimed are left to their
   * own guarded increment).
   */
  async markRead(id: Types.ObjectId, at = new Date()): Promise<ConversationView | null> {
    const res = await this.model.updateOne(
      { _id: id, clientId: this.clientId },
      { $max: { readUpTo: at }, $set: { unreadCount: 0 } },
    );
    if (res.matchedCount === 0) return null;
    const conv = await this.model.findOne({ _id: id, clientId: this.clientId }, { readUpTo: 1 }).lean();
    if (conv) {
      const unread = await this.messages.countDocuments({
        clientId: this.clientId,
        conversationId: id,
        direction: "inbound",
        receivedAt: { $gt: conv.readUpTo },
        countClaim: null,
      });
      if (unread > 0) {
        await this.model.updateOne(
          { _id: id, clientId: this.clientId, readUpTo: conv.readUpTo },
          { $max: { unreadCount: unread } },
        );
      }
    }
    return this.get(id);
  }

  async get(id: Types.ObjectId): Promise<ConversationView | null> {
    const doc = await this.model.findOne({ _id: id, clientId: this.clientId }, PROJECTION).lean<ConversationDoc>();
    return doc ? conversationView(doc) : null;
  }

  /** Newest activity first. */
  async list(
    page: number,
    limit: number,
  ): Promise<{ conversations: ConversationView[]; total: number; hasMore: boolean }> {
    const filter = { clientId: this.clientId };
    const [docs, total] = await Promise.all([
      this.model
        .find(filter, PROJECTION)
        .sort({ lastMessageAt: -1, _id: -1 })
        .skip((page - 1) * limit)
        .limit(limit)
        .lean<ConversationDoc[]>(),
      this.model.countDocuments(filter),
    ]);
    const now = Date.now();
    return { conversations: docs.map((d) => conversationView(d, now)), total, hasMore: page * limit < total };
  }
}
