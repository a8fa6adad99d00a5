import type { Model, Types } from "mongoose";
import { BulkWriter, chunks } from "../ferretdb-adapter.js";
import type { AnalyticsCounterDoc } from "./analytics.model.js";
import type { CounterEvent } from "./analytics-events.js";

/** Takes the named locks (counter document ids) until the returned release is called. */
export type LockCounters = (docIds: string[]) => Promise<() => Promise<void>>;

export const counterDocId = (clientId: Types.ObjectId, day: string, scope: string) =>
  `${clientId.toHexString()}|${day}|${scope}`;

export const isDuplicateKey = (err: unknown): boolean => {
  const e = err as { code?: number; writeErrors?: unknown };
  if (e.code === 11000) return true;
  const list = (Array.isArray(e.writeErrors) ? e.writeErrors : e.writeErrors ? [e.writeErrors] : []) as Array<{
    code?: number;
  }>;
  return list.length > 0 && list.every((w) => w.code === 11000);
};

/**
 * The analytics counters, written event by event exactly once. Each event names itself (see
 * analytics-events.ts); a counter document keeps the ids it counted in `seen`, and an increment is
 * one update filtered on its id's absence that also records it (an upsert: a document not there yet
 * is created with it). So a redelivered status, a retried batch or two workers projecting the same
 * message add nothing the second time, on MongoDB by the atomicity of one document's update.
 *
 * Requests: one update per counter document a batch touches when none of its events was counted
 * before (the common case: all of a document's events in one `$nin` filter), else one per event.
 * On FerretDB, which loses one of two concurrent updates of a document across connections, the
 * writes of a batch hold its documents' locks (`lock`: RedisLockSet in the workers), as the
 * conversation counters do.
 */
export class AnalyticsCounters {
  constructor(
    private readonly model: Model<AnalyticsCounterDoc>,
    private readonly opts: { lock?: LockCounters } = {},
    /** How many counter documents are written at once (the connection's, see ferretdb-adapter). */
    private readonly writer: BulkWriter = BulkWriter.mongodb,
  ) {}

  /** Counts each event once. Returns how many were new. */
  async record(items: Array<{ clientId: Types.ObjectId; event: CounterEvent }>): Promise<number> {
    const docs = new Map<
      string,
      { clientId: Types.ObjectId; day: string; scope: string; events: Map<string, CounterEvent> }
    >();
    for (const { clientId, event } of items) {
      const id = counterDocId(clientId, event.day, event.scope);
      const d = docs.get(id) ?? { clientId, day: event.day, scope: event.scope, events: new Map() };
      if (!d.events.has(event.id)) d.events.set(event.id, event);
      docs.set(id, d);
    }
    if (!docs.size) return 0;
    const ids = [...docs.keys()].sort();
    const release = await this.opts.lock?.(ids);
    try {
      let added = 0;
      const lanes = this.writer.lanes(ids);
      await Promise.all(
        lanes.map(async (lane) => {
          for (const id of lane) added += await this.writeDoc(id, docs.get(id)!);
        }),
      );
      return added;
    } finally {
      await release?.();
    }
  }

  private async writeDoc(
    _id: string,
    d: { clientId: Types.ObjectId; day: string; scope: string; events: Map<string, CounterEvent> },
  ): Promise<number> {
    const events = [...d.events.values()];
    const insert = { clientId: d.clientId, day: d.day, scope: d.scope };
    const incOf = (list: CounterEvent[]) => {
      const inc: Record<string, number> = {};
      for (const e of list) for (const [k, v] of Object.entries(e.inc)) inc[`c.${k}`] = (inc[`c.${k}`] ?? 0) + v;
      return inc;
    };
    // All new (the common case): one update.
    try {
      const res = await this.model.collection.updateOne(
        { _id, seen: { $nin: events.map((e) => e.id) } } as never,
        { $inc: incOf(events), $push: { seen: { $each: events.map((e) => e.id) } }, $setOnInsert: insert } as never,
        { upsert: true },
      );
      if (res.modifiedCount === 1 || res.upsertedCount === 1) return events.length;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    // Some were counted before: each one alone.
    let added = 0;
    for (const e of events) {
      try {
        const res = await this.model.collection.updateOne(
          { _id, seen: { $ne: e.id } } as never,
          { $inc: incOf([e]), $push: { seen: e.id }, $setOnInsert: insert } as never,
          { upsert: true },
        );
        if (res.modifiedCount === 1 || res.upsertedCount === 1) added++;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    }
    return added;
  }

  /** A tenant's counter documents of the days from..to (inclusive, `YYYY-MM-DD`), without their `seen` lists. */
  async read(clientId: Types.ObjectId, fromDay: string, toDay: string): Promise<AnalyticsCounterDoc[]> {
    return (
      (await this.model.collection
        // One batch: a year of a tenant's documents (a day × its templates and `all`) without a getMore.
        .find({ clientId, day: { $gte: fromDay, $lte: toDay } }, { projection: { seen: 0 }, batchSize: 10_000 })
        .toArray()) as unknown as AnalyticsCounterDoc[]
    );
  }

  /** Replaces a tenant's counters with documents built elsewhere (the rebuild). */
  async replace(clientId: Types.ObjectId, docs: AnalyticsCounterDoc[]): Promise<void> {
    await this.model.collection.deleteMany({ clientId });
    for (const part of chunks(docs, 200)) await this.model.collection.insertMany(part as never[], { ordered: false });
  }
}
