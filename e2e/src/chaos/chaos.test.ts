/**
 * The short version of the chaos command (`pnpm --filter @linkojob/e2e chaos`, see the root README):
 * each fault once, on a small load, with the same exact checks.
 */
import { describe, expect, it } from "vitest";
import { SCENARIOS, runScenario } from "./chaos.harness.js";

describe("chaos, short", () => {
  for (const scenario of SCENARIOS) {
    it(
      `${scenario}: every message stored once, every counter exact, nothing left queued`,
      { timeout: 300_000 },
      async () => {
        const result = await runScenario(scenario, {
          messages: 120,
          workers: 2,
          tenants: 2,
          candidates: 15,
          posters: 8,
          outageMs: 3_000,
          concurrency: 16,
          drainTimeoutMs: 240_000,
          log: (line) => console.log(line),
        });
        expect(result.problems).toEqual([]);
        expect(result.messages).toBe(120);
      },
    );
  }
});
