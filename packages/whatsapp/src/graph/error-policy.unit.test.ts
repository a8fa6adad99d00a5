import { describe, expect, it } from "vitest";
import { classifyGraphCode, classifyGraphError, retryDelayMs, type GraphErrorKind } from "./error-policy.js";
import { GraphApiError, GraphNetworkError } from "./graph-errors.js";

/** Meta's error codes and what to do about each, one row per code: [code, kind, retryable]. */
const TABLE: Array<[number, GraphErrorKind, boolean]> = [
  [0, "auth", false],
  [190, "auth", false],
  [3, "permission", false],
  [10, "permission", false],
  [200, "permission", false],
  [250, "permission", false],
  [299, "permission", false],
  [4, "rate_limit", true],
  [80007, "rate_limit", true],
  [100, "invalid", false],
  [368, "account", false],
  [130429, "throughput", true],
  [131000, "transient", true],
  [131005, "permission", false],
  [131008, "invalid", false],
  [131009, "invalid", false],
  [131016, "transient", true],
  [131021, "invalid", false],
  [131026, "undeliverable", false],
  [131031, "account", false],
  [131042, "account", false],
  [131045, "registration", false],
  [131047, "window_closed", false],
  [131048, "account", false],
  [131049, "undeliverable", false],
  [131050, "undeliverable", false],
  [131051, "invalid", false],
  [131052, "invalid", false],
  [131053, "invalid", false],
  [131056, "pair_rate", true],
  [131057, "transient", true],
  [132000, "template", false],
  [132001, "template", false],
  [132005, "template", false],
  [132007, "template", false],
  [132012, "template", false],
  [132015, "template", false],
  [132016, "template", false],
  [133000, "registration", false],
  [133004, "registration", true],
  [133005, "registration", false],
  [133010, "account", false],
  [133016, "registration", true],
  [135000, "invalid", false],
];

const apiError = (code: number, httpStatus = 400) =>
  new GraphApiError({ code, message: `error ${code}`, httpStatus, request: "POST 1/messages" });

describe("classifyGraphError", () => {
  it.each(TABLE)("code %i is %s (retryable: %s)", (code, kind, retryable) => {
    const c = classifyGraphError(apiError(code));
    expect(c.kind).toBe(kind);
    expect(c.retryable).toBe(retryable);
    expect(c.reauth).toBe(code === 0 || code === 190);
    expect(c.code).toBe(code);
    expect(c.backoff === "none").toBe(!retryable);
  });

  it("marks the special cases the outbound worker acts on", () => {
    expect(classifyGraphCode(131047).useTemplate).toBe(true);
    expect(classifyGraphCode(131045).reregister).toBe(true);
    expect(classifyGraphCode(131056).backoff).toBe("pair_rate");
    expect(classifyGraphCode(131000).maxAttempts).toBe(3);
  });

  it("holds the tenant on account-level codes, not on per-message ones", () => {
    for (const code of [131042, 131031, 368, 131048, 133010])
      expect(classifyGraphCode(code).accountHold, String(code)).toBe(true);
    expect(classifyGraphCode(133010).reregister).toBe(true);
    for (const code of [131026, 131047, 131056, 132000, 131000, 190])
      expect(classifyGraphCode(code).accountHold, String(code)).toBeUndefined();
  });

  it("treats an unknown code as permanent, unless Meta answered 5xx or 429", () => {
    expect(classifyGraphError(apiError(987654))).toMatchObject({ kind: "permanent", retryable: false });
    expect(classifyGraphError(apiError(987654, 503))).toMatchObject({ kind: "transient", retryable: true });
    expect(classifyGraphError(apiError(987654, 429))).toMatchObject({ kind: "rate_limit", retryable: true });
    // A known permanent code stays permanent even with an odd HTTP status.
    expect(classifyGraphError(apiError(100, 500))).toMatchObject({ kind: "invalid", retryable: false });
  });

  it("treats network errors as transient and anything else as permanent", () => {
    const net = new GraphNetworkError({
      message: "x",
      request: "GET a",
      timedOut: true,
      mayHaveReachedMeta: true,
      causeCode: "UND_ERR_HEADERS_TIMEOUT",
    });
    expect(classifyGraphError(net)).toMatchObject({ kind: "transient", retryable: true, code: null });
    expect(classifyGraphError(new Error("bug"))).toMatchObject({ kind: "permanent", retryable: false });
  });

  it("classifies the error objects of failed status webhooks by their code", () => {
    expect(classifyGraphError({ code: 131026, title: "Message undeliverable" })).toMatchObject({
      kind: "undeliverable",
    });
  });
});

describe("retryDelayMs", () => {
  it("waits 4^n seconds for the pair rate limit", () => {
    const c = classifyGraphCode(131056);
    expect(retryDelayMs(c, 1, { random: () => 0 })).toBe(4_000);
    expect(retryDelayMs(c, 2, { random: () => 0 })).toBe(16_000);
    expect(retryDelayMs(c, 3, { random: () => 0 })).toBe(64_000);
  });

  it("backs off exponentially with jitter, capped", () => {
    const c = classifyGraphCode(131016);
    expect(retryDelayMs(c, 1, { random: () => 0 })).toBe(500);
    expect(retryDelayMs(c, 1, { random: () => 0.999999 })).toBeLessThanOrEqual(1_000);
    expect(retryDelayMs(c, 4, { random: () => 0 })).toBe(4_000);
    expect(retryDelayMs(c, 30, { random: () => 1, maxMs: 60_000 })).toBe(60_000);
  });

  it("is zero for what must not be retried", () => {
    expect(retryDelayMs(classifyGraphCode(190), 1)).toBe(0);
  });
});
