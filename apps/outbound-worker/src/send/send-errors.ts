import type { GraphErrorClassification } from "@linkojob/whatsapp";

/**
 * Meta refused one attempt with a transient error (5xx, 131000, 131016, 130429, 131056…). Thrown to
 * BullMQ so that the job is retried; the worker's `graph` backoff strategy reads the classification
 * (4^n s for 131056, exponential with jitter otherwise).
 */
export class RetryableSendError extends Error {
  readonly code = "OUTBOUND_ERR_RETRYABLE";
  constructor(
    readonly classification: GraphErrorClassification,
    message: string,
  ) {
    super(message);
    this.name = "RetryableSendError";
  }
}
