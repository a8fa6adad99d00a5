import { describe, expect, it } from "vitest";
import { READINESS_TIMEOUT_MS, readiness, withinTimeout } from "./readiness.js";

describe("readiness", () => {
  it("is 200 when every check passes, 503 naming the checks that failed, rejected or hung", async () => {
    expect(await readiness({ redis: () => Promise.resolve(true), mongo: () => Promise.resolve(true) })).toEqual({
      statusCode: 200,
      body: { status: "ready", checks: { redis: true, mongo: true } },
    });
    const hung = () => new Promise<boolean>(() => undefined);
    const answer = await readiness(
      {
        redis: () => Promise.resolve(true),
        mongo: () => Promise.reject(new Error("down")),
        sub: hung,
        flag: () => Promise.resolve(false),
      },
      50,
    );
    expect(answer).toEqual({
      statusCode: 503,
      body: { status: "not_ready", checks: { redis: true, mongo: false, sub: false, flag: false } },
    });
  });

  it("bounds a check by the timeout, and leaves a fast answer as it is", async () => {
    const started = Date.now();
    expect(await withinTimeout(() => new Promise<boolean>(() => undefined), 40)).toBe(false);
    expect(Date.now() - started).toBeLessThan(READINESS_TIMEOUT_MS);
    expect(await withinTimeout(() => Promise.resolve(true), 40)).toBe(true);
  });
});
