import type { Types } from "mongoose";
import type { Database } from "@linkojob/db";
import { GroupCommit } from "@linkojob/outbound";

/**
 * Statuses that arrived before their message had a wamid wait in `pending_statuses` (without our id
 * in biz_opaque_callback_data they cannot be linked by it). After a send's `sent` write, its wamid is
 * looked up there; the lookups of concurrent sends go together in one lookup (group commit, made
 * after every write of the group, so a status saved before any of those writes is seen). Only the
 * wamids found cost more (the tenant messages' applyPendingFor). A status saved after our write finds
 * the message itself (applyStatus looks again after saving).
 */
export class PendingStatusCheck {
  private readonly batch: GroupCommit<{ clientId: Types.ObjectId; wamid: string }>;
  /** Keys (`clientId|wamid`) whose waiting statuses a check applied, until their `add` returns. */
  private readonly applied = new Set<string>();

  constructor(private readonly db: Database) {
    // 20 ms of company: the lookups of the sends finishing meanwhile share one request.
    this.batch = new GroupCommit((items) => this.check(items), 500, 20);
  }

  /** Applies the statuses waiting for this wamid; true when there were some. */
  async add(item: { clientId: Types.ObjectId; wamid: string }): Promise<boolean> {
    await this.batch.add(item);
    return this.applied.delete(`${item.clientId.toHexString()}|${item.wamid}`);
  }

  private async check(items: Array<{ clientId: Types.ObjectId; wamid: string }>): Promise<void> {
    const byClient = new Map<string, { clientId: Types.ObjectId; wamids: string[] }>();
    for (const i of items) {
      const e = byClient.get(i.clientId.toHexString()) ?? { clientId: i.clientId, wamids: [] };
      e.wamids.push(i.wamid);
      byClient.set(i.clientId.toHexString(), e);
    }
    // MongoDB: one find (a client's wamids by `$in`, an `$or` of clients). FerretDB v1 hands its
    // storage only top-level equalities (an `$in` reads the client's waiting statuses, an `$or` all
    // of them): one equality find per wamid there (BulkWriter.findEach).
    const perClient = [...byClient.values()].map((e) => ({
      clientId: e.clientId,
      wamid: e.wamids.length === 1 ? e.wamids[0] : { $in: e.wamids },
    }));
    const found = await this.db.batchWriter.findEach<{ _id: unknown; clientId: Types.ObjectId; wamid: string }>(
      this.db.pendingStatuses.collection,
      perClient.length === 1 ? perClient[0]! : { $or: perClient },
      [...byClient.values()].flatMap((e) => [...new Set(e.wamids)].map((wamid) => ({ clientId: e.clientId, wamid }))),
      { projection: { clientId: 1, wamid: 1 } },
    );
    const done = new Set<string>();
    for (const p of found) {
      const key = `${p.clientId.toHexString()}|${p.wamid}`;
      if (done.has(key)) continue;
      done.add(key);
      await this.db.forTenant(p.clientId).messages.applyPendingFor(p.wamid);
      this.applied.add(key);
    }
  }
}

/**
 * Templates' `usageCount` / `lastUsedAt`: the uses of concurrent sends go together in one bulkWrite
 * (one `$inc` per template per group), written one group after the other.
 */
export class TemplateUsage {
  private readonly batch: GroupCommit<{ id: Types.ObjectId; at: Date }>;

  constructor(private readonly db: Database) {
    this.batch = new GroupCommit((items) => this.write(items), 500, 20);
  }

  add(use: { id: Types.ObjectId; at: Date }): Promise<void> {
    return this.batch.add(use);
  }

  private async write(items: Array<{ id: Types.ObjectId; at: Date }>): Promise<void> {
    const byTemplate = new Map<string, { id: Types.ObjectId; n: number; at: Date }>();
    for (const u of items) {
      const e = byTemplate.get(u.id.toHexString()) ?? { id: u.id, n: 0, at: u.at };
      e.n++;
      if (u.at > e.at) e.at = u.at;
      byTemplate.set(u.id.toHexString(), e);
    }
    await this.db.templates.collection.bulkWrite(
      [...byTemplate.values()].map((e) => ({
        updateOne: { filter: { _id: e.id }, update: { $inc: { usageCount: e.n }, $max: { lastUsedAt: e.at } } },
      })),
      { ordered: false },
    );
  }
}
