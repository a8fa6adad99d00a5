import { BSON } from "bson";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { boundedJson } from "./bounded-json.js";
import { mongoSafetyProblems } from "./mongo-safety.js";
import { escapeKey, safeRaw, safeRawResult, unescapeKey } from "./safe-raw.js";
import { nastyKey, nastyValue } from "./delivery-arbitraries.harness.js";
import { nestedArrays, nestedObjects, withOwnKeys } from "./webhook-fixtures.harness.js";

describe("safeRaw", () => {
  it("turns any value into one with no refused key or value, within 32 levels, that BSON serialises with key checks", () => {
    fc.assert(
      fc.property(nastyValue, (v) => {
        const kept = safeRaw(v);
        expect(mongoSafetyProblems(kept)).toEqual([]);
        expect(() => BSON.serialize({ v: kept }, { checkKeys: true })).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });

  it("keeps a value that is already safe exactly as it is", () => {
    // Safe already: no refused key or value, and no `%` in a key (escaping would double it).
    const noPercentKey = (v: unknown): boolean =>
      typeof v !== "object" || v === null || Object.entries(v).every(([k, x]) => !k.includes("%") && noPercentKey(x));
    const plain = fc
      .jsonValue({ maxDepth: 6 })
      .map((v) => JSON.parse(JSON.stringify(v)) as unknown) // as received: JSON has no -0
      .filter((v) => noPercentKey(v) && mongoSafetyProblems(v).length === 0);
    fc.assert(
      fc.property(plain, (v) => {
        expect(safeRaw(v)).toEqual(v);
      }),
      { numRuns: 300 },
    );
  });

  it("escapes keys reversibly, and never produces a refused key", () => {
    fc.assert(
      fc.property(nastyKey, (k) => {
        const e = escapeKey(k);
        expect(e.startsWith("$") || e.includes(".") || e.includes("\u0000") || e === "__proto__").toBe(false);
        if ((k as unknown as { isWellFormed(): boolean }).isWellFormed()) expect(unescapeKey(e)).toBe(k);
      }),
      { numRuns: 500 },
    );
    expect(["$set", "a.b", "k\u0000", "%24", "__proto__", "a$b"].map(escapeKey)).toEqual([
      "%24set",
      "a%2Eb",
      "k%00",
      "%2524",
      "%5F_proto__",
      "a$b",
    ]);
  });

  it("caps depth at 32, keeping what is deeper as its JSON text", () => {
    const kept = safeRaw(nestedObjects(40));
    let node: unknown = kept;
    let depth = 1;
    while (typeof node === "object" && node !== null && "k" in node) {
      node = node.k;
      depth++;
    }
    expect(depth).toBe(32);
    expect(node).toEqual({ "%json": expect.stringMatching(/^\{"k":\{"k":/) });
    expect((node as { "%json": string })["%json"]).toContain('"leaf":true');
  });

  it("keeps arrays inside arrays as arrays (MongoDB stores them) and caps 20,000 levels without overflowing the stack", () => {
    expect(safeRaw([[1, [2]], []])).toEqual([[1, [2]], []]);
    const kept = safeRawResult(nestedArrays(20_000));
    expect(kept.truncated).toBe(false);
    expect(mongoSafetyProblems(kept.value)).toEqual([]);
    let node: unknown = kept.value;
    let depth = 1;
    while (Array.isArray(node) && Array.isArray(node[0])) {
      node = node[0];
      depth++;
    }
    expect(depth).toBe(31);
    expect(node).toEqual([{ "%json": expect.stringMatching(/^\[\[\[/) }]);
  });

  it("keeps what passes 64 KiB as the start of its JSON text, marked truncated", () => {
    const kept = safeRawResult({ a: "x".repeat(70_000), b: 1 });
    expect(kept.truncated).toBe(true);
    expect(kept.value).toEqual({ "%json": expect.stringMatching(/^\{"a":"xxx/), "%truncated": true });
    expect((kept.value as { "%json": string })["%json"].length).toBe(64 * 1024);
  });

  it("writes non-finite numbers as strings, -0 as 0, NUL and lone surrogates as U+FFFD, and drops undefined", () => {
    expect(
      safeRaw({
        a: Infinity,
        b: -Infinity,
        c: Number.NaN,
        d: -0,
        e: 1e308,
        f: "a\u0000\uD800",
        g: undefined,
        h: [undefined],
      }),
    ).toEqual({
      a: "Infinity",
      b: "-Infinity",
      c: "NaN",
      d: 0,
      e: 1e308,
      f: "a\uFFFD\uFFFD",
      h: [null],
    });
    const proto = safeRaw(withOwnKeys([["__proto__", { polluted: 1 }]])) as object;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(["%5F_proto__"]);
  });
});

describe("boundedJson", () => {
  it("is JSON.stringify for what JSON.stringify can write, and never overflows", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(boundedJson(v, 1e9).text).toBe(JSON.stringify(v));
      }),
      { numRuns: 300 },
    );
    const { text, truncated } = boundedJson(nestedArrays(20_000), 100);
    expect(truncated).toBe(true);
    expect(text).toBe("[".repeat(100));
  });
});
