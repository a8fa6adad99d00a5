import { Queue } from "bullmq";
import type { RedisClient } from "@linkojob/queues";
import * as catalog from "@linkojob/queues";

/**
 * Every queue name of the catalog: each export named `*_QUEUE`, so a queue added to
 * packages/queues shows up in Bull Board and /metrics without a change here.
 */
export const catalogQueueNames = (): string[] =>
  Object.entries(catalog)
    .filter(([name, value]) => name.endsWith("_QUEUE") && typeof value === "string")
    .map(([, value]) => value as string)
    .sort();

/** Producer-side handles of every catalog queue (no worker), for Bull Board and queue metrics. Close them. */
export const openCatalogQueues = (redis: RedisClient, prefix: string): Queue[] =>
  catalogQueueNames().map((name) => new Queue(name, { connection: redis, prefix }));
