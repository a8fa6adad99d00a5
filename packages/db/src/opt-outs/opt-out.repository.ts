import { Types, type Model } from "mongoose";
import type { OptOutChangeDoc, OptOutDoc, OptOutKeyType, OptOutScope, OptOutScopeState } from "./opt-out.model.js";

/** One identity of a candidate as the register keys it. */
export interface OptOutKey {
  key: string;
  keyType: OptOutKeyType;
}

export type NewOptOutChange = Omit<OptOutChangeDoc, "_id" | "clientId" | "recordedAt">;

const isDuplicateKey = (err: unknown) => (err as { code?: number } | null)?.code === 11000;

/**
 * One tenant's opt-out register (data access only: what a change means is decided by
 * @linkojob/outbound's OptOutRegister). Every query names the tenant.
 */
export class OptOutRepository {
  constructor(
    private readonly optOuts: Model<OptOutDoc>,
    private readonly changes: Model<OptOutChangeDoc>,
    readonly clientId: Types.ObjectId,
  ) {}

  /**
   * Records a change in the audit trail, once per `dedupeKey` (a redelivered webhook or a retried
   * job finds the first record). Returns the record and whether this call wrote it.
   */
  async recordChange(change: NewOptOutChange, at = new Date()): Promise<{ change: OptOutChangeDoc; created: boolean }> {
    const doc: OptOutChangeDoc = { ...change, _id: new Types.ObjectId(), clientId: this.clientId, recordedAt: at };
    try {
      await this.changes.collection.insertOne(doc);
      return { change: doc, created: true };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const first = await this.changes
        .findOne({ clientId: this.clientId, dedupeKey: change.dedupeKey })
        .lean<OptOutChangeDoc>();
      if (!first) throw err;
      return { change: first, created: false };
    }
  }

  /**
   * Sets `scope` to `state` on each identity, unless that identity holds a later change of the scope
   * (deliveries are unordered: the latest change wins, and replaying one is harmless). One bulkWrite:
   * an upsert creating each missing identity, then the guarded update.
   */
  async applyScope(
    keys: OptOutKey[],
    scope: OptOutScope,
    state: OptOutScopeState,
    /** `candidate`: leaves identities where the candidate's own change of this scope is in force (a tenant cannot lift it). */
    unlessActiveOwner?: OptOutScopeState["owner"],
  ): Promise<void> {
    if (!keys.length) return;
    const guard = unlessActiveOwner
      ? [{ $or: [{ [`${scope}.active`]: { $ne: true } }, { [`${scope}.owner`]: { $ne: unlessActiveOwner } }] }]
      : [];
    const now = new Date();
    const ops = keys.flatMap(({ key, keyType }) => [
      {
        updateOne: {
          filter: { clientId: this.clientId, key },
          update: { $setOnInsert: { clientId: this.clientId, key, keyType, createdAt: now, updatedAt: now } },
          upsert: true,
        },
      },
      {
        updateOne: {
          filter: {
            clientId: this.clientId,
            key,
            $and: [{ $or: [{ [scope]: null }, { [`${scope}.at`]: { $lte: state.at } }] }, ...guard],
          },
          update: { $set: { [scope]: state, updatedAt: now } },
        },
      },
    ]);
    try {
      await this.optOuts.collection.bulkWrite(ops, { ordered: true });
    } catch (err) {
      // Two writers created the same identity at once: the other one's document is there now.
      if (!isDuplicateKey(err)) throw err;
      await this.optOuts.collection.bulkWrite(ops, { ordered: true });
    }
  }

  /** The register's documents of these identities. */
  async find(keys: string[]): Promise<OptOutDoc[]> {
    if (!keys.length) return [];
    return this.optOuts.find({ clientId: this.clientId, key: { $in: keys } }).lean<OptOutDoc[]>();
  }

  /**
   * The identities with an opt-out in force, most recently changed first, `limit` at most, after the
   * cursor (`updatedAt` and `_id` of the last one of the previous page).
   */
  async listActive(limit: number, after?: { updatedAt: Date; id: Types.ObjectId }): Promise<OptOutDoc[]> {
    const filter: Record<string, unknown> = {
      clientId: this.clientId,
      $or: [{ "all.active": true }, { "marketing.active": true }],
    };
    if (after)
      filter.$and = [
        {
          $or: [{ updatedAt: { $lt: after.updatedAt } }, { updatedAt: after.updatedAt, _id: { $lt: after.id } }],
        },
      ];
    return this.optOuts.find(filter).sort({ updatedAt: -1, _id: -1 }).limit(limit).lean<OptOutDoc[]>();
  }

  /** Deletes these identities' documents (an erasure, once their keyed hashes hold the state). */
  async removeKeys(keys: string[]): Promise<number> {
    if (!keys.length) return 0;
    return (await this.optOuts.deleteMany({ clientId: this.clientId, key: { $in: keys } })).deletedCount;
  }

  /**
   * Rewrites one change of the audit trail without what named the candidate: its identities replaced
   * (by their keyed hashes), the wamid and the free-text reason dropped, and the dedupe key (which
   * may hold a wamid) replaced by one made of the record's own id. Idempotent.
   */
  async anonymiseChange(id: Types.ObjectId, keys: string[]): Promise<void> {
    await this.changes.updateOne(
      { clientId: this.clientId, _id: id },
      { $set: { keys, wamid: null, reason: null, dedupeKey: `erased:${id.toHexString()}` } },
    );
  }

  /** The latest changes that concern any of these identities, newest first. */
  async changesOf(keys: string[], limit = 50): Promise<OptOutChangeDoc[]> {
    if (!keys.length) return [];
    return this.changes
      .find({ clientId: this.clientId, keys: { $in: keys } })
      .sort({ at: -1, _id: -1 })
      .limit(limit)
      .lean<OptOutChangeDoc[]>();
  }
}

/**
 * The register's documents and audit records naming any of these identities in any of these tenants
 * (what an erasure must rewrite), read in one query each.
 */
export async function optOutRecordsNaming(
  optOuts: Model<OptOutDoc>,
  changes: Model<OptOutChangeDoc>,
  clientIds: Types.ObjectId[],
  keys: string[],
): Promise<{ docs: OptOutDoc[]; changes: OptOutChangeDoc[] }> {
  if (!keys.length || !clientIds.length) return { docs: [], changes: [] };
  const [docs, trail] = await Promise.all([
    optOuts.find({ clientId: { $in: clientIds }, key: { $in: keys } }).lean<OptOutDoc[]>(),
    changes.find({ clientId: { $in: clientIds }, keys: { $in: keys } }).lean<OptOutChangeDoc[]>(),
  ]);
  return { docs, changes: trail };
}

/** Every identity's register document of every tenant, for the send state's rebuild (a cursor: the register may be large). */
export function everyOptOut(optOuts: Model<OptOutDoc>) {
  return optOuts
    .find({}, { clientId: 1, key: 1, marketing: 1, all: 1 })
    .lean<Array<Pick<OptOutDoc, "_id" | "clientId" | "key" | "marketing" | "all">>>()
    .cursor();
}
