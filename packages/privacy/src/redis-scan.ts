import { Cluster } from "ioredis";
import type { Queue, JobType } from "bullmq";
import type { RedisClient } from "@linkojob/queues";

/** True when `text` holds one of `needles` (identifiers, wamids, our ids). */
export const namesAny = (text: string, needles: readonly string[]): boolean => needles.some((n) => text.includes(n));

/** Keys matching `pattern`, from every master of a Cluster (the deployment's keys share one slot). */
export async function scanKeys(redis: RedisClient, pattern: string, count = 500): Promise<string[]> {
  const nodes = redis instanceof Cluster ? redis.nodes("master") : [redis];
  const keys: string[] = [];
  for (const node of nodes) {
    let cursor = "0";
    do {
      const [next, batch] = await node.scan(cursor, "MATCH", pattern, "COUNT", count);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== "0");
  }
  return keys;
}

/**
 * Entries of a stream whose fields name one of `needles`, read in pages of `page` (XRANGE from the
 * oldest): their ids, for XDEL or to wait for.
 */
export async function streamEntriesNaming(
  redis: RedisClient,
  key: string,
  needles: readonly string[],
  page = 500,
): Promise<string[]> {
  const found: string[] = [];
  let start = "-";
  for (;;) {
    const entries = await redis.xrange(key, start, "+", "COUNT", page);
    for (const [id, fields] of entries) if (namesAny(fields.join("\n"), needles)) found.push(id);
    if (entries.length < page) return found;
    start = `(${entries[entries.length - 1]![0]}`;
  }
}

/** A job's state as BullMQ reports it in getJobs' types. */
const STATES: JobType[] = [
  "completed",
  "failed",
  "wait",
  "delayed",
  "prioritized",
  "paused",
  "active",
  "waiting-children",
];

/**
 * Jobs of a queue whose data, result, failure or stack trace names one of `needles`, by state, read
 * in pages of `page`. What a job holds of a person is all of these: a webhook job's body, a send's
 * request, a failure message quoting a wamid.
 */
export async function jobsNaming(
  queue: Queue,
  needles: readonly string[],
  page = 500,
): Promise<Array<{ id: string; state: JobType }>> {
  const found: Array<{ id: string; state: JobType }> = [];
  for (const state of STATES) {
    for (let start = 0; ; start += page) {
      const jobs = await queue.getJobs([state], start, start + page - 1, true);
      for (const job of jobs) {
        if (!job?.id) continue;
        const text = [
          job.id,
          JSON.stringify(job.data ?? null),
          JSON.stringify(job.returnvalue ?? null),
          job.failedReason ?? "",
          ...(job.stacktrace ?? []),
        ].join("\n");
        if (namesAny(text, needles)) found.push({ id: job.id, state });
      }
      if (jobs.length < page) break;
    }
  }
  return found;
}
