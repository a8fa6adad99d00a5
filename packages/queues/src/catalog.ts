import { z } from "zod";
import type { JobsOptions } from "bullmq";

/**
 * The one catalog of queues, job names and payload schemas. Producers and consumers import these
 * symbols; consumers parse `job.data` with the schema at the boundary.
 */

/** Webhook deliveries from Meta, moved here from the ingress stream by the inbound worker's pump. */
export const WEBHOOK_QUEUE = "webhook-deliveries";
export const WEBHOOK_JOB = "delivery";
export const webhookJobSchema = z.object({
  /** Id of the entry in the ingress stream; also the BullMQ job id, so a re-pumped entry is one job. */
  deliveryId: z.string(),
  /** When the ingress accepted it (ms since epoch). */
  receivedAt: z.number(),
  /** The raw JSON body exactly as Meta signed it. */
  body: z.string(),
});
export type WebhookJob = z.infer<typeof webhookJobSchema>;

/** Upper bound of the backoff: during a long outage a job is retried every five minutes. */
export const MAX_BACKOFF_MS = 5 * 60_000;

/**
 * Exponential backoff with full jitter, capped at MAX_BACKOFF_MS. Registered on workers as the
 * `capped` backoff strategy (BullMQ's own exponential has no cap: attempt 30 would wait 17 years).
 */
export function cappedBackoff(attemptsMade: number, baseMs = 1_000): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

export const webhookJobOptions: JobsOptions = {
  // Meta keeps retrying for 7 days what we do not acknowledge; once acknowledged, we keep trying
  // for as long: 2,100 attempts at most five minutes apart ≈ 7 days of MongoDB outage.
  attempts: 2_100,
  backoff: { type: "capped" },
  removeOnComplete: { age: 3_600, count: 20_000 },
  removeOnFail: { age: 7 * 24 * 3_600 },
};

/** Redis stream the ingress appends signed deliveries to (one XADD, acknowledged before the 200). */
export const ingressStreamKey = (prefix: string) => `${prefix}:ingress:webhooks`;
/** Consumer group of the pumps that move stream entries into the webhook queue. */
export const INGRESS_STREAM_GROUP = "pump";
