import type { Types } from "mongoose";

/** A candidate as a send or a message names them: by phone, user id or both, and the key a new conversation falls back to. */
export interface CandidateIdentity {
  candidateKey: string;
  candidatePhone?: string | null;
  candidateUserId?: string | null;
}

/**
 * One person as messages or a send name them: every phone number (wa_id) and business-scoped user id
 * seen together. A user id is never normalised like a phone number.
 */
export interface CandidateIds {
  phones: string[];
  userIds: string[];
}

/** The identity fields of a stored conversation. */
export interface StoredIdentity {
  _id: Types.ObjectId;
  candidateKey: string;
  candidatePhone?: string | null;
  candidateUserId?: string | null;
  /** When an identity change moved the conversation to candidatePhone (null: never moved). */
  candidatePhoneAt?: Date | null;
}

export const IDENTITY_PROJECTION = {
  _id: 1,
  clientId: 1,
  candidateKey: 1,
  candidatePhone: 1,
  candidateUserId: 1,
  candidatePhoneAt: 1,
} as const;

/**
 * The `$or` clauses that find a person's conversations: by user id, by phone, and by the key chosen
 * at creation (conversations created with a key only hold neither id). Served by the indexes on
 * (clientId, candidateUserId), (clientId, candidatePhone) and (clientId, candidateKey).
 */
export function identityClauses(ids: CandidateIds): Array<Record<string, unknown>> {
  const or: Array<Record<string, unknown>> = [];
  if (ids.userIds.length) or.push({ candidateUserId: { $in: ids.userIds } });
  if (ids.phones.length) or.push({ candidatePhone: { $in: ids.phones } });
  const keys = [...ids.userIds, ...ids.phones];
  if (keys.length) or.push({ candidateKey: { $in: keys } });
  return or;
}

/**
 * The same conversations as `identityClauses`, one equality per id (what `BulkWriter.findEach` takes:
 * a server that serves only top-level equalities from its indexes reads no more than they name).
 */
export function identityEqualities(ids: CandidateIds): Array<Record<string, string>> {
  return [
    ...ids.userIds.map((candidateUserId) => ({ candidateUserId })),
    ...ids.phones.map((candidatePhone) => ({ candidatePhone })),
    ...[...ids.userIds, ...ids.phones].map((candidateKey) => ({ candidateKey })),
  ];
}

/**
 * How well a stored conversation is this person's: 0 when it is not. The user id decides first (it
 * survives a hidden phone); a conversation holding another user id is another person whatever its
 * phone (a number given up and reused); then the phone; then the creation key, but only while the
 * conversation still holds that key as its phone (or user id), or none: once an identity change
 * moved it elsewhere, the key is a number its first owner gave up, which carriers give to someone
 * else.
 */
export function matchScore(doc: StoredIdentity, ids: CandidateIds): number {
  const userId = doc.candidateUserId ?? null;
  if (userId && ids.userIds.includes(userId)) return 4;
  if (userId && ids.userIds.length) return 0;
  if (doc.candidatePhone && ids.phones.includes(doc.candidatePhone)) return 2;
  if (keyStillHeld(doc, ids)) return 1;
  return 0;
}

/** The conversation's creation key names this person, and no identity change moved it away. */
function keyStillHeld(doc: StoredIdentity, ids: CandidateIds): boolean {
  const key = doc.candidateKey;
  if (ids.phones.includes(key)) return !doc.candidatePhone || doc.candidatePhone === key;
  if (ids.userIds.includes(key)) return !doc.candidateUserId || doc.candidateUserId === key;
  return false;
}

const known = (d: StoredIdentity) => (d.candidatePhone ? 1 : 0) + (d.candidateUserId ? 1 : 0);

/**
 * The person's conversation among those found: the best match, then the one knowing both ids, then
 * the oldest. Deterministic, so every process picks the same one when two exist (see README).
 */
export function bestMatch<D extends StoredIdentity>(docs: D[], ids: CandidateIds): D | undefined {
  let best: D | undefined;
  let bestScore = 0;
  for (const d of docs) {
    const s = matchScore(d, ids);
    if (s === 0) continue;
    const better =
      !best ||
      s > bestScore ||
      (s === bestScore &&
        (known(d) > known(best) || (known(d) === known(best) && d._id.toHexString() < best._id.toHexString())));
    if (better) {
      best = d;
      bestScore = s;
    }
  }
  return best;
}

/**
 * The key of a new conversation: the phone (wa_id) when known, else the user id, else `fallback`, as
 * the normalizer's candidate key. It never changes afterwards (an identity change moves
 * candidatePhone / candidateUserId, not the key).
 */
export function newConversationKey(ids: CandidateIds, fallback?: string): string {
  const key = [...ids.phones].sort()[0] ?? [...ids.userIds].sort()[0] ?? fallback;
  if (!key) throw new Error("a conversation needs a phone number or a user id");
  return key;
}

/**
 * The key a newcomer's conversation takes when `key` is held by someone else's (`holder`: a number
 * given up, now someone else's; or a conversation that moved to other ids): its own user id when it
 * has one not tried yet (unique to the person), else the key qualified by the holder. The inbound
 * batch and the send path both take it, so that two processes creating one person's conversation
 * meet on one key.
 */
export function successorKey(ids: CandidateIds, key: string, holder: Types.ObjectId): string {
  const userId = [...ids.userIds].sort()[0];
  if (userId && key !== userId && !key.startsWith(`${userId}~`)) return userId;
  return `${key}~${holder.toHexString()}`;
}

/** The ids a new conversation is created with (an id it lacks is recorded later, see fillMissingIds). */
export function newConversationIds(ids: CandidateIds): {
  candidatePhone: string | null;
  candidateUserId: string | null;
} {
  return { candidatePhone: [...ids.phones].sort()[0] ?? null, candidateUserId: [...ids.userIds].sort()[0] ?? null };
}

/**
 * Guarded writes that record ids a conversation does not hold yet: each sets a field only while it is
 * null, so a phone or user id already known (or moved by an identity change) is never overwritten.
 */
export function fillMissingIds(
  doc: Pick<StoredIdentity, "candidatePhone" | "candidateUserId">,
  ids: CandidateIds,
): { candidatePhone?: string; candidateUserId?: string } {
  const fill: { candidatePhone?: string; candidateUserId?: string } = {};
  const phone = [...ids.phones].sort()[0];
  const userId = [...ids.userIds].sort()[0];
  if (!doc.candidatePhone && phone) fill.candidatePhone = phone;
  if (!doc.candidateUserId && userId) fill.candidateUserId = userId;
  return fill;
}

/** The updates that write `fill` (from fillMissingIds), one per field, each guarded on the field being null. */
export function fillOps(own: Record<string, unknown>, fill: { candidatePhone?: string; candidateUserId?: string }) {
  return Object.entries<string>(fill).map(([field, value]) => ({
    updateOne: { filter: { ...own, [field]: null }, update: { $set: { [field]: value } } },
  }));
}

/** The ids a CandidateIdentity names (the key alone names none: it is matched as a key). */
export function identityOf(c: CandidateIdentity): CandidateIds {
  return { phones: c.candidatePhone ? [c.candidatePhone] : [], userIds: c.candidateUserId ? [c.candidateUserId] : [] };
}

export type IdentityField = "candidateUserId" | "candidatePhone" | "candidateKey";

/** One way a stored conversation is this person's: `field` equals `value`, and each of `nulls` is null. */
export interface CandidateClause {
  field: IdentityField;
  value: string;
  nulls: Array<Exclude<IdentityField, "candidateKey">>;
}

/**
 * The clauses matching this person's conversations, as matchScore does: by user id; by phone or
 * key only where the conversation holds no user id or none was given; by key only while the
 * conversation holds no phone (a phone key) or no user id (a user id key): a key whose conversation
 * moved to another number is a number given up, perhaps someone else's now. (Where the conversation
 * holds the key as its phone or user id, the clause on that field matches it.)
 */
export function candidateClauses(ids: CandidateIds, key: string): CandidateClause[] {
  const all = [...ids.userIds, ...ids.phones];
  if (!all.length) return [{ field: "candidateKey", value: key, nulls: [] }];
  if (!ids.userIds.length)
    return [
      ...ids.phones.map((value): CandidateClause => ({ field: "candidatePhone", value, nulls: [] })),
      ...ids.phones.map((value): CandidateClause => ({ field: "candidateKey", value, nulls: ["candidatePhone"] })),
    ];
  return [
    ...ids.userIds.map((value): CandidateClause => ({ field: "candidateUserId", value, nulls: [] })),
    ...ids.phones.map((value): CandidateClause => ({ field: "candidatePhone", value, nulls: ["candidateUserId"] })),
    ...ids.phones.map((value): CandidateClause => ({
      field: "candidateKey",
      value,
      nulls: ["candidateUserId", "candidatePhone"],
    })),
    ...ids.userIds.map((value): CandidateClause => ({ field: "candidateKey", value, nulls: ["candidateUserId"] })),
  ];
}

/** The clause as a filter: the tenant and one equality on an indexed field, then its null checks. */
export const clauseFilter = (clientId: Types.ObjectId, c: CandidateClause): Record<string, unknown> => ({
  clientId,
  [c.field]: c.value,
  ...Object.fromEntries(c.nulls.map((n) => [n, null])),
});

/** Whether a stored conversation meets the clause (null also when the field is absent, as a filter). */
export const satisfies = (doc: StoredIdentity, c: CandidateClause): boolean =>
  (doc as unknown as Record<string, unknown>)[c.field] === c.value &&
  c.nulls.every((n) => (doc as unknown as Record<string, unknown>)[n] == null);

/** The oldest of the conversations found (the first by `_id`, as a sort on `_id` would give). */
export function oldest<D extends StoredIdentity>(docs: Array<D | null>): D | null {
  let best: D | null = null;
  for (const d of docs) if (d && (!best || d._id.toHexString() < best._id.toHexString())) best = d;
  return best;
}
