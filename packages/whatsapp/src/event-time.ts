import { boundedJson } from "./bounded-json.js";
import { safeText } from "./safe-raw.js";

/**
 * Meta's timestamps are unix seconds as strings. A timestamp drives ordering and the 24-hour
 * customer-service window, so one that is not a sane number, or is in the future, is replaced by the
 * time the webhook was received (`9999999999` would otherwise hold the window open until 2286) and
 * the original is kept as text.
 */

/** How far ahead of the receiving clock a timestamp may be before it is clamped (clock skew). */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;

/** Largest unix second a JS Date can hold (8.64e15 ms). */
const MAX_DATE_SECONDS = 8_640_000_000_000;

export type TimestampAdjustment = "missing" | "invalid" | "future";

export interface EventTime {
  at: Date;
  /** Set when `at` is not what Meta sent: why it was replaced. */
  adjusted?: TimestampAdjustment;
  /** Set when `at` was replaced and something was sent: the value as received, as text. */
  original?: string;
}

/** Unix seconds (a string of digits, or a non-negative integer) within Date's range; else null. */
export function parseUnixSeconds(raw: unknown): number | null {
  let seconds: number;
  if (typeof raw === "string") {
    if (!/^\d{1,16}$/.test(raw)) return null;
    seconds = Number(raw);
  } else if (typeof raw === "number") {
    seconds = raw;
  } else {
    return null;
  }
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > MAX_DATE_SECONDS) return null;
  return seconds;
}

/** The time to use for an event, clamped to `receivedAt` when missing, not sane or in the future. */
export function eventTime(raw: unknown, receivedAt: Date, maxFutureSkewMs = MAX_FUTURE_SKEW_MS): EventTime {
  if (raw === undefined) return { at: receivedAt, adjusted: "missing" };
  const seconds = parseUnixSeconds(raw);
  if (seconds === null) return { at: receivedAt, adjusted: "invalid", original: originalText(raw) };
  const at = new Date(seconds * 1000);
  if (at.getTime() > receivedAt.getTime() + maxFutureSkewMs) {
    return { at: receivedAt, adjusted: "future", original: originalText(raw) };
  }
  return { at };
}

function originalText(raw: unknown): string {
  return typeof raw === "string" ? safeText(raw, 64) : boundedJson(raw, 64).text;
}
