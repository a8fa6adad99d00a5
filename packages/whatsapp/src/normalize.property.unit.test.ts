import { BSON } from "bson";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_FUTURE_SKEW_MS } from "./event-time.js";
import type { InboundEvent } from "./inbound-event.js";
import { mongoSafetyProblems } from "./mongo-safety.js";
import { normalizeDelivery } from "./normalize.js";
import { SAFE_RAW_MAX_DEPTH } from "./safe-raw.js";
import {
  LEVELS,
  mutatedDelivery,
  nastyValue,
  SIBLING_BODY,
  SIBLING_WAMID,
  type Case,
} from "./delivery-arbitraries.harness.js";
import { delivery } from "./webhook-fixtures.harness.js";

/**
 * Properties of normalizeDelivery over deliveries built from Meta's payload shapes with one element
 * mutated next to a valid sibling message (see delivery-arbitraries).
 *
 * "Nothing silently vanishes" is checked against the delivery as it was mutated. Its leaves are:
 * every element of `messages`, `statuses` and `errors` in a change whose field is "messages" and
 * whose value is an object; a change that is anything else (not an object, another field, a value
 * that is not an object); an `entry` without a `changes` array; `value.<part>` when it is not an
 * array; and the delivery itself when it has no `entry` array. Each leaf must come out as exactly
 * one event at its path (message, status, account or malformed), or lie under a `malformed` event
 * of an enclosing part (and then have no event of its own). Errors are counted: the malformed ones
 * at their paths plus those in the change's `value_errors` event make the length of the array.
 * Contacts are not leaves: a valid one only names a sender (no event of its own), a bad one is a
 * `malformed` event at its path (checked in normalize.test.ts).
 */

const receivedAt = new Date("2026-11-29T08:00:00Z");
const own = (o: unknown, k: string): unknown =>
  typeof o === "object" && o !== null && Object.hasOwn(o, k) ? (o as Record<string, unknown>)[k] : undefined;
const isObj = (v: unknown): v is object => typeof v === "object" && v !== null && !Array.isArray(v);
const isAncestor = (a: string, p: string) => p.startsWith(`${a}.`) || p.startsWith(`${a}[`);

interface Leaves {
  single: string[];
  /** Paths of `errors` arrays, with their lengths. */
  errorArrays: Array<{ path: string; length: number }>;
}

function leavesOf(payload: unknown): Leaves {
  const single: string[] = [];
  const errorArrays: Leaves["errorArrays"] = [];
  const entries = own(payload, "entry");
  if (!isObj(payload) || !Array.isArray(entries)) return { single: ["$"], errorArrays };
  entries.forEach((e, i) => {
    const ep = `$.entry[${i}]`;
    const changes = isObj(e) ? own(e, "changes") : undefined;
    if (!Array.isArray(changes)) return void single.push(ep);
    changes.forEach((c, j) => {
      const cp = `${ep}.changes[${j}]`;
      const value = own(c, "value");
      if (!isObj(c) || own(c, "field") !== "messages" || !isObj(value)) return void single.push(cp);
      for (const part of ["messages", "statuses", "errors"]) {
        const arr = own(value, part);
        if (arr === undefined) continue;
        if (!Array.isArray(arr)) single.push(`${cp}.value.${part}`);
        else if (part === "errors") errorArrays.push({ path: `${cp}.value.errors`, length: arr.length });
        else arr.forEach((_, k) => single.push(`${cp}.value.${part}[${k}]`));
      }
    });
  });
  return { single, errorArrays };
}

const pathOf = (e: InboundEvent) => e.location?.path ?? "(no location)";

function checkAccounted(payload: unknown, events: InboundEvent[]) {
  const malformedPaths = events.filter((e) => e.kind === "malformed").map(pathOf);
  const underMalformed = (p: string) => malformedPaths.some((m) => isAncestor(m, p));
  const { single, errorArrays } = leavesOf(payload);
  for (const leaf of single) {
    const here = events.filter((e) => pathOf(e) === leaf && e.kind !== "value_errors");
    if (underMalformed(leaf)) expect(here, `${leaf} lies under a malformed part`).toEqual([]);
    else
      expect(
        here.map((e) => e.kind),
        `${leaf} must come out once`,
      ).toHaveLength(1);
  }
  for (const { path, length } of errorArrays) {
    if (underMalformed(path)) continue;
    const bad = events.filter((e) => e.kind === "malformed" && pathOf(e).startsWith(`${path}[`)).length;
    const good = events.find((e) => e.kind === "value_errors" && pathOf(e) === path);
    expect(
      bad + (good && good.kind === "value_errors" ? good.errors.length : 0),
      `${path}: every error accounted for`,
    ).toBe(length);
  }
}

/** The free-form values each event carries, which safeRaw produced. */
function mixedParts(e: InboundEvent): unknown[] {
  switch (e.kind) {
    case "message":
    case "echo": {
      const m = e.message;
      return [m.content, m.raw, m.context, m.referral, ...(m.errors ?? [])].filter(
        (part, i) => i === 0 || part !== undefined,
      );
    }
    case "status":
      return [e.status.raw, ...(e.status.errors ?? [])].filter((part) => part !== undefined);
    case "value_errors":
      return e.errors;
    case "account":
      return [e.value];
    case "malformed":
      return [e.raw];
  }
}

function checkStorable(events: InboundEvent[]) {
  for (const e of events) {
    for (const part of mixedParts(e)) expect(mongoSafetyProblems(part, { maxDepth: SAFE_RAW_MAX_DEPTH })).toEqual([]);
    // The whole event as a document: every id and text in it too.
    expect(mongoSafetyProblems(e, { maxDepth: SAFE_RAW_MAX_DEPTH + 4 })).toEqual([]);
    expect(() => BSON.serialize({ event: e }, { checkKeys: true })).not.toThrow();
  }
}

function checkTimes(events: InboundEvent[]) {
  const latest = receivedAt.getTime() + MAX_FUTURE_SKEW_MS;
  for (const e of events) {
    const at =
      e.kind === "message"
        ? e.message.timestamp
        : e.kind === "status"
          ? e.status.timestamp
          : e.kind === "account"
            ? e.time
            : undefined;
    if (!at) continue;
    expect(Number.isNaN(at.getTime())).toBe(false);
    expect(at.getTime()).toBeLessThanOrEqual(latest);
    expect(at.getTime()).toBeGreaterThanOrEqual(0);
  }
}

function checkCase({ payload, siblingPath }: Case) {
  const events = normalizeDelivery(payload, { receivedAt });
  const siblings = events.filter((e) => e.kind === "message" && e.message.wamid === SIBLING_WAMID);
  expect(siblings, "the valid sibling comes out exactly once").toHaveLength(1);
  expect(siblings[0]).toMatchObject({
    location: { path: siblingPath },
    message: { type: "text", content: { body: SIBLING_BODY } },
  });
  checkAccounted(payload, events);
  checkStorable(events);
  checkTimes(events);
  for (const e of events) if (e.kind === "malformed") expect(e.reason.length).toBeGreaterThan(0);
}

describe("normalizeDelivery over mutated real-shaped deliveries (fast-check)", () => {
  it("never throws; the valid sibling comes out exactly once; every mutated part comes out or is recorded; everything is storable", () => {
    fc.assert(
      fc.property(mutatedDelivery, (c) => checkCase(c)),
      { numRuns: 600 },
    );
  });

  it("any value at all as the delivery, or as its entry list, gives events and never throws", () => {
    fc.assert(
      fc.property(nastyValue, fc.boolean(), (v, asEntries) => {
        const payload = asEntries ? delivery(v) : v;
        const events = normalizeDelivery(payload, { receivedAt });
        if (!isObj(payload))
          expect(events).toEqual([
            expect.objectContaining({ kind: "malformed", field: "delivery", location: { path: "$" } }),
          ]);
        checkAccounted(payload, events);
        checkStorable(events);
      }),
      { numRuns: 400 },
    );
  });

  it("the accounting check catches a lost element (it can fail)", () => {
    const c = fc.sample(
      mutatedDelivery.filter((x) => x.level === "message"),
      { numRuns: 1, seed: 7 },
    )[0]!;
    const events = normalizeDelivery(c.payload, { receivedAt });
    const withoutFirst = events.filter((e) => e !== events.find((x) => pathOf(x).includes("messages[")));
    expect(() => checkAccounted(c.payload, withoutFirst)).toThrow();
  });

  it("the generator makes every level and kind of mutation, 20,000-deep nesting, non-finite numbers and prototype names", () => {
    const cases = fc.sample(mutatedDelivery, { numRuns: 1500, seed: 1 });
    const seen = new Set(cases.map((c) => `${c.level}/${c.mutation.op}`));
    for (const level of LEVELS)
      for (const op of ["replace", "set", "delete", "deep", "prototypeType", "timestamp"])
        expect(seen).toContain(`${level}/${op}`);
    const values = cases.map((c) => ("value" in c.mutation ? c.mutation.value : undefined));
    expect(values.some((v) => depthOf(v) >= 20_000)).toBe(true);
    expect(values.some((v) => typeof v === "number" && !Number.isFinite(v))).toBe(true);
    expect(cases.some((c) => c.mutation.op === "set" && c.mutation.key === "__proto__")).toBe(true);
  });
});

/** Nesting depth, without recursion. */
function depthOf(v: unknown): number {
  let depth = 0;
  let level: unknown[] = [v];
  while (level.length && depth < 30_000) {
    const next: unknown[] = [];
    for (const x of level) if (typeof x === "object" && x !== null) next.push(...Object.values(x));
    if (!level.some((x) => typeof x === "object" && x !== null)) break;
    depth++;
    level = next;
  }
  return depth;
}
