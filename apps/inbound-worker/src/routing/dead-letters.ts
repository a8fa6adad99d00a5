import { createHash } from "node:crypto";
import type { Queue } from "bullmq";
import { Types } from "mongoose";
import { isDuplicateKeyError, type Database, type DeadLetterError, type WebhookEventDoc } from "@linkojob/db";
import { WEBHOOK_JOB, webhookJobOptions, type WebhookJob } from "@linkojob/queues";
import { safeText, verifyWebhookSignature } from "@linkojob/whatsapp";
import type { FailureClass } from "./failure-class.js";

/** A body longer than this is kept cut (and cannot be replayed); MongoDB documents hold 16 MB. */
export const DEAD_LETTER_MAX_BODY_CHARS = 8 * 1024 * 1024;

/** What a dead letter keeps of its delivery, in a form every MongoDB accepts. */
export interface DeadLetterValue {
  /** The delivery's body as received: as is, or base64 of its UTF-8 when it holds NUL or lone surrogates. */
  body: string;
  bodyEncoding: "utf8" | "base64";
  bodyTruncated: boolean;
  /** When the ingress accepted the delivery (ms since epoch). */
  receivedAt: number;
  jobId: string;
  /** Meta's X-Hub-Signature-256 of the body: a replay checks it again. */
  signature?: string;
}

/** The job id of a dead letter's replay: one replay job per dead letter, however often the command runs. */
export const replayJobId = (deadLetterId: string) => `replay-${deadLetterId}`;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function storableBody(body: string): Pick<DeadLetterValue, "body" | "bodyEncoding" | "bodyTruncated"> {
  const truncated = body.length > DEAD_LETTER_MAX_BODY_CHARS;
  const kept = truncated ? body.slice(0, DEAD_LETTER_MAX_BODY_CHARS) : body;
  if (!kept.includes("\u0000") && !LONE_SURROGATE.test(kept))
    return { body: kept, bodyEncoding: "utf8", bodyTruncated: truncated };
  // Buffer writes a lone surrogate as U+FFFD (the body came from Redis as UTF-8: it has none).
  return { body: Buffer.from(kept, "utf8").toString("base64"), bodyEncoding: "base64", bodyTruncated: truncated };
}

/** The delivery's body as it was received, from a dead letter's value. */
export function deadLetterBody(value: DeadLetterValue): string {
  return value.bodyEncoding === "base64" ? Buffer.from(value.body, "base64").toString("utf8") : value.body;
}

/**
 * Records a delivery whose processing failed for good in `webhook_events` (kind `dead_letter`):
 * the body, the error and the attempts. Once per job (a crash between this write and the job's
 * failure records nothing twice). Returns the dead letter's id.
 */
export async function recordDeadLetter(
  db: Database,
  job: { id: string; data: WebhookJob; attempts: number },
  err: unknown,
  failure: FailureClass,
  reason: DeadLetterError["reason"],
): Promise<Types.ObjectId> {
  const dedupeKey = createHash("sha256").update(`dead_letter\u0000${job.id}`).digest("hex");
  const message = err instanceof Error ? err.message : String(err);
  const value: DeadLetterValue = {
    ...storableBody(job.data.body),
    receivedAt: job.data.receivedAt,
    jobId: safeText(job.id, 256),
    ...(job.data.signature ? { signature: safeText(job.data.signature, 128) } : {}),
  };
  const error: DeadLetterError = {
    name: safeText(failure.name, 128),
    message: safeText(message, 2_000),
    code: typeof failure.code === "string" ? safeText(failure.code, 128) : failure.code,
    reason,
  };
  try {
    const doc = await db.webhookEvents.create({
      dedupeKey,
      kind: "dead_letter",
      field: "delivery",
      valid: false,
      problem: `${error.name}: ${error.message}`.slice(0, 2_000),
      value,
      deliveryId: safeText(job.data.deliveryId, 256),
      error,
      attempts: job.attempts,
    });
    return doc._id;
  } catch (e) {
    if (!isDuplicateKeyError(e)) throw e;
    const existing = await db.webhookEvents.findOne({ dedupeKey }, { _id: 1 }).lean();
    return existing!._id;
  }
}

export interface ReplayOptions {
  /** META_APP_SECRET: a dead letter is replayed only when its body still carries Meta's signature. */
  appSecret: string;
  id?: string;
  since?: Date;
  dryRun?: boolean;
  /** Replay dead letters already replayed (their replay job id is the same: BullMQ adds it only if gone). */
  again?: boolean;
}

export interface ReplayResult {
  found: number;
  replayed: Array<{ id: string; jobId: string; deliveryId: string }>;
  skipped: Array<{ id: string; why: string }>;
}

/**
 * Re-enqueues dead letters' deliveries as new webhook jobs (job id `replay-<dead letter id>`, so a
 * replay run twice is one job) and marks them `replayedAt`. The writes the job makes are idempotent:
 * whatever the failed attempts stored is not stored twice.
 */
export async function replayDeadLetters(
  db: Database,
  queue: Queue<WebhookJob>,
  opts: ReplayOptions,
): Promise<ReplayResult> {
  const filter: Record<string, unknown> = { kind: "dead_letter" };
  if (opts.id) {
    if (!Types.ObjectId.isValid(opts.id))
      throw new Error(`--id ${opts.id} is not a dead letter id (24 hex characters)`);
    filter._id = new Types.ObjectId(opts.id);
  }
  if (opts.since) filter.createdAt = { $gte: opts.since };
  if (!opts.again && !opts.id) filter.replayedAt = null;
  const letters = await db.webhookEvents.find(filter).sort({ createdAt: 1 }).lean<WebhookEventDoc[]>();
  const result: ReplayResult = { found: letters.length, replayed: [], skipped: [] };
  for (const letter of letters) {
    const id = letter._id.toHexString();
    const value = letter.value as DeadLetterValue | undefined;
    if (!value || typeof value.body !== "string") {
      result.skipped.push({ id, why: "no body" });
      continue;
    }
    if (value.bodyTruncated) {
      result.skipped.push({ id, why: "body was cut when recorded" });
      continue;
    }
    if (letter.replayedAt && !opts.again) {
      result.skipped.push({ id, why: `replayed at ${letter.replayedAt.toISOString()}` });
      continue;
    }
    // Only what Meta signed is processed: a body changed since (in the database, or a dead letter
    // written by hand) or one without its signature would be a delivery nobody authenticated.
    const body = deadLetterBody(value);
    if (!value.signature || !verifyWebhookSignature(Buffer.from(body, "utf8"), value.signature, opts.appSecret)) {
      result.skipped.push({ id, why: "its body does not carry Meta's signature (missing or not matching)" });
      continue;
    }
    const jobId = replayJobId(id);
    result.replayed.push({ id, jobId, deliveryId: letter.deliveryId });
    if (opts.dryRun) continue;
    const data: WebhookJob = {
      deliveryId: letter.deliveryId,
      receivedAt: value.receivedAt,
      body,
      signature: value.signature,
    };
    await queue.add(WEBHOOK_JOB, data, { ...webhookJobOptions, jobId });
    await db.webhookEvents.updateOne({ _id: letter._id }, { $set: { replayedAt: new Date(), replayJobId: jobId } });
  }
  return result;
}
