import type { Logger } from "pino";
import { updateLimits, type AnalyticsProjector, type Database } from "@linkojob/db";
import { RedisLockSet, type RedisClient } from "@linkojob/queues";

/** How long a batch may hold its counter documents' locks (a crashed holder's expire by themselves). */
const COUNTER_LOCK_TTL_MS = 30_000;
/** How long a batch waits for counter documents another process is writing before it fails (and retries). */
const COUNTER_LOCK_WAIT_MS = 20_000;

/**
 * The analytics projector of a worker process: counter documents are written under Redis locks
 * (RedisLockSet, one per counter document, taken all at once), so that two processes never update
 * one document at the same time (FerretDB v1 loses one of two such updates; on MongoDB they only
 * serialise a tenant's day's counters for the duration of one write). The limits of the server's
 * update commands are asked once.
 */
export async function workerAnalytics(
  db: Database,
  redis: RedisClient,
  prefix: string,
  logger: Pick<Logger, "warn">,
): Promise<AnalyticsProjector> {
  const locks = new RedisLockSet(redis);
  return db.analytics({
    updateLimits: await updateLimits(db.connection),
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

/** The analytics projector asked for lazily (the first batch waits for the server's limits), retried after a failure. */
export function lazyWorkerAnalytics(
  db: Database,
  redis: RedisClient,
  prefix: string,
  logger: Pick<Logger, "warn">,
): () => Promise<AnalyticsProjector> {
  let projector: Promise<AnalyticsProjector> | null = null;
  return () => {
    projector ??= workerAnalytics(db, redis, prefix, logger).catch((err: unknown) => {
      projector = null;
      throw err;
    });
    return projector;
  };
}
