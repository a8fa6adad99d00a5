import { boundedJson, wellFormed } from "./bounded-json.js";

/**
 * Turns any value into one that MongoDB 7 stores and reads back as it was made, for the raw payloads
 * and free-form content the normalizer keeps: keys a query or an update would misread (`$`-prefixed,
 * dotted), or BSON cannot hold (NUL), strings and numbers JSON cannot carry back to a dashboard (NUL,
 * lone surrogates, `Infinity`, `NaN`), and values without bound (depth, size). Arrays directly
 * inside arrays are kept as they are (MongoDB stores them; the FerretDB stand-in does not, and
 * packages/db's ferretdb-adapter wraps them on its way in when it runs on it).
 *
 * What changes:
 * - keys are percent-escaped: `%` → `%25`, a leading `$` → `%24`, `.` → `%2E`, NUL → `%00`, and the
 *   key `__proto__` → `%5F_proto__` (so no later copy can turn it into a prototype). `unescapeKey`
 *   reverses it. Lone surrogates in keys become U+FFFD.
 * - strings: NUL → U+FFFD, lone surrogates → U+FFFD.
 * - numbers: `Infinity`, `-Infinity`, `NaN` become those strings, `-0` becomes `0`; bigints become
 *   decimal strings. Other numbers are kept (a double holds 1e308; past 2^53 JSON had already lost
 *   the digits). `undefined`, functions and symbols are dropped (`null` inside arrays).
 * - containers deeper than `maxDepth` (default 32) become `{ "%json": "<their JSON text>" }`.
 * - when the result would pass `maxBytes` (default 64 KiB, counted as BSON would), the whole value
 *   becomes `{ "%json": "<its JSON text cut at maxBytes characters>", "%truncated": true }`.
 * Marker keys (`%json`, `%truncated`) have a `%` not followed by two hex digits, so escaping
 * never produces them.
 */
export const SAFE_RAW_MAX_DEPTH = 32;
export const SAFE_RAW_MAX_BYTES = 64 * 1024;

export interface SafeRawOptions {
  /** Deepest container kept as such (the value itself is depth 1). Default 32. */
  maxDepth?: number;
  /** Approximate BSON size above which the value is kept as truncated JSON text. Default 65,536. */
  maxBytes?: number;
}

export interface SafeRawResult {
  value: unknown;
  /** True when the size cap replaced the whole value with truncated JSON text. */
  truncated: boolean;
}

class OverBudget extends Error {}

export function safeRaw(value: unknown, opts?: SafeRawOptions): unknown {
  return safeRawResult(value, opts).value;
}

export function safeRawResult(value: unknown, opts: SafeRawOptions = {}): SafeRawResult {
  const maxDepth = Math.max(1, opts.maxDepth ?? SAFE_RAW_MAX_DEPTH);
  const maxBytes = Math.max(64, opts.maxBytes ?? SAFE_RAW_MAX_BYTES);
  const budget = { left: maxBytes };
  try {
    const out = sanitize(value, 1, maxDepth, budget);
    return { value: out === undefined ? null : out, truncated: false };
  } catch (err) {
    if (!(err instanceof OverBudget)) throw err;
    return { value: { "%json": boundedJson(value, maxBytes).text, "%truncated": true }, truncated: true };
  }
}

function spend(budget: { left: number }, bytes: number): void {
  budget.left -= bytes;
  if (budget.left < 0) throw new OverBudget();
}

/** `depth` is the depth a container created here would have. */
function sanitize(v: unknown, depth: number, maxDepth: number, budget: { left: number }): unknown {
  switch (typeof v) {
    case "string": {
      spend(budget, Buffer.byteLength(v) + 5);
      return safeString(v);
    }
    case "number":
      spend(budget, 8);
      if (!Number.isFinite(v)) return String(v);
      return Object.is(v, -0) ? 0 : v;
    case "boolean":
      spend(budget, 1);
      return v;
    case "bigint":
      spend(budget, 24);
      return String(v);
    case "object":
      break;
    default:
      return undefined;
  }
  if (v === null) return null;
  if (v instanceof Date) {
    spend(budget, 8);
    return Number.isNaN(v.getTime()) ? "Invalid Date" : v;
  }
  spend(budget, 5);
  if (depth >= maxDepth && !isEmptyContainer(v)) return asJsonText(v, budget);
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (let i = 0; i < v.length; i++) {
      spend(budget, 2 + digits(i));
      const s = sanitize(v[i], depth + 1, maxDepth, budget);
      out.push(s === undefined ? null : s);
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v)) {
    const s = sanitize((v as Record<string, unknown>)[key], depth + 1, maxDepth, budget);
    if (s === undefined) continue;
    const k = escapeKey(key);
    spend(budget, Buffer.byteLength(k) + 2);
    Object.defineProperty(out, k, { value: s, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A container past the depth cap, kept as its JSON text. */
function asJsonText(v: unknown, budget: { left: number }): { "%json": string } {
  const text = boundedJson(v, Math.max(0, budget.left)).text;
  spend(budget, Buffer.byteLength(text) + 12);
  return { "%json": text };
}

const digits = (i: number) => (i < 10 ? 1 : Math.floor(Math.log10(i)) + 1);

function isEmptyContainer(v: object): boolean {
  if (Array.isArray(v)) return v.length === 0;
  for (const _ in v) if (Object.hasOwn(v, _)) return false;
  return true;
}

/** A string any MongoDB-protocol server stores: NUL and lone surrogates replaced with U+FFFD. */
export function safeString(s: string): string {
  return wellFormed(s.includes("\u0000") ? s.replaceAll("\u0000", "\uFFFD") : s);
}

/** `safeString`, cut to at most `max` characters (never inside a surrogate pair). */
export function safeText(s: string, max: number): string {
  const cut = s.length > max ? s.slice(0, max) : s;
  return safeString(cut);
}

// eslint-disable-next-line no-control-regex -- NUL is one of the characters a stored key must not hold
const mustEscape = /[%.\u0000]|^\$|^__proto__$/;

/** The key as stored: see `safeRaw`. Reversible with `unescapeKey` (lone surrogates aside). */
export function escapeKey(key: string): string {
  const k = wellFormed(key);
  if (!mustEscape.test(k)) return k;
  if (k === "__proto__") return "%5F_proto__";
  const escaped = k.replaceAll("%", "%25").replaceAll(".", "%2E").replaceAll("\u0000", "%00");
  return escaped.startsWith("$") ? `%24${escaped.slice(1)}` : escaped;
}

export function unescapeKey(key: string): string {
  return key.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
