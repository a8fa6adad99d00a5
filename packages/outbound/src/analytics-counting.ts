import type { Logger } from "pino";
import type { AnalyticsProjector, Database } from "@linkojob/db";
import { RedisLockSet, type RedisClient } from "@linkojob/queues";

/** How long a batch may hold its counter documents' locks (a crashed holder's expire by themselves). */
const COUNTER_LOCK_TTL_MS = 30_000;
/** How long a batch waits for counter documents another process is writing before it fails (and retries). */
const COUNTER_LOCK_WAIT_MS = 20_000;

/**
 * The analytics projector of a worker process: counter documents are written under Redis locks
 * (RedisLockSet, one per counter document, taken all at once), so that two processes never update
 * one document at the same time (FerretDB v1 loses one of two such updates; on MongoDB they only
 * serialise a tenant's day's counters for the duration of one write). How many counter documents
 * are written at once is the connection's (Database.batchWriter).
 */
export function workerAnalytics(
  db: Database,
  redis: RedisClient,
  prefix: string,
  logger: Pick<Logger, "warn">,
): AnalyticsProjector {
  const locks = new RedisLockSet(redis);
  return db.analytics({
    lock: async (ids) => {
      const held = await locks.acquire(
        ids.map((id) => `${prefix}:lock:analytics:${id}`),
        COUNTER_LOCK_TTL_MS,
        COUNTER_LOCK_WAIT_MS,
      );
      return () =>
        locks.release(held).then(
          () => undefined,
          (err: unknown) => logger.warn({ err }, "analytics counter locks not released; they expire by themselves"),
        );
    },
  });
}

/** The analytics projector, made on first use. */
export function lazyWorkerAnalytics(
  db: Database,
  redis: RedisClient,
  prefix: string,
  logger: Pick<Logger, "warn">,
): () => Promise<AnalyticsProjector> {
  let projector: AnalyticsProjector | null = null;
  return () => Promise.resolve((projector ??= workerAnalytics(db, redis, prefix, logger)));
}
