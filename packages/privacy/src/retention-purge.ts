import type { Types } from "mongoose";
import type { Database } from "@linkojob/db";
import type { DashboardEvents } from "@linkojob/events";
import type { RedisClient } from "@linkojob/queues";
import {
  deleteConversation,
  deleteMediaFiles,
  fileIdsIn,
  keepCostRows,
  yieldToLiveTraffic,
} from "./conversation-removal.js";
import { effectiveRetention, type RetentionOverrides } from "./tenant-retention.js";

/** How long personal data is kept by default (RETENTION_* of the inbound worker); null: never deleted. */
export interface RetentionPolicy {
  /** Raw webhook records (webhook_events other than dead letters). Default 30 days. */
  webhookEventsDays: number | null;
  /** Dead letters (a whole delivery's body). Default 90 days. */
  deadLettersDays: number | null;
  /** Conversations, their messages and media, counted from the conversation's last message. Default 24 months. */
  messagesMonths: number | null;
}

export const DEFAULT_RETENTION: RetentionPolicy = { webhookEventsDays: 30, deadLettersDays: 90, messagesMonths: 24 };

export interface RetentionPurgeDeps {
  db: Database;
  events: DashboardEvents;
  /** Announces deleted conversations to the processes that cache them. */
  redis: RedisClient;
  policy?: RetentionPolicy;
  /** Documents deleted per request. Default 500. */
  batchSize?: number;
  /** Pause between two batches, after yielding the event loop (ms). Default 25. */
  pauseMs?: number;
  /** Told after each batch: lj_purged_total{collection}. */
  onPurged?: (collection: string, count: number) => void;
  /** The clock. Default Date.now. */
  now?: () => number;
}

const DAY_MS = 86_400_000;

/** `months` calendar months before `now` (UTC). */
function monthsBefore(now: number, months: number): Date {
  const d = new Date(now);
  d.setUTCMonth(d.getUTCMonth() - months);
  return d;
}

/**
 * The retention purge, run by the upkeep queue's job scheduler (one run at a time across every worker
 * process): deletes webhook records and dead letters past their age, and conversations whose last
 * message is older than their tenant's retention with their messages and media (cost rows kept
 * anonymised), in bounded batches, yielding to live work between batches. FerretDB has no TTL
 * indexes and MongoDB's would delete without bound or metrics: expiry is this scheduled delete.
 */
export class RetentionPurge {
  private readonly batch: number;
  private readonly policy: RetentionPolicy;

  constructor(private readonly deps: RetentionPurgeDeps) {
    this.batch = deps.batchSize ?? 500;
    this.policy = deps.policy ?? DEFAULT_RETENTION;
  }

  async run(): Promise<Record<string, number>> {
    const now = (this.deps.now ?? Date.now)();
    const db = this.deps.db;
    const purged: Record<string, number> = {};
    const add = (collection: string, n: number) => {
      purged[collection] = (purged[collection] ?? 0) + n;
      if (n > 0) this.deps.onPurged?.(collection, n);
    };
    // Tenants with their own retention (PUT /api/clients/:clientId/retention), then every other one
    // (and records of no tenant: unrouted deliveries) with the defaults.
    const own = await db.clients
      .find({ retention: { $type: "object" } }, { _id: 1, retention: 1 })
      .lean<Array<{ _id: Types.ObjectId; retention: RetentionOverrides }>>();
    const scopes: Array<{ filter: Record<string, unknown>; policy: RetentionPolicy }> = [
      ...own.map((c) => ({ filter: { clientId: c._id }, policy: effectiveRetention(this.policy, c.retention) })),
      { filter: own.length ? { clientId: { $nin: own.map((c) => c._id) } } : {}, policy: this.policy },
    ];
    for (const { filter, policy } of scopes) {
      if (policy.webhookEventsDays !== null)
        add(
          "webhook_events",
          await this.deleteInBatches(db.webhookEvents, {
            ...filter,
            kind: { $ne: "dead_letter" },
            createdAt: { $lt: new Date(now - policy.webhookEventsDays * DAY_MS) },
          }),
        );
      if (policy.deadLettersDays !== null)
        add(
          "dead_letters",
          await this.deleteInBatches(db.webhookEvents, {
            ...filter,
            kind: "dead_letter",
            createdAt: { $lt: new Date(now - policy.deadLettersDays * DAY_MS) },
          }),
        );
      if (policy.messagesMonths !== null) {
        const res = await this.purgeConversations(filter, monthsBefore(now, policy.messagesMonths));
        for (const [k, n] of Object.entries(res)) add(k, n);
      }
    }
    return purged;
  }

  /** Deletes what `filter` finds, `batch` ids at a time, yielding and pausing between batches. */
  private async deleteInBatches(model: Database["webhookEvents"], filter: Record<string, unknown>): Promise<number> {
    let removed = 0;
    for (;;) {
      const ids = (await model.find(filter, { _id: 1 }).limit(this.batch).lean()).map((d) => d._id);
      if (!ids.length) return removed;
      removed += (await model.deleteMany({ _id: { $in: ids } })).deletedCount;
      await this.breathe();
      if (ids.length < this.batch) return removed;
    }
  }

  /** Conversations whose last message (or, with none, their creation) is before `cutoff`, with messages and media. */
  private async purgeConversations(filter: Record<string, unknown>, cutoff: Date): Promise<Record<string, number>> {
    const db = this.deps.db;
    const out = { conversations: 0, messages: 0, media_files: 0, erased_costs: 0 };
    for (;;) {
      const convs = await db.conversations
        .find(
          {
            ...filter,
            $or: [{ lastMessageAt: { $lt: cutoff } }, { lastMessageAt: null, createdAt: { $lt: cutoff } }],
          },
          { _id: 1, clientId: 1 },
        )
        .limit(Math.max(1, Math.floor(this.batch / 50)))
        .lean();
      if (!convs.length) return out;
      for (const c of convs) {
        const msgs = await db.messages
          .find({ clientId: c.clientId, conversationId: c._id }, { _id: 1, media: 1, content: 1 })
          .lean();
        const files = new Map<string, Types.ObjectId>();
        for (const m of msgs) for (const id of fileIdsIn([m.media, m.content])) files.set(id.toHexString(), id);
        out.media_files += await deleteMediaFiles(db, files.values());
        out.erased_costs += await keepCostRows(
          db,
          msgs.map((m) => m._id),
          this.batch,
        );
        const res = await deleteConversation(db, this.deps.events, this.deps.redis, c, "retention", this.batch);
        out.messages += res.messages;
        out.conversations += res.conversations;
        await this.breathe();
      }
    }
  }

  private async breathe(): Promise<void> {
    await yieldToLiveTraffic();
    const pause = this.deps.pauseMs ?? 25;
    if (pause > 0) await new Promise((r) => setTimeout(r, pause));
  }
}
