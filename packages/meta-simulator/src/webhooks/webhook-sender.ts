import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { signWebhookBody } from "@linkojob/whatsapp";

export interface DeliveryResult {
  /** The receiver's last HTTP status. */
  status: number;
  /** The receiver's last response body. */
  body: string;
  /** How many POSTs it took (1 without retries). */
  attempts: number;
}

/**
 * How the JSON text is put on the wire.
 * - `meta-escaped` (the default, what Meta sends): every non-ASCII UTF-16 unit as `\uXXXX` with
 *   lowercase hex, as Meta's Graph webhooks are documented to do ("we generate the signature using an escaped unicode version of the
 *   payload, with lowercase hex digits", Messenger Platform webhooks, Validate payloads); published
 *   clients (whatsapp-api-js) verify by escaping the body they received the same way, so raw UTF-8
 *   fails their check for any accent or emoji.
 * - `utf8`: non-ASCII characters as UTF-8 bytes (what JSON.stringify gives), for receivers that
 *   must cope with either. Either way
 *   the signature covers exactly the bytes sent: a receiver must hash its raw body, never a re-serialisation.
 */
export type BodyEncoding = "utf8" | "meta-escaped";

/**
 * Meta retries a delivery that did not get a 200 "with decreasing frequency" for up to 7 days.
 * The simulator does the same, within bounds: `attempts` POSTs in all, waiting
 * initialDelayMs × factor^(n-1) (at most maxDelayMs) between them.
 */
export interface RetryPolicy {
  /** Total number of POSTs, the first included (1 = no retry). */
  attempts: number;
  /** Wait before the second POST. Default 1,000 ms. */
  initialDelayMs?: number;
  /** Growth of the wait between POSTs. Default 2. */
  factor?: number;
  /** Cap of a single wait. Default 60,000 ms. */
  maxDelayMs?: number;
}

export interface WebhookSenderOptions {
  /** Retry non-200 answers and network errors. Default false (one POST), which is what tests want. */
  retry?: RetryPolicy | false;
  /** Default "meta-escaped", as Meta sends. */
  encoding?: BodyEncoding;
  /** Per-POST limit for the receiver's headers and body. Default 10,000 ms. */
  timeoutMs?: number;
}

export interface SendOptions {
  /** X-Hub-Signature-256 to send instead of the right one (forgery tests); null sends none. */
  signature?: string | null;
  targetUrl?: string;
  retry?: RetryPolicy | false;
  encoding?: BodyEncoding;
}

/** What the sender remembers of each delivery, for the control API and for logs. */
export interface DeliveryRecord {
  at: number;
  url: string;
  /** Last HTTP status, or null when the receiver could not be reached. */
  status: number | null;
  attempts: number;
  /** Exactly the text that was signed and sent. */
  body: string;
  error?: string;
}

/** What a failed attempt threw, as a line for the delivery log (undici throws Errors). */
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A delivery whose last attempt could not reach the receiver (connection refused, timeout…). */
export class WebhookDeliveryError extends Error {
  readonly code = "SIM_ERR_DELIVERY_FAILED";
  constructor(
    readonly url: string,
    readonly attempts: number,
    options: { cause: unknown },
  ) {
    super(
      `could not deliver the webhook to ${url} after ${attempts} attempt(s): ${(options.cause as Error)?.message ?? String(options.cause)}`,
      options,
    );
    this.name = "WebhookDeliveryError";
  }
}

/** Thrown when a delivery is asked for while no target URL is known. */
export class NoWebhookTargetError extends Error {
  readonly code = "SIM_ERR_NO_WEBHOOK_TARGET";
  constructor() {
    super("the simulator has no webhook target URL (set WEBHOOK_URL or PUT /_sim/webhooks/target)");
    this.name = "NoWebhookTargetError";
  }
}

/** `\uXXXX` (lowercase hex) for every UTF-16 unit outside printable ASCII; emoji become surrogate pairs. */
export function escapeNonAscii(json: string): string {
  return json.replace(/[\u007f-\uffff]/g, (ch) => "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0"));
}

/** The bytes a payload is sent as: a string or Buffer as given, anything else as JSON. */
export function encodeWebhookBody(payload: unknown, encoding: BodyEncoding = "meta-escaped"): Buffer {
  if (Buffer.isBuffer(payload)) return payload;
  if (typeof payload === "string") return Buffer.from(payload, "utf8");
  const json = JSON.stringify(payload);
  return Buffer.from(encoding === "meta-escaped" ? escapeNonAscii(json) : json, "utf8");
}

/**
 * Sends webhook deliveries the way Meta does: a POST of the JSON body signed with the app secret in
 * X-Hub-Signature-256 over the exact bytes sent, optionally retried like Meta retries.
 */
export class WebhookSender {
  /** Defaults for every send; `configure` changes them (main.ts turns retries on). */
  options: Required<WebhookSenderOptions>;
  private readonly listeners = new Set<(record: DeliveryRecord) => void>();
  private readonly sendListeners = new Set<(payload: unknown) => void>();
  private readonly closing = new AbortController();

  constructor(
    private readonly appSecret: string,
    public targetUrl: string | undefined,
    options: WebhookSenderOptions = {},
  ) {
    this.options = { retry: false, encoding: "meta-escaped", timeoutMs: 10_000 };
    this.configure(options);
  }

  configure(options: WebhookSenderOptions): void {
    this.options = { ...this.options, ...options };
  }

  /** Called after every delivery (successful or not); returns the unsubscribe function. */
  onDelivery(listener: (record: DeliveryRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Called with each payload as given, before its first POST (Meta knows a user's message before it
   * tells the business); returns the unsubscribe function.
   */
  onSend(listener: (payload: unknown) => void): () => void {
    this.sendListeners.add(listener);
    return () => this.sendListeners.delete(listener);
  }

  /**
   * Signs and POSTs one payload; resolves with the receiver's last answer (a non-200 is a result,
   * not an error). Rejects with WebhookDeliveryError when the last attempt could not reach it.
   */
  async send(payload: unknown, opts: SendOptions = {}): Promise<DeliveryResult> {
    const url = opts.targetUrl ?? this.targetUrl;
    if (!url) throw new NoWebhookTargetError();
    for (const listener of this.sendListeners) listener(payload);
    const bytes = encodeWebhookBody(payload, opts.encoding ?? this.options.encoding);
    const signature = opts.signature === undefined ? signWebhookBody(bytes, this.appSecret) : opts.signature;
    const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "facebookexternalua" };
    if (signature !== null) headers["x-hub-signature-256"] = signature;

    const retry = opts.retry ?? this.options.retry;
    const maxAttempts = retry ? Math.max(1, Math.floor(retry.attempts)) : 1;
    let attempts = 0;
    let last: { status: number; body: string } | undefined;
    let lastError: unknown;
    for (;;) {
      attempts++;
      try {
        const res = await request(url, {
          method: "POST",
          headers,
          body: bytes,
          headersTimeout: this.options.timeoutMs,
          bodyTimeout: this.options.timeoutMs,
        });
        last = { status: res.statusCode, body: await res.body.text() };
        lastError = undefined;
      } catch (err) {
        last = undefined;
        lastError = err;
      }
      const done = last?.status === 200 || attempts >= maxAttempts || this.closing.signal.aborted;
      if (done) break;
      const waited = await sleep(backoffDelay(retry as RetryPolicy, attempts), true, {
        signal: this.closing.signal,
      }).catch(() => false);
      if (!waited) break; // closing: stop retrying, report what we have
    }

    if (this.listeners.size > 0) {
      const record: DeliveryRecord = {
        at: Date.now(),
        url,
        status: last?.status ?? null,
        attempts,
        body: bytes.toString("utf8"),
        ...(lastError ? { error: errorText(lastError) } : {}),
      };
      for (const listener of this.listeners) listener(record);
    }
    if (!last) throw new WebhookDeliveryError(url, attempts, { cause: lastError });
    return { ...last, attempts };
  }

  /** Stops waiting between retries (pending sends finish with their last answer). Idempotent. */
  close(): void {
    this.closing.abort();
  }
}

/** Wait after the `attempt`-th POST failed. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const initial = policy.initialDelayMs ?? 1_000;
  const factor = policy.factor ?? 2;
  const max = policy.maxDelayMs ?? 60_000;
  return Math.min(max, Math.round(initial * factor ** (attempt - 1)));
}
