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
  /** Documents deleted per request. Default 100 (shorter statements hold the database for less time). */
  batchSize?: number;
  /** Shortest pause between two batches, after yielding the event loop (ms). Default 25. */
  pauseMs?: number;
  /**
   * Pause after each batch as a multiple of the batch's own duration (when longer than pauseMs): on a
   * slow or busy database the purge slows down with it, and holds it at most 1 / (1 + factor) of the
   * time. Default 4 (a fifth).
   */
  pauseFactor?: number;
  /**
   * Live work waiting (the inbound worker: webhook deliveries not yet stored, sends queued): while it
   * is above 0 the purge waits before its next batch, up to maxYieldMs, so that live traffic has the
   * database first. None: no such wait.
   */
  liveBacklog?: () => Promise<number>;
  /**
   * Longest wait for live work before a batch, ms: under constant traffic the purge still deletes a
   * batch this often. Default 10,000 (e2e/bench/purge-impact.bench.ts: ingest p50 1.09x its baseline
   * against 2.92x with 2,000; README, "Personal data").
   */
  maxYieldMs?: number;
  /** Told what each collection lost, per tenant scope: lj_purged_total{collection}. */
  onPurged?: (collection: string, count: number) => void;
  /** The clock. Default Date.now. */
  now?: () => number;
}

const DAY_MS = 86_400_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
  /** Set while a run is going: it stops between two batches once aborted. */
  private signal: AbortSignal | null = null;

  constructor(private readonly deps: RetentionPurgeDeps) {
    this.batch = deps.batchSize ?? 100;
    this.policy = deps.policy ?? DEFAULT_RETENTION;
  }

  /**
   * One run over every tenant. With `signal` (the worker closing), it stops between two batches once
   * aborted and returns what it deleted so far, with `stoppedEarly: 1`; the next scheduled run
   * continues where it stopped.
   */
  async run(options: { signal?: AbortSignal } = {}): Promise<Record<string, number>> {
    this.signal = options.signal ?? null;
    try {
      return await this.runAll();
    } finally {
      this.signal = null;
    }
  }

  private get stopped(): boolean {
    return this.signal?.aborted === true;
  }

  private async runAll(): Promise<Record<string, number>> {
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
      if (this.stopped) break;
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
    // Said in the result (Bull Board shows it): this run was cut short, the next one continues.
    if (this.stopped) purged.stoppedEarly = 1;
    return purged;
  }

  /** Deletes what `filter` finds, `batch` ids at a time, yielding and pausing between batches. */
  private async deleteInBatches(model: Database["webhookEvents"], filter: Record<string, unknown>): Promise<number> {
    let removed = 0;
    while (!this.stopped) {
      const started = Date.now();
      const ids = (await model.find(filter, { _id: 1 }).limit(this.batch).lean()).map((d) => d._id);
      if (!ids.length) return removed;
      removed += (await model.deleteMany({ _id: { $in: ids } })).deletedCount;
      await this.breathe(started);
      if (ids.length < this.batch) return removed;
    }
    return removed;
  }

  /** Conversations whose last message (or, with none, their creation) is before `cutoff`, with messages and media. */
  private async purgeConversations(filter: Record<string, unknown>, cutoff: Date): Promise<Record<string, number>> {
    const db = this.deps.db;
    const out = { conversations: 0, messages: 0, media_files: 0, erased_costs: 0 };
    const expired = { $or: [{ lastMessageAt: { $lt: cutoff } }, { lastMessageAt: null, createdAt: { $lt: cutoff } }] };
    while (!this.stopped) {
      let started = Date.now();
      // Up to a batch of expired conversations per read: the range filter is a scan of the collection
      // on FerretDB (only equality is pushed down to PostgreSQL), so it is read once per `batch`
      // conversations, not once per two; each is checked again by id (pushed down) just before its
      // deletion, since a new message may have revived it meanwhile.
      const convs = await db.conversations
        .find({ ...filter, ...expired }, { _id: 1, clientId: 1 })
        .limit(this.batch)
        .lean();
      if (!convs.length) return out;
      for (const c of convs) {
        if (this.stopped) break;
        const still = await db.conversations.exists({ _id: c._id, clientId: c.clientId, ...expired });
        if (!still) continue;
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
          { clientId: c.clientId, conversationId: c._id },
        );
        const res = await deleteConversation(db, this.deps.events, this.deps.redis, c, "retention", this.batch);
        out.messages += res.messages;
        out.conversations += res.conversations;
        await this.breathe(started);
        started = Date.now();
      }
    }
    return out;
  }

  /**
   * Between two batches: the event loop first, then a pause proportional to the batch's own duration
   * (pauseFactor, at least pauseMs), then, while live work is waiting, up to maxYieldMs more.
   * Measured with e2e/bench/purge-impact.bench.ts (README, "Personal data").
   */
  private async breathe(batchStarted: number): Promise<void> {
    await yieldToLiveTraffic();
    const took = Date.now() - batchStarted;
    const pause = Math.max(this.deps.pauseMs ?? 25, Math.round(took * (this.deps.pauseFactor ?? 4)));
    if (pause > 0) await sleep(pause);
    const backlog = this.deps.liveBacklog;
    if (!backlog) return;
    const until = Date.now() + (this.deps.maxYieldMs ?? 10_000);
    // A backlog that cannot be read (Redis down) is no reason to stop or to hurry.
    while (!this.stopped && Date.now() < until && (await backlog().catch(() => 0)) > 0) await sleep(50);
  }
}
