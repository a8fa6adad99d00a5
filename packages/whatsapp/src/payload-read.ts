import type { z } from "zod";
import { safeText } from "./safe-raw.js";

/**
 * Reading a parsed webhook payload without trusting it: only own properties (a key named
 * `constructor` or `__proto__` is data, never a built-in), and plain descriptions of what was
 * found instead, for the reasons recorded with malformed parts.
 */

export type JsonObject = Record<string, unknown>;

export const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** `o[key]` when `key` is o's own property, else undefined. */
export const own = (o: JsonObject, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);

/** "a number", "null", "an array"… for reasons. */
export function describe(v: unknown): string {
  if (v === undefined) return "missing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "number" && !Number.isFinite(v)) return `the number ${v}`;
  return `a ${typeof v}`;
}

/** Longest id accepted (wamids are about 60 characters, user ids up to 131); longer breaks indexes on FerretDB/PostgreSQL. */
export const MAX_ID_LENGTH = 256;

/** The value as an identifier (non-empty string, at most MAX_ID_LENGTH, no NUL, well-formed), or why not. */
export function readId(v: unknown, name: string): { id: string } | { problem: string } {
  if (typeof v !== "string") return { problem: `${name} is ${describe(v)}, not a string` };
  if (v.length === 0) return { problem: `${name} is empty` };
  if (v.length > MAX_ID_LENGTH) return { problem: `${name} is longer than ${MAX_ID_LENGTH} characters` };
  if (v.includes("\u0000")) return { problem: `${name} holds a NUL character` };
  if (!(v as unknown as { isWellFormed(): boolean }).isWellFormed())
    return { problem: `${name} holds a lone surrogate` };
  return { id: v };
}

/** An optional identifier: absent is fine, present must be valid (else the problem is noted). */
export function optionalId(o: JsonObject, key: string, problems: string[], name = key): string | undefined {
  const v = own(o, key);
  if (v === undefined || v === null) return undefined;
  const r = readId(v, name);
  if ("problem" in r) {
    problems.push(r.problem);
    return undefined;
  }
  return r.id;
}

/** An optional text: absent is fine, a string is kept (safe, cut to `max`), anything else is noted. */
export function optionalText(
  o: JsonObject,
  key: string,
  max: number,
  problems: string[],
  name = key,
): string | undefined {
  const v = own(o, key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") {
    problems.push(`${name} is ${describe(v)}, not a string`);
    return undefined;
  }
  return safeText(v, max);
}

/** A zod error as one short line (first five issues), safe to store. */
export function issuesText(error: z.ZodError): string {
  return safeText(
    error.issues
      .slice(0, 5)
      .map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`)
      .join("; "),
    1000,
  );
}
