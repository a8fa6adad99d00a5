import { createHash } from "node:crypto";
import { z } from "zod";
import type { JobsOptions } from "bullmq";

/**
 * The one catalog of queues, job names and payload schemas. Producers and consumers import these
 * symbols; consumers parse `job.data` with the schema at the boundary.
 */

/**
 * A MongoDB id in a job payload: 24 hex characters. (This package does not depend on @linkojob/db,
 * whose `objectIdSchema` is the same rule for request bodies.)
 */
const jobObjectId = z.string().regex(/^[0-9a-fA-F]{24}$/, "must be a 24-character hex ObjectId");

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
  /** Meta's X-Hub-Signature-256 of the body, kept for a dead letter's replay to check again (absent in older entries). */
  signature: z.string().optional(),
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
  // A database or network failure retries with capped backoff (1 s doubling up to 5 min, jittered):
  // 24 attempts span about an hour. Then, as for a deterministic failure at once, the inbound worker
  // records the delivery as a dead letter (webhook_events), replayable once the cause is fixed.
  attempts: 24,
  backoff: { type: "capped" },
  removeOnComplete: { age: 3_600, count: 20_000 },
  removeOnFail: { age: 7 * 24 * 3_600 },
};

/** Redis stream the ingress appends signed deliveries to (one XADD, acknowledged before the 200). */
export const ingressStreamKey = (prefix: string) => `${prefix}:ingress:webhooks`;
/** Consumer group of the pumps that move stream entries into the webhook queue. */
export const INGRESS_STREAM_GROUP = "pump";
/**
 * Redis stream the send API appends accepted sends to (one XADD, answered before the 202); the
 * outbound worker's pump moves them into the outbound queue (group INGRESS_STREAM_GROUP).
 */
export const sendStreamKey = (prefix: string) => `${prefix}:ingress:sends`;

// ---------------------------------------------------------------------------------------------
// Outbound sends
// ---------------------------------------------------------------------------------------------

/** Messages to send through Meta, one job per attempt chain of one stored outbound message. */
export const OUTBOUND_QUEUE = "outbound-sends";
export const OUTBOUND_SEND_JOB = "send";
/**
 * A send accepted by the API carries what was asked and what the API expected (`accepted`, parsed by
 * @linkojob/outbound's acceptedSendSchema): the worker stores the message under `messageId` from it,
 * so the API's path needs no MongoDB. Jobs of a stored message (a resume, a recovery, a fallback)
 * carry ids only. The token is decrypted by the worker at send time: nothing here is a secret.
 */
export const outboundJobSchema = z.object({
  clientId: jobObjectId,
  messageId: jobObjectId,
  /** The accepted request and the API's estimate; absent when the message is already stored. */
  accepted: z.record(z.string(), z.unknown()).optional(),
  /** Set once the worker has stored the accepted message (a later run of the job claims it instead). */
  stored: z.boolean().optional(),
  /** Pacing slot (ms since epoch) this job already reserved; set by the worker when it delays the job. */
  slotAt: z.number().optional(),
  /** How many times the worker re-checked a send whose answer it never got (see the worker README). */
  uncertainChecks: z.number().int().optional(),
  /**
   * An unanswered send waiting for the inbound pipeline to process the webhooks received up to this
   * time (ms since epoch, the end of its grace): its next runs ask Redis only, not MongoDB, until then.
   */
  backlogUntil: z.number().optional(),
  /** The unanswered call's `sendingSince` (ms since epoch), with backlogUntil: when the wait gives up. */
  uncertainSince: z.number().optional(),
  /**
   * Meta's id for this send, kept on the job when Meta accepted it but recording that failed (a
   * MongoDB error after the answer): the job's next run records it and never calls Meta again.
   */
  acceptedWamid: z.string().min(1).optional(),
});
export type OutboundJob = z.infer<typeof outboundJobSchema>;

/**
 * A campaign's sends: the same jobs as OUTBOUND_QUEUE's (same schema, ids and options), in a queue
 * of their own that each outbound worker consumes with a small concurrency of its own
 * (OUTBOUND_CAMPAIGN_CONCURRENCY): a 10,000-recipient campaign never takes the worker slots, nor
 * much of the database, that replies and single first contacts need.
 */
export const OUTBOUND_CAMPAIGN_QUEUE = "outbound-campaign-sends";

/**
 * A campaign's expansion: POST /api/campaigns stores the campaign and its recipients and adds ONE
 * job here; the outbound worker decides and queues its recipients on OUTBOUND_CAMPAIGN_QUEUE, a
 * chunk at a time, its cursor stored on the campaign (a retried job resumes where it stopped).
 */
export const CAMPAIGN_EXPANSION_QUEUE = "campaign-expansions";
export const CAMPAIGN_EXPANSION_JOB = "expand";
export const campaignExpansionJobSchema = z.object({
  clientId: jobObjectId,
  campaignId: jobObjectId,
});
export type CampaignExpansionJob = z.infer<typeof campaignExpansionJobSchema>;
/** One expansion job per campaign: a repeated POST (the same idempotencyKey) adds nothing new. */
export const campaignExpansionJobId = (campaignId: string) => `expand-${campaignId}`;
export const campaignExpansionJobOptions: JobsOptions = {
  // A Redis or MongoDB failure mid-expansion: retried (capped backoff, about an hour in all), resuming at the cursor.
  attempts: 16,
  backoff: { type: "capped" },
  removeOnComplete: { age: 24 * 3_600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3_600 },
};

/** Job id of a message's first enqueue: a repeated enqueue (idempotent request, recovery) is one job. */
export const outboundJobId = (messageId: string, suffix?: string) =>
  suffix ? `send-${messageId}-${suffix}` : `send-${messageId}`;

/**
 * Replies inside a conversation go before bulk first-contact templates (BullMQ: lower runs first).
 * `slotted`: a bulk send delayed to its pacing slot, once promoted, goes before bulk sends that have
 * not reserved one yet (their first run only reserves a slot); replies still go first.
 */
export const OUTBOUND_PRIORITY = { reply: 1, slotted: 5, bulk: 10 } as const;

export const outboundJobOptions: JobsOptions = {
  // Transient Meta failures (5xx, 131000, 131016, 130429, 131056…) retry with the error policy's
  // backoff (the worker's `graph` backoff strategy); the error policy's own caps end them sooner.
  attempts: 8,
  backoff: { type: "graph" },
  removeOnComplete: { age: 3_600, count: 50_000 },
  removeOnFail: { age: 7 * 24 * 3_600 },
};

/** Scheduled upkeep (token-expiry sweep, purge of statuses that never found their message). */
export const UPKEEP_QUEUE = "upkeep";
export const UPKEEP_JOBS = {
  tokenExpirySweep: "token-expiry-sweep",
  purgePendingStatuses: "purge-pending-statuses",
  /** Personal data past its retention (webhook bodies, dead letters, old conversations and their media). */
  retentionPurge: "retention-purge",
} as const;

// ---------------------------------------------------------------------------------------------
// Inbound media
// ---------------------------------------------------------------------------------------------

/**
 * Inbound media to fetch from Meta into GridFS, one job per stored media message. Ids only: the
 * worker reads the media id from the message and decrypts the tenant's token itself; Meta's
 * download URL (valid about 5 minutes) is fetched fresh by each attempt and never queued.
 */
export const MEDIA_FETCH_QUEUE = "media-fetch";
export const MEDIA_FETCH_JOB = "fetch";
export const mediaFetchJobSchema = z.object({
  clientId: jobObjectId,
  messageId: jobObjectId,
});
export type MediaFetchJob = z.infer<typeof mediaFetchJobSchema>;

/** One job per message: a redelivered webhook or a retried delivery job enqueues nothing new. */
export const mediaFetchJobId = (messageId: string, suffix?: string) =>
  suffix ? `media-${messageId}-${suffix}` : `media-${messageId}`;

export const mediaFetchJobOptions: JobsOptions = {
  // Transient failures (network, 5xx, expired URLs twice in a row) retry with the worker's `media`
  // backoff (capped exponential with jitter, base 2 s): 10 attempts span about 17 minutes. Media
  // ids live 7 days at Meta, so a longer outage is handled by the resume sweep, not by attempts.
  attempts: 10,
  backoff: { type: "media" },
  removeOnComplete: { age: 3_600, count: 20_000 },
  removeOnFail: { age: 7 * 24 * 3_600 },
};

/**
 * Scheduled template sync of every active client's WABA. A BullMQ job scheduler, so that one worker
 * runs each occurrence however many outbound processes there are (Meta allows ~200 management calls
 * per hour per WABA).
 */
export const TEMPLATE_SYNC_QUEUE = "template-sync";
export const TEMPLATE_SYNC_JOB = "sync-all";

// ---------------------------------------------------------------------------------------------
// Chat receipts: read receipts and the typing indicator
// ---------------------------------------------------------------------------------------------

/**
 * Marks a candidate's message read at Meta (blue ticks), optionally showing "typing…". Best effort:
 * a receipt that cannot be sent is dropped after a few attempts and never fails anything else.
 */
export const RECEIPT_QUEUE = "chat-receipts";
export const RECEIPT_JOB = "read";
export const receiptJobSchema = z.object({
  clientId: jobObjectId,
  /** The inbound message to mark read (its wamid). */
  wamid: z.string().min(1).max(512),
  /** Also show the typing indicator (up to 25 s or until our next message). */
  typing: z.boolean().default(false),
});
export type ReceiptJob = z.infer<typeof receiptJobSchema>;

/**
 * A job id standing for a wamid: its sha256 (128 bits in hex). A wamid encodes the candidate's phone
 * number (base64), and job ids are Redis key names, shown in Bull Board and logs: the same wamid
 * always gives the same id (deduplication unchanged), and the id says nothing of the number.
 */
export const wamidDigest = (wamid: string) => createHash("sha256").update(wamid).digest("hex").slice(0, 32);

/** One job per (message, kind): a repeated open or a retried request enqueues nothing new. */
export const receiptJobId = (wamid: string, typing: boolean, suffix?: string) =>
  `${typing ? "typing" : "read"}-${wamidDigest(wamid)}${suffix ? `-${suffix}` : ""}`;

export const receiptJobOptions: JobsOptions = {
  // A receipt is worth little a minute later: three quick attempts, then it is dropped.
  attempts: 3,
  backoff: { type: "fixed", delay: 2_000 },
  removeOnComplete: { age: 600, count: 10_000 },
  removeOnFail: { age: 24 * 3_600, count: 10_000 },
};

// ---------------------------------------------------------------------------------------------
// Personal data: a candidate's erasure, and the retention purge
// ---------------------------------------------------------------------------------------------

/**
 * One job per erasure request: its id only (the identifiers stay in MongoDB's `erasures` document,
 * never in Redis). Every step is idempotent and recorded, so a retry after a crash finishes it.
 */
export const ERASURE_QUEUE = "candidate-erasures";
export const ERASURE_JOB = "erase";
export const erasureJobSchema = z.object({ erasureId: jobObjectId });
export type ErasureJob = z.infer<typeof erasureJobSchema>;
export const erasureJobId = (erasureId: string) => `erase-${erasureId}`;

export const erasureJobOptions: JobsOptions = {
  // An erasure waits for deliveries naming the person that are still on their way (in the stream or
  // queued) and for their sends in flight: retried with capped backoff, 40 attempts span about 3 h.
  attempts: 40,
  backoff: { type: "capped" },
  removeOnComplete: { age: 24 * 3_600 },
  removeOnFail: { age: 30 * 24 * 3_600 },
};

// ---------------------------------------------------------------------------------------------
// Analytics
// ---------------------------------------------------------------------------------------------

/**
 * The analytics counters' share of a webhook batch: the ids of the messages it stored or whose
 * status it moved, projected into the counters by the inbound worker after the batch. Counting is
 * idempotent (each counter event names itself), so a job run twice, or a message in two jobs,
 * counts once. Off the webhook batch on purpose: a counter write that fails (MongoDB away, a lock
 * held) retries here and never holds up a message's storage or its dashboard event. Ids only.
 */
export const ANALYTICS_QUEUE = "analytics";
export const ANALYTICS_JOB = "project";
/** Most message references one job carries (a batch's are split into jobs of this size). */
export const ANALYTICS_REFS_PER_JOB = 1_000;
export const analyticsJobSchema = z.object({
  /**
   * [clientId, messageId] pairs, or [clientId, messageId, conversationId]: naming the conversation
   * lets the projector read the message with its conversation's context in one request.
   */
  refs: z
    .array(z.union([z.tuple([jobObjectId, jobObjectId, jobObjectId]), z.tuple([jobObjectId, jobObjectId])]))
    .min(1)
    .max(ANALYTICS_REFS_PER_JOB),
});
export type AnalyticsJob = z.infer<typeof analyticsJobSchema>;

export const analyticsJobOptions: JobsOptions = {
  // As the webhook deliveries: capped backoff, about an hour of attempts; a job still failing then
  // stays in the failed set (Bull Board), and `cli:rebuild-analytics` recomputes a tenant's counters.
  attempts: 24,
  backoff: { type: "capped" },
  removeOnComplete: { age: 600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3_600 },
};
