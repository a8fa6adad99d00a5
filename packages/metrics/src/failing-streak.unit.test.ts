import { describe, expect, it } from "vitest";
import { FailingStreak } from "./failing-streak.js";
import { readiness } from "./readiness.js";

describe("FailingStreak", () => {
  it("turns /ready to 503 once every attempt has failed long enough, and back on the first success", async () => {
    let now = 1_000;
    const streak = new FailingStreak({ failingForMs: 60_000, minFailures: 3, now: () => now });
    const ready = async () => (await readiness({ work: streak.check })).statusCode;
    expect(await ready()).toBe(200);

    streak.failed();
    streak.failed();
    now += 120_000;
    expect(await ready()).toBe(200); // long, but only two failures
    streak.failed();
    expect(await ready()).toBe(503);

    streak.succeeded();
    expect(await ready()).toBe(200);
    for (let i = 0; i < 5; i++) streak.failed();
    now += 59_000;
    expect(await ready()).toBe(200); // many failures, but not for a minute yet
    now += 1_000;
    expect(await ready()).toBe(503);
  });
});
