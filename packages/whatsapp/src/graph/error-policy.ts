import { GraphApiError, GraphNetworkError, GraphResponseError } from "./graph-errors.js";

/**
 * What to do about a Graph API failure, by Meta's error code: Meta's table of
 * codes, encoded once for every caller (outbound worker, onboarding,
 * template sync). Codes the table does not name are permanent; 5xx answers and network errors are
 * transient.
 */
export type GraphErrorKind =
  | "auth" // 0, 190: token expired / revoked → reconnect the tenant, hold its sends
  | "permission" // 3, 10, 200-299, 131005: missing permission or capability → surface to the tenant
  | "rate_limit" // 4, 80007: app / WABA call-rate limit → back off
  | "throughput" // 130429: messages per second of the number → pace it
  | "pair_rate" // 131056: too many messages to one recipient → wait 4^n s
  | "transient" // 131000, 131016, 131057, 133004, 5xx, network → retry with backoff
  | "window_closed" // 131047: 24-hour window closed → send a template instead
  | "template" // 132xxx: template problems → fix the template / parameters
  | "invalid" // 100, 131008, 131009, 131021, 131051-131053, 135000: the request itself is wrong
  | "undeliverable" // 131026, 131049, 131050: that recipient cannot get it
  | "registration" // 131045, 133xxx: the number's registration
  | "account" // 131042, 131031, 368, 131048, 133010: the whole number cannot send → hold the tenant, not one message
  | "permanent"; // everything else: do not retry

export type BackoffStrategy = "none" | "exponential" | "pair_rate";

export interface GraphErrorClassification {
  kind: GraphErrorKind;
  /** Retrying the same request later may succeed. */
  retryable: boolean;
  /** The tenant's token no longer works (0/190): mark it reauth_required and hold its sends. */
  reauth: boolean;
  /** How to wait before the next attempt (see retryDelayMs). */
  backoff: BackoffStrategy;
  /** Retry at most this many times in total, when the table says "a few times". */
  maxAttempts?: number;
  /** 131047: send an approved template instead of free-form text. */
  useTemplate?: boolean;
  /** 131045, 133010: the number must be registered again. */
  reregister?: boolean;
  /**
   * The error concerns every message of the number (payment, lock, policy block, spam limit, number
   * not registered): pause the tenant's sends instead of spending each queued message on it.
   */
  accountHold?: boolean;
  /** Meta's code, or null for network / unreadable answers. */
  code: number | null;
  /** A short reason for logs and dashboards. */
  reason: string;
}

interface Rule {
  kind: GraphErrorKind;
  retryable: boolean;
  backoff?: BackoffStrategy;
  maxAttempts?: number;
  useTemplate?: boolean;
  reregister?: boolean;
  accountHold?: boolean;
  reason: string;
}

const noRetry = (kind: GraphErrorKind, reason: string, extra: Partial<Rule> = {}): Rule => ({
  kind,
  retryable: false,
  reason,
  ...extra,
});
const retry = (kind: GraphErrorKind, reason: string, extra: Partial<Rule> = {}): Rule => ({
  kind,
  retryable: true,
  backoff: "exponential",
  reason,
  ...extra,
});

/** Meta's error codes, row by row. */
const RULES = new Map<number, Rule>([
  [0, noRetry("auth", "token expired, invalidated or revoked")],
  [190, noRetry("auth", "token expired, invalidated or revoked")],
  [3, noRetry("permission", "capability missing")],
  [10, noRetry("permission", "permission missing")],
  [4, retry("rate_limit", "app call-rate limit")],
  [80007, retry("rate_limit", "WABA call-rate limit")],
  [100, noRetry("invalid", "invalid parameter")],
  [368, noRetry("account", "temporarily blocked for policy violations", { accountHold: true })],
  [130429, retry("throughput", "throughput limit of the number")],
  [131000, retry("transient", "something went wrong at Meta", { maxAttempts: 3 })],
  [131005, noRetry("permission", "access denied")],
  [131008, noRetry("invalid", "required parameter missing")],
  [131009, noRetry("invalid", "parameter value invalid")],
  [131016, retry("transient", "service unavailable")],
  [131021, noRetry("invalid", "recipient is the sender")],
  [131026, noRetry("undeliverable", "message undeliverable")],
  [131031, noRetry("account", "business account locked", { accountHold: true })],
  [131042, noRetry("account", "business payment problem", { accountHold: true })],
  [131045, noRetry("registration", "phone number registration problem", { reregister: true })],
  [131047, noRetry("window_closed", "more than 24 hours since the candidate last wrote", { useTemplate: true })],
  [131048, noRetry("account", "spam rate limit (quality)", { accountHold: true })],
  [131049, noRetry("undeliverable", "not delivered to maintain ecosystem health")],
  [131050, noRetry("undeliverable", "user stopped marketing messages")],
  [131051, noRetry("invalid", "unsupported message type")],
  [131052, noRetry("invalid", "media download error")],
  [131053, noRetry("invalid", "media upload error")],
  [131056, retry("pair_rate", "too many messages to the same recipient", { backoff: "pair_rate" })],
  [131057, retry("transient", "account in maintenance")],
  [
    131062,
    noRetry("undeliverable", "unknown business-scoped user id: the candidate cannot be reached by this user id"),
  ],
  [132000, noRetry("template", "template parameter count mismatch")],
  [132001, noRetry("template", "template missing or not approved")],
  [132005, noRetry("template", "template text too long")],
  [132007, noRetry("template", "template format policy violated")],
  [132012, noRetry("template", "template parameter format mismatch")],
  [132015, noRetry("template", "template paused")],
  [132016, noRetry("template", "template disabled")],
  [133000, noRetry("registration", "incomplete deregistration")],
  [133004, retry("registration", "registration server unavailable")],
  [133005, noRetry("registration", "two-step verification PIN mismatch")],
  [133010, noRetry("account", "phone number not registered", { reregister: true, accountHold: true })],
  [133016, retry("registration", "registration rate limit", { maxAttempts: 3 })],
  [135000, noRetry("invalid", "generic user error")],
]);

function build(rule: Rule, code: number | null): GraphErrorClassification {
  return {
    kind: rule.kind,
    retryable: rule.retryable,
    reauth: rule.kind === "auth",
    backoff: rule.retryable ? (rule.backoff ?? "exponential") : "none",
    ...(rule.maxAttempts !== undefined ? { maxAttempts: rule.maxAttempts } : {}),
    ...(rule.useTemplate ? { useTemplate: true } : {}),
    ...(rule.reregister ? { reregister: true } : {}),
    ...(rule.accountHold ? { accountHold: true } : {}),
    code,
    reason: rule.reason,
  };
}

/** Classifies a bare Meta error code (as found in a `failed` status webhook's `errors[]`). */
export function classifyGraphCode(code: number, httpStatus?: number): GraphErrorClassification {
  const rule =
    RULES.get(code) ?? (code >= 200 && code <= 299 ? noRetry("permission", "permission missing") : undefined);
  if (rule) return build(rule, code);
  if (httpStatus !== undefined && httpStatus >= 500)
    return build(retry("transient", `HTTP ${httpStatus} from Meta`), code);
  if (httpStatus === 429) return build(retry("rate_limit", "HTTP 429 from Meta"), code);
  return build(noRetry("permanent", `unclassified error code ${code}`), code);
}

/**
 * Classifies whatever a Graph call threw, or an error object from a webhook (`{ code }`). Anything
 * unknown (a bug, a programming error) is permanent, so that it surfaces instead of looping.
 */
export function classifyGraphError(err: unknown): GraphErrorClassification {
  if (err instanceof GraphApiError) {
    if (err.code === -1) {
      if (err.httpStatus >= 500) return build(retry("transient", `HTTP ${err.httpStatus} from Meta`), null);
      if (err.httpStatus === 429) return build(retry("rate_limit", "HTTP 429 from Meta"), null);
      return build(noRetry("permanent", `HTTP ${err.httpStatus} without a Graph error`), null);
    }
    return classifyGraphCode(err.code, err.httpStatus);
  }
  if (err instanceof GraphNetworkError) {
    return build(retry("transient", err.timedOut ? "timed out" : "network error"), null);
  }
  if (err instanceof GraphResponseError) {
    if (err.httpStatus >= 500) return build(retry("transient", "unreadable answer from Meta"), null);
    return build(noRetry("permanent", "unreadable answer from Meta"), null);
  }
  if (typeof err === "object" && err !== null && typeof (err as { code?: unknown }).code === "number") {
    return classifyGraphCode((err as { code: number }).code);
  }
  return build(noRetry("permanent", "not a Graph API error"), null);
}

export interface RetryDelayOptions {
  /** First delay of the exponential strategy. Default 1 000 ms. */
  baseMs?: number;
  /** Upper bound of any delay. Default 10 minutes. */
  maxMs?: number;
  /** Random source in [0, 1) for the jitter (tests pass a constant). */
  random?: () => number;
}

/**
 * How long to wait before attempt `attempt + 1`, after `attempt` failures (1-based). Exponential:
 * base·2^(attempt-1) with "equal jitter" (half fixed, half random) so that a storm of failures does
 * not retry in lockstep. Pair rate (131056): 4^attempt seconds, as Meta documents, plus up to 10 %
 * jitter. Returns 0 for a non-retryable classification.
 */
export function retryDelayMs(c: GraphErrorClassification, attempt: number, options: RetryDelayOptions = {}): number {
  if (!c.retryable) return 0;
  const random = options.random ?? Math.random;
  const maxMs = options.maxMs ?? 600_000;
  const n = Math.max(1, Math.floor(attempt));
  if (c.backoff === "pair_rate") {
    const ms = 4 ** n * 1_000;
    return Math.min(maxMs, Math.round(ms + ms * 0.1 * random()));
  }
  const exp = Math.min(maxMs, (options.baseMs ?? 1_000) * 2 ** (n - 1));
  return Math.round(exp / 2 + (exp / 2) * random());
}
