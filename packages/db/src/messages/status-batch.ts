import { Types, type Model } from "mongoose";
import type { NormalizedStatus } from "@linkojob/whatsapp";
import { MONGODB_UPDATE_LIMITS, bulkWriteGroups, type UpdateLimits } from "../ferretdb-adapter";
import { isObjectIdString } from "../ids";
import { STATUS_RANK, type MessageDoc, type PendingStatusDoc } from "./message.model";
import { failureOf, statusField, type StatusOutcome } from "./message.repository";

/** One delivery status reported for a tenant's message. */
export interface StatusItem {
  clientId: Types.ObjectId;
  status: NormalizedStatus;
}

type Target = NonNullable<StatusOutcome["message"]> & { clientId: Types.ObjectId; statusRank?: number };

const TARGET_FIELDS = { _id: 1, clientId: 1, conversationId: 1, wamid: 1, status: 1, statusRank: 1, error: 1, pricing: 1, statusAt: 1 } as const;
const key = (clientId: Types.ObjectId, wamid: string) => `${clientId.toHexString()}|${wamid}`;

/**
 * Delivery statuses of many tenants, applied a batch at a time with the same rules as
 * MessageRepository.applyStatus: statuses only move forward (STATUS_RANK), each status keeps the
 * first time it was reported, a status for a message not stored yet waits in pending_statuses.
 * Requests per batch: one find of the targets, one bulkWrite, one find of what they became; two
 * more when some targets are unknown (the pending insert and its re-check), and one update per
 * status matched only through biz_opaque_callback_data (a lost send response).
 */
export class StatusBatch {
  /** @param opts.updateLimits how update commands are cut (see ferretdb-adapter). Default: MongoDB's, one bulkWrite. */
  constructor(
    private readonly model: Model<MessageDoc>,
    private readonly pending: Model<PendingStatusDoc>,
    private readonly opts: { updateLimits?: UpdateLimits } = {},
  ) {}

  /** Returns one outcome per item, in order. */
  async apply(items: StatusItem[], now = new Date()): Promise<StatusOutcome[]> {
    if (!items.length) return [];
    const targets = await this.findTargets(items);

    // The send's response was lost (or not processed yet): link the wamid through our own id.
    for (const { clientId, status: s } of items) {
      if (targets.has(key(clientId, s.wamid)) || !s.bizOpaqueCallbackData || !isObjectIdString(s.bizOpaqueCallbackData)) continue;
      const linked = await this.model
        .findOneAndUpdate(
          { clientId, _id: new Types.ObjectId(s.bizOpaqueCallbackData), direction: "outbound", wamid: null },
          { $set: { wamid: s.wamid } },
          { new: true, projection: TARGET_FIELDS },
        )
        .lean<Target>();
      if (linked) targets.set(key(clientId, s.wamid), linked);
    }

    const unknown = items.filter((i) => !targets.has(key(i.clientId, i.status.wamid)));
    if (unknown.length) await this.park(unknown, targets);

    // Forward-only writes, in order; which ones move the message is known from the rank read above
    // (the filters make the writes right whatever another writer did meanwhile). A status at or below
    // a rank already reached cannot move the message, and the same report twice records nothing new:
    // neither is written.
    const rankNow = new Map<string, number>();
    const recorded = new Set<string>();
    const groups = new Map<string, unknown[]>();
    const applied: boolean[] = [];
    for (const { clientId, status: s } of items) {
      const t = targets.get(key(clientId, s.wamid));
      if (!t) {
        applied.push(false);
        continue;
      }
      const k = t._id.toHexString();
      const own = { _id: t._id, clientId };
      const ops = groups.get(k) ?? [];
      groups.set(k, ops);
      const report = `${k}|${s.status}|${s.timestamp.getTime()}`;
      if (s.pricing || !recorded.has(report)) {
        recorded.add(report);
        const record = { $min: { [statusField(s.status)]: s.timestamp }, $set: { updatedAt: now, ...(s.pricing ? { pricing: s.pricing } : {}) } };
        ops.push({ updateOne: { filter: own, update: record } });
      }
      const rank = (STATUS_RANK as Record<string, number | undefined>)[s.status];
      const before = rankNow.get(k) ?? t.statusRank ?? -1;
      if (rank === undefined || rank <= before) {
        applied.push(false);
        continue;
      }
      const set: Record<string, unknown> = { status: s.status, statusRank: rank };
      if (s.status === "failed") set.error = failureOf(s);
      ops.push({ updateOne: { filter: { ...own, statusRank: { $lt: rank } }, update: { $set: set } } });
      applied.push(true);
      rankNow.set(k, rank);
    }
    await bulkWriteGroups(this.model.collection, [...groups.values()], this.opts.updateLimits ?? MONGODB_UPDATE_LIMITS);

    const touched = [...new Map([...targets.values()].map((t) => [t._id.toHexString(), t._id])).values()];
    const after = touched.length
      ? await this.model
          .find({ _id: { $in: touched }, clientId: { $in: [...new Set(items.map((i) => i.clientId))] } }, TARGET_FIELDS, { batchSize: touched.length + 1 })
          .lean<Target[]>()
      : [];
    const current = new Map(after.map((m) => [m._id.toHexString(), m]));

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
    const found = await this.model
      .find({ $or: [...byClient.values()].map((c) => ({ clientId: c.clientId, wamid: { $in: [...c.wamids] } })) }, TARGET_FIELDS, { batchSize: items.length + 1 })
      .lean<Target[]>();
    return new Map(found.map((m) => [key(m.clientId, m.wamid!), m]));
  }

  /**
   * Keeps statuses of unknown messages until they appear (MessageRepository.applyPendingFor), then
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
      const writeErrors = (Array.isArray(e.writeErrors) ? e.writeErrors : e.writeErrors ? [e.writeErrors] : []) as Array<{ code?: number }>;
      if (!writeErrors.length || writeErrors.some((w) => w.code !== 11000)) throw err;
    }
    const appeared = await this.findTargets(unknown);
    if (!appeared.size) return;
    for (const [k, t] of appeared) targets.set(k, t);
    const done = unknown.filter((u) => appeared.has(key(u.clientId, u.status.wamid)));
    await this.pending.deleteMany({ $or: done.map((u) => ({ clientId: u.clientId, wamid: u.status.wamid, status: u.status.status })) });
  }
}
