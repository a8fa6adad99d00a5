import { Queue, Worker, type Job } from "bullmq";
import type { RedisClient } from "@linkojob/queues";
import type { Logger } from "pino";
import type { Database } from "@linkojob/db";
import type { DashboardEvents } from "@linkojob/events";
import { UPKEEP_JOBS, UPKEEP_QUEUE } from "@linkojob/queues";
import type { ClientStatusAnnouncer } from "@linkojob/outbound";
import type { RetentionPurge } from "@linkojob/privacy";

export interface UpkeepDeps {
  db: Database;
  redis: RedisClient;
  events: DashboardEvents;
  announcer: ClientStatusAnnouncer;
  logger: Logger;
  prefix: string;
  /** Statuses whose message never appeared are dropped after this long. Default 7 days (Meta's retry horizon). */
  pendingStatusMaxAgeMs?: number;
  /** The retention purge of personal data (RETENTION_*); none: not scheduled. */
  retention?: RetentionPurge;
  /** How often the retention purge runs (RETENTION_PURGE_EVERY_MS). Default daily. */
  retentionEveryMs?: number;
}

/**
 * Scheduled upkeep, run by BullMQ job schedulers so that exactly one worker runs each occurrence
 * however many processes there are: the token-expiry sweep (every 6 h) and the purge of pending
 * statuses (daily; FerretDB has no TTL indexes, so expiry is a scheduled delete) and the retention
 * purge of personal data (daily by default), each visible in Bull Board's `upkeep` queue.
 */
export class Upkeep {
  readonly queue: Queue;
  private worker: Worker | null = null;
  private closing: Promise<void> | null = null;
  /** Aborted on close: a running retention purge stops between two batches (the next run continues). */
  private readonly stopping = new AbortController();

  constructor(private readonly deps: UpkeepDeps) {
    this.queue = new Queue(UPKEEP_QUEUE, { connection: deps.redis, prefix: deps.prefix });
  }

  async start(): Promise<void> {
    await this.queue.upsertJobScheduler(
      UPKEEP_JOBS.tokenExpirySweep,
      { every: 6 * 3_600_000 },
      { name: UPKEEP_JOBS.tokenExpirySweep },
    );
    await this.queue.upsertJobScheduler(
      UPKEEP_JOBS.purgePendingStatuses,
      { every: 24 * 3_600_000 },
      { name: UPKEEP_JOBS.purgePendingStatuses },
    );
    if (this.deps.retention)
      await this.queue.upsertJobScheduler(
        UPKEEP_JOBS.retentionPurge,
        { every: this.deps.retentionEveryMs ?? 24 * 3_600_000 },
        { name: UPKEEP_JOBS.retentionPurge },
      );
    else await this.queue.removeJobScheduler(UPKEEP_JOBS.retentionPurge);
    this.worker = new Worker(UPKEEP_QUEUE, (job) => this.run(job), {
      connection: this.deps.redis,
      prefix: this.deps.prefix,
      concurrency: 1,
    });
    this.worker.on("error", (err) => this.deps.logger.error({ err }, "upkeep worker error"));
  }

  async run(job: Pick<Job, "name">): Promise<unknown> {
    switch (job.name) {
      case UPKEEP_JOBS.tokenExpirySweep: {
        // Expired tokens → reauth_required, announced; tokens expiring soon → one warning event each.
        const sweep = await this.deps.announcer.sweepTokenExpiry();
        return { expired: sweep.expired.length, warned: sweep.warnings.length };
      }
      case UPKEEP_JOBS.purgePendingStatuses: {
        const before = new Date(Date.now() - (this.deps.pendingStatusMaxAgeMs ?? 7 * 86_400_000));
        return { purged: await this.deps.db.messageStore.purgePendingStatuses(before) };
      }
      case UPKEEP_JOBS.retentionPurge:
        // Its result (counts by collection) is what Bull Board shows of the run.
        return this.deps.retention ? this.deps.retention.run({ signal: this.stopping.signal }) : null;
      default:
        return null;
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping.abort();
      await this.worker?.close();
      await this.queue.close();
    })();
    return this.closing;
  }
}
