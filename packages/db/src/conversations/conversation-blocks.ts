import type { Model, Types } from "mongoose";
import type { BulkWriter } from "../ferretdb-adapter.js";
import type { ConversationDoc } from "./conversation.model.js";
import { conversationView, type ConversationView } from "./conversation-view.js";

/**
 * Blocks as the conversations record them (`blockedAt`, `blockedBy`): data access only. What a block
 * means (Meta's Block Users API, its limits, the dashboard event) lives in @linkojob/outbound
 * (CandidateBlocking). Kept on the conversation so that a candidate's erasure or the retention
 * purge, which delete the conversation, leave no block record naming them.
 */

/** Records (or, with null, lifts) the block of one tenant's conversation; the conversation after it. */
export async function setConversationBlocked(
  model: Model<ConversationDoc>,
  clientId: Types.ObjectId,
  conversationId: Types.ObjectId,
  block: { at: Date; by: { role: string; userId: string } } | null,
): Promise<ConversationView | null> {
  const doc = await model
    .findOneAndUpdate(
      { _id: conversationId, clientId },
      { $set: { blockedAt: block?.at ?? null, blockedBy: block?.by ?? null } },
      // No projection: FerretDB v1's findAndModify does not implement `fields`.
      { new: true },
    )
    .lean<ConversationDoc>();
  return doc ? conversationView(doc) : null;
}

/** The tenant's blocked conversations, latest block first (`limit`, then the page after `after`). */
export async function listBlockedConversations(
  model: Model<ConversationDoc>,
  clientId: Types.ObjectId,
  limit: number,
  after?: { blockedAt: Date; id: Types.ObjectId },
): Promise<ConversationView[]> {
  const filter: Record<string, unknown> = { clientId, blockedAt: { $ne: null } };
  if (after)
    filter.$or = [{ blockedAt: { $lt: after.blockedAt } }, { blockedAt: after.blockedAt, _id: { $lt: after.id } }];
  const docs = await model
    .find(filter, { __v: 0 })
    .sort({ blockedAt: -1, _id: -1 })
    .limit(limit)
    .lean<ConversationDoc[]>();
  const now = Date.now();
  return docs.map((d) => conversationView(d, now));
}

/** A candidate an inbound message names: the tenant, and the phone and user id the message carries. */
export interface InboundCandidateRef {
  clientId: Types.ObjectId;
  phone?: string | null;
  userId?: string | null;
}

/** The key blockedCandidates answers for an identity of a tenant's candidate. */
export const blockedKey = (clientId: Types.ObjectId, id: string) => `${clientId.toHexString()}|${id}`;

/**
 * Which of these candidates are blocked by their tenant: the `blockedKey`s of the phones and user ids
 * held by a blocked conversation, each with that conversation's id. One find for a whole batch of
 * inbound messages (served by the identity indexes); none when the batch names nobody. On FerretDB
 * one find per phone and user id (BulkWriter.findEach: it serves no `$or`, and would read every
 * conversation of every tenant).
 */
export async function blockedCandidates(
  model: Model<ConversationDoc>,
  writer: BulkWriter,
  refs: readonly InboundCandidateRef[],
): Promise<Map<string, Types.ObjectId>> {
  const byClient = new Map<string, { clientId: Types.ObjectId; phones: Set<string>; userIds: Set<string> }>();
  for (const r of refs) {
    const k = r.clientId.toHexString();
    const entry = byClient.get(k) ?? { clientId: r.clientId, phones: new Set(), userIds: new Set() };
    if (r.phone) entry.phones.add(r.phone);
    if (r.userId) entry.userIds.add(r.userId);
    byClient.set(k, entry);
  }
  const or: Array<Record<string, unknown>> = [];
  const clauses: Array<Record<string, unknown>> = [];
  const isBlocked = { blockedAt: { $ne: null } };
  for (const { clientId, phones, userIds } of byClient.values()) {
    if (phones.size) or.push({ clientId, candidatePhone: { $in: [...phones] } });
    if (userIds.size) or.push({ clientId, candidateUserId: { $in: [...userIds] } });
    for (const candidatePhone of phones) clauses.push({ clientId, candidatePhone, ...isBlocked });
    for (const candidateUserId of userIds) clauses.push({ clientId, candidateUserId, ...isBlocked });
  }
  const blocked = new Map<string, Types.ObjectId>();
  if (!or.length) return blocked;
  const docs = await writer.findEach<Pick<ConversationDoc, "_id" | "clientId" | "candidatePhone" | "candidateUserId">>(
    model.collection,
    { $or: or, ...isBlocked },
    clauses,
    { projection: { clientId: 1, candidatePhone: 1, candidateUserId: 1 } },
  );
  for (const d of docs) {
    if (d.candidatePhone) blocked.set(blockedKey(d.clientId, d.candidatePhone), d._id);
    if (d.candidateUserId) blocked.set(blockedKey(d.clientId, d.candidateUserId), d._id);
  }
  return blocked;
}
