import type { Model, Types } from "mongoose";
import { updateEach, type BulkWriter } from "../ferretdb-adapter.js";
import type { MessageDoc } from "../messages/message.model.js";
import type { ConversationDoc } from "./conversation.model.js";
import { IDENTITY_PROJECTION, identityClauses, identityEqualities, type CandidateIds } from "./candidate-identity.js";
import { conversationView, messageSortKey, type ConversationView } from "./conversation-view.js";
import { COUNTED_IDS_KEPT } from "./conversation-batch.js";
import { windowOpen } from "./window.js";
import { newerThanSummary, summaryFields } from "./conversation-summary.js";

/**
 * A conversation that may have a twin: one just created for a person, or one an identity change
 * just moved to `ids` (the new number, the regenerated user id).
 */
export interface MergeSeed {
  clientId: Types.ObjectId;
  conversationId: Types.ObjectId;
  ids: CandidateIds;
}

/** Conversations of one person to make one: `from` go into `into` (the oldest). */
export interface MergePlan {
  clientId: Types.ObjectId;
  into: Types.ObjectId;
  from: Types.ObjectId[];
}

export interface MergeResult {
  /** `into` as it is after the merge; null when it no longer exists (erased meanwhile: nothing moved). */
  view: ConversationView | null;
  /** The merged conversations this call deleted (a repeated merge deletes none). */
  deleted: Types.ObjectId[];
  /**
   * Merged conversations kept (marked `mergedInto`) because they still hold messages a live writer
   * has not counted yet: that writer finishes their merge once its count is written.
   */
  waiting: Types.ObjectId[];
  /** Messages re-pointed to `into`. */
  moved: number;
}

/**
 * How far before a number change's time (Meta's clock) a conversation holding the new number may
 * have been created and still be the same person's (clocks differ; a clamped timestamp). A number
 * given up waits months before a carrier gives it to someone else, so a conversation created earlier
 * than this is its previous owner's.
 */
export const NUMBER_CHANGE_SKEW_MS = 5 * 60_000;

type Identity = Pick<
  ConversationDoc,
  "_id" | "clientId" | "candidateKey" | "candidatePhone" | "candidateUserId" | "candidatePhoneAt" | "createdAt"
>;

const PROJECTION = { ...IDENTITY_PROJECTION, createdAt: 1 } as const;

/**
 * Two conversations of one tenant are one person's: they hold the same business-scoped user id; or,
 * when one of them holds no user id, the same phone number, one of them having been moved to it by
 * a number change and the other created after that change (a message from the new number that came
 * before the change notice). Two different user ids are two persons whatever their numbers, and a
 * conversation that held the number before the change is its previous owner's (a number changing
 * hands): neither is merged.
 */
export function sameOwner(a: Identity, b: Identity): boolean {
  if (!a.clientId.equals(b.clientId) || a._id.equals(b._id)) return false;
  if (a.candidateUserId && b.candidateUserId) return a.candidateUserId === b.candidateUserId;
  if (!a.candidatePhone || a.candidatePhone !== b.candidatePhone) return false;
  const movedThere = (moved: Identity, other: Identity) =>
    !!moved.candidatePhoneAt &&
    !other.candidatePhoneAt &&
    other.createdAt.getTime() >= moved.candidatePhoneAt.getTime() - NUMBER_CHANGE_SKEW_MS;
  return movedThere(a, b) || movedThere(b, a);
}

/** The conversation a person's twins merge into: the oldest (created first, then the smallest id). */
const older = (a: Identity, b: Identity) =>
  a.createdAt.getTime() !== b.createdAt.getTime()
    ? a.createdAt.getTime() < b.createdAt.getTime()
    : a._id.toHexString() < b._id.toHexString();

/**
 * Merges the conversations of one person into one. Meta delivers webhooks unordered, at least once
 * and to many workers: a message from a candidate's new number can be stored before the notice of
 * the number change from the old one, and then opens a conversation of its own. `plan` finds such
 * twins after a batch wrote (one find, only for batches that created a conversation or moved one);
 * `merge` re-points the messages of the newer ones to the oldest, recomputes its counters exactly
 * from its messages, and deletes the newer ones. Both are idempotent: a merge run again (a
 * redelivery, another worker, a write that landed in a conversation merged meanwhile) moves what is
 * left and recomputes the same counters. Call `merge` holding the locks of every conversation of
 * the plan (FerretDB v1 loses concurrent updates of one document; the counter writes must not race
 * the recount).
 */
export class ConversationMerger {
  constructor(
    private readonly conversations: Model<ConversationDoc>,
    private readonly messages: Model<MessageDoc>,
    /** The connection's batched-update writer (Database.batchWriter): its findEach reads by several ids. */
    private readonly writer: BulkWriter,
    /** How long a count claim is a live writer's (InboundMessageBatch's lease). */
    private readonly claimLeaseMs = 60_000,
  ) {}

  /**
   * The merges these seeds call for (none, almost always). One find (on FerretDB one per id,
   * BulkWriter.findEach: it filters an `$or` itself, over the whole tenant or collection).
   */
  async plan(seeds: MergeSeed[]): Promise<MergePlan[]> {
    const clauses = seeds.flatMap((s) =>
      identityClauses(s.ids)
        .filter((c) => !("candidateKey" in c))
        .map((c) => ({ clientId: s.clientId, ...c })),
    );
    if (!clauses.length) return [];
    const equalities = seeds.flatMap((s) =>
      identityEqualities(s.ids)
        .filter((c) => !("candidateKey" in c))
        .map((c) => ({ clientId: s.clientId, ...c })),
    );
    // One tenant (the usual batch): its id as a top-level equality, which every server serves from
    // an index (FerretDB v1 hands its storage only top-level equalities and filters an `$or` itself).
    const tenants = new Set(seeds.map((s) => s.clientId.toHexString()));
    const filter =
      tenants.size === 1
        ? { clientId: seeds[0]!.clientId, $or: clauses.map(({ clientId: _, ...c }) => c) }
        : { $or: clauses };
    const found = await this.writer.findEach<Identity>(this.conversations.collection, filter, equalities, {
      projection: PROJECTION,
    });
    const byId = new Map(found.map((d) => [d._id.toHexString(), d]));
    const plans = new Map<string, { into: Identity; from: Map<string, Identity> }>();
    for (const s of seeds) {
      const seed = byId.get(s.conversationId.toHexString());
      // Moved elsewhere meanwhile (a later change), or deleted: another seed covers it.
      if (!seed) continue;
      const twins = found.filter((d) => sameOwner(seed, d));
      if (!twins.length) continue;
      const group = [seed, ...twins];
      const into = group.reduce((a, b) => (older(a, b) ? a : b));
      const plan = plans.get(into._id.toHexString()) ?? { into, from: new Map<string, Identity>() };
      for (const d of group) if (!d._id.equals(into._id)) plan.from.set(d._id.toHexString(), d);
      plans.set(into._id.toHexString(), plan);
    }
    return [...plans.values()].map((p) => ({
      clientId: p.into.clientId,
      into: p.into._id,
      from: [...p.from.values()].map((d) => d._id),
    }));
  }

  /** Merges `from` into `into` (see the class). */
  async merge(plan: MergePlan): Promise<MergeResult> {
    const { clientId, into } = plan;
    // Lookups by several ids go one equality each on FerretDB (BulkWriter.findEach, updateEach,
    // BulkWriter.deleteEach): its `$in` reads the whole tenant's conversations or messages.
    const all = [into, ...plan.from];
    const docs = await this.writer.findEach<ConversationDoc>(
      this.conversations.collection,
      { clientId, _id: { $in: all } },
      all.map((_id) => ({ clientId, _id })),
      { projection: { countedIds: 0, unreadIds: 0 } },
    );
    const target = docs.find((d) => d._id.equals(into));
    if (!target) return { view: null, deleted: [], waiting: [], moved: 0 };
    const twins = docs.filter((d) => !d._id.equals(into));
    // A message still claimed by a live writer is left where it is: that writer releases its claim
    // with a write of its own, and FerretDB v1 loses one of two concurrent updates of a document.
    const unclaimed = {
      $or: [{ countClaim: null }, { "countClaim.at": { $lt: new Date(Date.now() - this.claimLeaseMs) } }],
    };
    const moved = (
      await updateEach(
        this.messages.collection,
        { clientId, conversationId: { $in: plan.from }, ...unclaimed },
        plan.from.map((conversationId) => ({ clientId, conversationId, ...unclaimed })),
        { $set: { conversationId: into } },
      )
    ).modifiedCount;
    const left = new Set(
      (
        await this.writer.findEach<{ _id: Types.ObjectId; conversationId: Types.ObjectId }>(
          this.messages.collection,
          { clientId, conversationId: { $in: plan.from } },
          plan.from.map((conversationId) => ({ clientId, conversationId })),
          { projection: { conversationId: 1 } },
        )
      ).map((m) => m.conversationId.toHexString()),
    );
    const own = { _id: into, clientId };
    const later = <K extends keyof ConversationDoc>(field: K, at: keyof ConversationDoc) =>
      twins
        .filter((t) => t[field] && t[at])
        .reduce<ConversationDoc | null>((a, b) => (!a || (b[at] as Date) > (a[at] as Date) ? b : a), null);

    // What the twins knew that the target may not: the latest name, username and parent id, the
    // platform's application, the latest candidate message's window, the last message.
    const writes: Array<{ filter: Record<string, unknown>; update: Record<string, unknown> }> = [];
    for (const [field, at] of [
      ["candidateName", "candidateNameAt"],
      ["candidateUsername", "candidateUsernameAt"],
      ["candidateParentUserId", "candidateParentUserIdAt"],
    ] as const) {
      const t = later(field, at);
      if (t)
        writes.push({
          filter: { ...own, $or: [{ [at]: null }, { [at]: { $lte: t[at] } }] },
          update: { $set: { [field]: t[field], [at]: t[at] } },
        });
    }
    for (const field of ["applicationId", "jobTitle", "candidateName"] as const) {
      const t = twins.find((d) => d[field]);
      if (t) writes.push({ filter: { ...own, [field]: null }, update: { $set: { [field]: t[field] } } });
    }
    const max: Record<string, Date> = {};
    for (const field of ["lastMessageAt", "lastInboundAt", "windowExpiresAt"] as const)
      for (const t of twins) if (t[field] && (!max[field] || t[field] > max[field])) max[field] = t[field];
    if (Object.keys(max).length) writes.push({ filter: own, update: { $max: max } });
    const summaries = twins
      .filter((t) => t.lastMessageSortKey)
      .map((t) =>
        summaryFields({
          sortKey: t.lastMessageSortKey!,
          from: t.lastMessageFrom ?? null,
          preview: t.lastMessagePreview,
          type: t.lastMessageType ?? null,
        }),
      );
    // A message written to a twin after it was merged counted nowhere: the latest message decides too.
    const [latest] = (await this.messages.collection
      .find(
        { clientId, conversationId: into },
        { projection: { timestamp: 1, dedupeKey: 1, direction: 1, text: 1, type: 1 } },
      )
      .sort({ timestamp: -1, _id: -1 })
      .limit(1)
      .toArray()) as unknown as MessageDoc[];
    if (latest) {
      summaries.push(
        summaryFields({
          sortKey: messageSortKey(latest.timestamp, latest.dedupeKey),
          from: latest.direction === "inbound" ? "candidate" : "recruiter",
          preview: latest.text,
          type: latest.type,
        }),
      );
      writes.push({ filter: own, update: { $max: { lastMessageAt: latest.timestamp } } });
    }
    const best = summaries.reduce<(typeof summaries)[number] | null>(
      (a, b) => (!a || b.lastMessageSortKey > a.lastMessageSortKey ? b : a),
      null,
    );
    if (best)
      writes.push({
        filter: { ...own, ...newerThanSummary(best.lastMessageSortKey) },
        update: { $set: best },
      });
    // One document's writes one after the other (FerretDB v1 loses concurrent updates of one document).
    for (const w of writes) await this.conversations.collection.updateOne(w.filter, w.update);

    await this.recount(clientId, into);
    const waiting = twins.filter((t) => left.has(t._id.toHexString())).map((t) => t._id);
    const done = twins.filter((t) => !left.has(t._id.toHexString())).map((t) => t._id);
    if (waiting.length)
      await updateEach(
        this.conversations.collection,
        { clientId, _id: { $in: waiting } },
        waiting.map((_id) => ({ clientId, _id })),
        { $set: { mergedInto: into, updatedAt: new Date() } },
      );
    const deleted =
      done.length &&
      (await this.writer.deleteEach(
        this.conversations.collection,
        { clientId, _id: { $in: done } },
        done.map((_id) => ({ clientId, _id })),
      )) > 0
        ? done
        : [];
    const after = (await this.conversations.collection.findOne(own, {
      projection: { __v: 0, countedIds: 0, unreadIds: 0 },
    })) as unknown as ConversationDoc | null;
    if (after && windowOpen(after) !== after.inWindow)
      await this.conversations.collection.updateOne(own, { $set: { inWindow: windowOpen(after) } });
    return { view: after ? conversationView(after) : null, deleted, waiting, moved };
  }

  /**
   * The conversation's counters from its messages: every message counted, the inbound ones stored
   * after `readUpTo` unread. One read of the messages' ids gives the count and the ids recorded as
   * counted (the latest inserted inbound ones, and unread): a writer that stored one of them and has
   * not counted it yet finds it counted and does not add it again, and one it stored after the read
   * is counted by that writer. Written only while `readUpTo` is the one read (a click meanwhile).
   */
  private async recount(clientId: Types.ObjectId, id: Types.ObjectId): Promise<void> {
    const own = { _id: id, clientId };
    for (let attempt = 0; attempt < 10; attempt++) {
      const conv = (await this.conversations.collection.findOne(own, { projection: { readUpTo: 1 } })) as {
        readUpTo?: Date | null;
      } | null;
      if (!conv) return;
      const readUpTo = conv.readUpTo ?? new Date(0);
      const all = (await this.messages.collection
        .find(
          { clientId, conversationId: id },
          { projection: { _id: 1, direction: 1, receivedAt: 1 }, batchSize: 100_000 },
        )
        .toArray()) as unknown as Array<Pick<MessageDoc, "_id" | "direction" | "receivedAt">>;
      const inbound = all
        .filter((m) => m.direction === "inbound")
        .sort((a, b) => (a._id.toHexString() < b._id.toHexString() ? -1 : 1));
      const unread = inbound.filter((m) => m.receivedAt > readUpTo);
      const res = await this.conversations.collection.updateOne(
        { ...own, readUpTo: conv.readUpTo ?? null },
        {
          $set: {
            messageCount: all.length,
            countedIds: inbound.slice(-COUNTED_IDS_KEPT).map((m) => m._id),
            unreadCount: unread.length,
            unreadIds: unread.slice(-COUNTED_IDS_KEPT).map((m) => m._id),
          },
        },
      );
      if (res.matchedCount === 1) return;
    }
  }
}
