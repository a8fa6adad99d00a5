import { Types } from "mongoose";
import { mediaBucket, type Database } from "@linkojob/db";
import { CONVERSATIONS_DELETED_CHANNEL, EVENTS, type DashboardEvents } from "@linkojob/events";
import type { RedisClient } from "@linkojob/queues";

/** Lets the event loop serve live work between two batches. */
export const yieldToLiveTraffic = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What an outbound message holds of its price (the fields erased_costs keeps). */
interface CostRow {
  _id: Types.ObjectId;
  clientId: Types.ObjectId;
  createdAt: Date;
  status: string;
  cost?: unknown;
  costExpected?: unknown;
  costCategory?: string | null;
  costSource?: string | null;
  kind?: string | null;
}

/**
 * Keeps the prices of these messages' outbound ones, anonymised, in erased_costs (price, category,
 * kind, status, time; under the message's id, so a retry records each once): the tenant's cost totals
 * survive the deletion of the messages. Returns how many rows were added. `scope` (the messages'
 * conversation) narrows the read by equality: FerretDB pushes equality filters down to PostgreSQL's
 * indexes, not `$in`, which it evaluates over every document of the collection.
 */
export async function keepCostRows(
  db: Database,
  messageIds: Types.ObjectId[],
  batch = 200,
  scope: { clientId: Types.ObjectId; conversationId: Types.ObjectId } | Record<string, never> = {},
): Promise<number> {
  let kept = 0;
  for (let i = 0; i < messageIds.length; i += batch) {
    const rows = (await db.messages.collection
      .find(
        { ...scope, _id: { $in: messageIds.slice(i, i + batch) }, direction: "outbound" },
        {
          projection: {
            clientId: 1,
            createdAt: 1,
            status: 1,
            cost: 1,
            costExpected: 1,
            costCategory: 1,
            costSource: 1,
            kind: 1,
          },
        },
      )
      .toArray()) as unknown as CostRow[];
    if (!rows.length) continue;
    const res = await db.erasedCosts.collection.bulkWrite(
      rows.map((r) => ({
        updateOne: {
          filter: { _id: r._id },
          update: {
            $setOnInsert: {
              clientId: r.clientId,
              createdAt: r.createdAt,
              status: r.status,
              cost: typeof r.cost === "number" ? r.cost : null,
              costExpected: typeof r.costExpected === "number" ? r.costExpected : null,
              costCategory: r.costCategory ?? null,
              costSource: r.costSource ?? null,
              kind: r.kind ?? null,
            },
          },
          upsert: true,
        },
      })),
      { ordered: false },
    );
    kept += res.upsertedCount;
  }
  return kept;
}

/** Deletes GridFS files (chunks first, then the file); a file already gone counts 0. Returns how many existed. */
export async function deleteMediaFiles(db: Database, fileIds: Iterable<Types.ObjectId>): Promise<number> {
  const bucket = mediaBucket(db);
  const files = db.connection.collection("media.files");
  let removed = 0;
  for (const id of fileIds) {
    const existed = await files.countDocuments({ _id: id }, { limit: 1 });
    await bucket.delete(id).catch((err: unknown) => {
      if (!/not found|FileNotFound/i.test(String((err as Error)?.message))) throw err;
    });
    removed += existed;
  }
  return removed;
}

/** GridFS file ids held by a message (its media's copy, an outbound media's staged upload). */
export function fileIdsIn(values: unknown[]): Types.ObjectId[] {
  const out: Types.ObjectId[] = [];
  const visit = (v: unknown, depth: number) => {
    if (!v || typeof v !== "object" || depth > 5) return;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k === "fileId" && x) {
        const s = x instanceof Types.ObjectId ? x.toHexString() : typeof x === "string" ? x : "";
        if (/^[0-9a-f]{24}$/i.test(s)) out.push(new Types.ObjectId(s));
      } else if (typeof x === "object") visit(x, depth + 1);
    }
  };
  for (const v of values) visit(v, 0);
  return out;
}

/**
 * Deletes one conversation with its messages (in pages of `batch`, yielding between them), then
 * tells the tenant's dashboards (`conversation:deleted`) and every process that caches it
 * (CONVERSATIONS_DELETED_CHANNEL). Idempotent. Returns the counts.
 */
export async function deleteConversation(
  db: Database,
  events: DashboardEvents,
  redis: RedisClient,
  c: { _id: Types.ObjectId; clientId: Types.ObjectId },
  reason: "erasure" | "retention",
  batch = 200,
): Promise<{ messages: number; conversations: number }> {
  let messages = 0;
  for (;;) {
    const ids = (
      await db.messages.find({ clientId: c.clientId, conversationId: c._id }, { _id: 1 }).limit(batch).lean()
    ).map((m) => m._id);
    if (!ids.length) break;
    // The conversation's equality narrows the delete to its messages (FerretDB scans the whole
    // collection for an `$in` alone: the purge then held the database against live traffic).
    messages += await db.forTenant(c.clientId).messages.deleteOfConversation(c._id, ids);
    await yieldToLiveTraffic();
  }
  const deleted = await db.forTenant(c.clientId).conversations.delete(c._id);
  await redis.publish(
    CONVERSATIONS_DELETED_CHANNEL,
    JSON.stringify({ clientId: c.clientId.toHexString(), conversationIds: [c._id.toHexString()] }),
  );
  events.toClient(c.clientId.toHexString(), EVENTS.conversationDeleted, {
    clientId: c.clientId.toHexString(),
    conversationId: c._id.toHexString(),
    reason,
  });
  return { messages, conversations: deleted };
}
