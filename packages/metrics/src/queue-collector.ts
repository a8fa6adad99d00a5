import type { Queue } from "bullmq";
import type { GatewayMetrics, QueueState } from "./gateway-metrics.js";

const STATES: QueueState[] = [
  "waiting",
  "active",
  "delayed",
  "prioritized",
  "waiting-children",
  "paused",
  "failed",
  "completed",
];
const UNFINISHED: QueueState[] = ["waiting", "prioritized", "delayed", "active", "waiting-children", "paused"];

/** A scrape never waits longer than this on Redis: a slow or absent Redis leaves the queue series out. */
const SCRAPE_TIMEOUT_MS = 2_000;

/**
 * Fills `lj_queue_jobs` and `lj_queue_depth` from BullMQ's getJobCounts of each queue when the
 * registry is scraped (nothing runs between scrapes). Both gauges share one read per scrape.
 */
export function collectQueueCounts(metrics: GatewayMetrics, queues: Array<Pick<Queue, "name" | "getJobCounts">>): void {
  let inFlight: Promise<void> | null = null;
  const readAll = async () => {
    const results = await Promise.all(
      queues.map(async (q) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<null>((resolve) => {
          timer = setTimeout(() => resolve(null), SCRAPE_TIMEOUT_MS);
        });
        try {
          return { name: q.name, counts: await Promise.race([q.getJobCounts(...STATES).catch(() => null), timeout]) };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    metrics.queueJobs.reset();
    metrics.queueDepth.reset();
    for (const { name, counts } of results) {
      if (!counts) continue;
      for (const state of STATES) metrics.queueJobs.set({ queue: name, state }, counts[state] ?? 0);
      metrics.queueDepth.set(
        { queue: name },
        UNFINISHED.reduce((sum, s) => sum + (counts[s] ?? 0), 0),
      );
    }
  };
  // prom-client calls every metric's collect concurrently: the first starts the read, the second joins it.
  const once = () => {
    inFlight ??= readAll().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
  for (const gauge of [metrics.queueJobs, metrics.queueDepth] as const) {
    (gauge as unknown as { collect: () => Promise<void> }).collect = once;
  }
}
