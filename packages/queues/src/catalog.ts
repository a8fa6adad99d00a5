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

export const webhookJobOptions: JobsOptions = {
  // MongoDB down for a while must not lose a delivery: ~30 attempts spread over many hours.
  attempts: 30,
  backoff: { type: "exponential", delay: 1_000 },
  removeOnComplete: { age: 3_600, count: 20_000 },
  removeOnFail: { age: 7 * 24 * 3_600 },
};

/** Upper bound of the exponential backoff above, so that a long outage retries every few minutes. */
export const MAX_BACKOFF_MS = 5 * 60_000;

/** Redis stream the ingress appends signed deliveries to (one XADD, acknowledged before the 200). */
export const ingressStreamKey = (prefix: string) => `${prefix}:ingress:webhooks`;
/** Consumer group of the pumps that move stream entries into the webhook queue. */
export const INGRESS_STREAM_GROUP = "pump";
