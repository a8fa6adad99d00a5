import { Types, type Model } from "mongoose";
import type { NormalizedStatus } from "@linkojob/whatsapp";
import type { BulkWriter } from "../ferretdb-adapter.js";
import { distinctIds, isObjectIdString, oneOrIn } from "../ids.js";
import { statusRankOf, type MessageDoc, type PendingStatusDoc } from "./message.model.js";
import { failureOf, statusField, type StatusOutcome } from "./message-docs.js";

/** One delivery status reported for a tenant's message. */
export interface StatusItem {
  clientId: Types.ObjectId;
  status: NormalizedStatus;
}

type Target = NonNullable<StatusOutcome["message"]> & { clientId: Types.ObjectId; statusRank?: number };

const TARGET_FIELDS = {
  _id: 1,
  clientId: 1,
  conversationId: 1,
  wamid: 1,
  status: 1,
  statusRank: 1,
  error: 1,
  pricing: 1,
  statusAt: 1,
  campaignId: 1,
} as const;
const key = (clientId: Types.ObjectId, wamid: string) => `${clientId.toHexString()}|${wamid}`;

/** Records when a status was reported (the first report wins) and its pricing. */
function recordOp(clientId: Types.ObjectId, id: Types.ObjectId, s: NormalizedStatus, now: Date) {
  return {
    updateOne: {
      filter: { _id: id, clientId },
      update: {
        $min: { [statusField(s.status)]: s.timestamp },
        $set: { updatedAt: now, ...(s.pricing ? { pricing: s.pricing } : {}) },
      },
    },
  };
}

/**
 * Delivery statuses of many tenants, applied a batch at a time with the same rules as
 * TenantMessages.applyStatus: statuses only move forward (STATUS_RANK), each status keeps the
 * first time it was reported, a status for a message not stored yet waits in pending_statuses.
 * Requests per batch: one find of the targets, one bulkWrite, one find of what they became; two
 * more when some targets are unknown (the pending insert and its re-check), and one update per
 * status matched only through biz_opaque_callback_data (a lost send response). Each find is a
 * lookup by several values (BulkWriter.findEach: on FerretDB one equality find per wamid, or per
 * message read back, since its `$in` and `$or` read the whole tenant or the whole collection), and
 * so is the delete of the pending statuses that found their message (BulkWriter.deleteEach).
 */
export class StatusBatch {
  constructor(
    private readonly model: Model<MessageDoc>,
    private readonly pending: Model<PendingStatusDoc>,
    /** The connection's batched-update writer (see ferretdb-adapter). */
    private readonly writer: BulkWriter,
  ) {}

  /** Returns one outcome per item, in order. */
  async apply(items: StatusItem[], now = new Date()): Promise<StatusOutcome[]> {
    if (!items.length) return [];
    const targets = await this.findTargets(items);

    // The send's response was lost (or not processed yet): link the wamid through our own id. No
    // projection: FerretDB v1's findAndModify does not take one (the whole message is returned).
    for (const { clientId, status: s } of items) {
      if (targets.has(key(clientId, s.wamid)) || !s.bizOpaqueCallbackData || !isObjectIdString(s.bizOpaqueCallbackData))
        continue;
      const linked = await this.model
        .findOneAndUpdate(
          { clientId, _id: new Types.ObjectId(s.bizOpaqueCallbackData), direction: "outbound", wamid: null },
          { $set: { wamid: s.wamid } },
          { new: true },
        )
        .lean<Target>();
      if (linked) targets.set(key(clientId, s.wamid), linked);
    }

    const unknown = items.filter((i) => !targets.has(key(i.clientId, i.status.wamid)));
    if (unknown.length) await this.park(unknown, targets);

    // Forward-only writes, in order. Which statuses move a message is known from the rank read above:
    // each of those is one write that records its time and moves the message, filtered on the rank
    // (if another writer moved the message further meanwhile, it matches nothing and its time is
    // recorded below, once the result is read). Any other status only records its time ($min), and
    // the same report twice records nothing new.
    const rankNow = new Map<string, number>();
    const recorded = new Set<string>();
    const groups = new Map<string, unknown[]>();
    const applied: boolean[] = [];
    const moves: Array<{ clientId: Types.ObjectId; id: Types.ObjectId; s: NormalizedStatus }> = [];
    for (const { clientId, status: s } of items) {
      const t = targets.get(key(clientId, s.wamid));
      if (!t) {
        applied.push(false);
        continue;
      }
      const k = t._id.toHexString();
      const ops = groups.get(k) ?? [];
      groups.set(k, ops);
      const rank = statusRankOf(s.status);
      const before = rankNow.get(k) ?? t.statusRank ?? -1;
      const report = `${k}|${s.status}|${s.timestamp.getTime()}`;
      if (rank !== undefined && rank > before) {
        const set: Record<string, unknown> = {
          status: s.status,
          statusRank: rank,
          updatedAt: now,
          ...(s.pricing ? { pricing: s.pricing } : {}),
        };
        if (s.status === "failed") set.error = failureOf(s);
        ops.push({
          updateOne: {
            filter: { _id: t._id, clientId, statusRank: { $lt: rank } },
            update: { $min: { [statusField(s.status)]: s.timestamp }, $set: set },
          },
        });
        moves.push({ clientId, id: t._id, s });
        recorded.add(report);
        applied.push(true);
        rankNow.set(k, rank);
        continue;
      }
      if (s.pricing || !recorded.has(report)) ops.push(recordOp(clientId, t._id, s, now));
      recorded.add(report);
      applied.push(false);
    }
    await this.writer.writeGroups(this.model.collection, [...groups.values()]);

    const touched = [...new Map([...targets.values()].map((t) => [t._id.toHexString(), t])).values()];
    const current = new Map((await this.readBack(touched)).map((m) => [m._id.toHexString(), m]));

    // A move that matched nothing (the message went further meanwhile) still records its time.
    const missed = moves.filter(({ id, s }) => {
      const m = current.get(id.toHexString());
      const at = m?.statusAt?.[statusField(s.status).slice("statusAt.".length)];
      return !at || new Date(at).getTime() > s.timestamp.getTime() || (s.pricing && !m?.pricing);
    });
    if (missed.length) {
      await this.writer.writeGroups(
        this.model.collection,
        missed.map(({ clientId, id, s }) => [recordOp(clientId, id, s, now)]),
      );
      const again = new Map(missed.map((x) => [x.id.toHexString(), { _id: x.id, clientId: x.clientId }]));
      for (const m of await this.readBack([...again.values()])) current.set(m._id.toHexString(), m);
    }

    return items.map(({ clientId, status: s }, i) => {
      const t = targets.get(key(clientId, s.wamid));
      if (!t) return { outcome: "pending" };
      const message = current.get(t._id.toHexString()) ?? t;
      const { clientId: _c, statusRank: _r, ...shown } = message;
      return { outcome: applied[i] ? "applied" : "recorded", message: shown };
    });
  }

  private async findTargets(items: StatusItem[]): Promise<Map<string, Target>> {
    const byClient = new Map<string, { clientId: Types.ObjectId; wamids: Set<string> }>();
    for (const { clientId, status } of items) {
      const entry = byClient.get(clientId.toHexString()) ?? { clientId, wamids: new Set<string>() };
      entry.wamids.add(status.wamid);
      byClient.set(clientId.toHexString(), entry);
    }
    // MongoDB: one find, a tenant's wamids by `$in` (an `$or` of tenants for a batch mixing them).
    // FerretDB: one equality find per wamid (see BulkWriter.findEach).
    const perClient = [...byClient.values()].map((c) => ({ clientId: c.clientId, wamid: oneOrIn([...c.wamids]) }));
    const filter = perClient.length === 1 ? perClient[0]! : { $or: perClient };
    const clauses = [...byClient.values()].flatMap((c) =>
      [...c.wamids].map((wamid) => ({ clientId: c.clientId, wamid })),
    );
    const found = await this.writer.findEach<Target>(this.model.collection, filter, clauses, {
      projection: TARGET_FIELDS,
    });
    return new Map(found.map((m) => [key(m.clientId, m.wamid!), m]));
  }

  /** What these messages became (each named with its tenant): one find on MongoDB, one per message on FerretDB. */
  private async readBack(messages: Array<{ _id: Types.ObjectId; clientId: Types.ObjectId }>): Promise<Target[]> {
    if (!messages.length) return [];
    const filter = {
      _id: oneOrIn(messages.map((m) => m._id)),
      clientId: oneOrIn(distinctIds(messages.map((m) => m.clientId))),
    };
    const clauses = messages.map((m) => ({ _id: m._id, clientId: m.clientId }));
    return this.writer.findEach<Target>(this.model.collection, filter, clauses, { projection: TARGET_FIELDS });
  }

  /**
   * Keeps statuses of unknown messages until they appear (TenantMessages.applyPendingFor), then
   * looks once more: whoever writes second (this, or applyPendingFor after the message's write)
   * sees the other. Statuses whose message appeared meanwhile leave pending and apply now.
   */
  private async park(unknown: StatusItem[], targets: Map<string, Target>): Promise<void> {
    const docs = unknown.map(({ clientId, status: s }) => ({
      _id: new Types.ObjectId(),
      clientId,
      wamid: s.wamid,
      status: s.status,
      bizOpaqueCallbackData: s.bizOpaqueCallbackData ?? null,
      payload: s,
      createdAt: new Date(),
    }));
    try {
      await this.pending.collection.insertMany(docs, { ordered: false });
    } catch (err) {
      // The same status redelivered is already waiting (duplicate key); anything else is a failure.
      const e = err as { writeErrors?: unknown };
      const writeErrors = (
        Array.isArray(e.writeErrors) ? e.writeErrors : e.writeErrors ? [e.writeErrors] : []
      ) as Array<{ code?: number }>;
      if (!writeErrors.length || writeErrors.some((w) => w.code !== 11000)) throw err;
    }
    const appeared = await this.findTargets(unknown);
    if (!appeared.size) return;
    for (const [k, t] of appeared) targets.set(k, t);
    const done = unknown.filter((u) => appeared.has(key(u.clientId, u.status.wamid)));
    const gone = done.map((u) => ({ clientId: u.clientId, wamid: u.status.wamid, status: u.status.status }));
    await this.writer.deleteEach(this.pending.collection, gone.length === 1 ? gone[0]! : { $or: gone }, gone);
  }
}
