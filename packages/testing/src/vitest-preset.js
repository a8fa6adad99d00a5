// Plain JavaScript on purpose: Vitest loads a project's vitest.config.ts with esbuild and leaves
// imported packages to Node, which cannot run TypeScript. Types: vitest-preset.d.ts.
//
// The suite has three layers, one Vitest project kind each:
// - unit: pure code, `*.unit.test.ts` in every app and package; no Redis, no MongoDB, no process,
//   no port (nothing provides them: a unit test that reaches for a service fails);
// - service (`service:<workspace>`): one app or package against the real Redis and MongoDB-protocol
//   server that global-setup.ts starts once per run; every other `*.test.ts` under an app or package;
// - system: `e2e/`, the whole gateway as processes.
import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";

/** Starts (or reuses, from MONGODB_URI / REDIS_URL) a real MongoDB-protocol server and Redis once per run. */
const servicesSetup = fileURLToPath(new URL("./global-setup.ts", import.meta.url));

/**
 * Workspace packages export their TypeScript source under the "@linkojob/source" condition and their
 * compiled dist/ otherwise: tests run the source, with Vite's own conditions after it.
 */
const conditions = ["@linkojob/source", "module", "node", "development|production"];
const resolution = {
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ["@linkojob/source"] } },
};

/**
 * `expect.poll` waits for a state the processes reach on their own (a page updated by a socket
 * event, a message stored by a worker): Vitest's default of one second is a timing assumption that a
 * loaded machine breaks, so service and system tests poll for up to 15 s (a poll that succeeds
 * returns at once; one that never can still fails).
 */
const expectOptions = { poll: { timeout: 15_000, interval: 100 } };

/** Unit tests are named after what they prove, with `.unit` before `.test.ts`. */
export const UNIT_TEST_PATTERN = "**/*.unit.test.ts";

/** @type {import("./vitest-preset").defineUnitProject} */
export function defineUnitProject(options = {}) {
  return defineProject({
    ...resolution,
    test: {
      name: "unit",
      include: options.include ?? [`apps/*/src/${UNIT_TEST_PATTERN}`, `packages/*/src/${UNIT_TEST_PATTERN}`],
      testTimeout: options.testTimeout ?? 30_000,
    },
  });
}

/** @type {import("./vitest-preset").defineServiceProject} */
export function defineServiceProject(name, options = {}) {
  return defineProject({
    ...resolution,
    test: {
      name: `service:${name}`,
      include: options.include ?? ["src/**/*.test.ts"],
      exclude: ["**/node_modules/**", "**/dist/**", UNIT_TEST_PATTERN],
      globalSetup: [servicesSetup],
      expect: expectOptions,
      testTimeout: options.testTimeout ?? 30_000,
      hookTimeout: options.hookTimeout ?? 120_000,
    },
  });
}

/** @type {import("./vitest-preset").defineSystemProject} */
export function defineSystemProject(options = {}) {
  return defineProject({
    ...resolution,
    test: {
      name: "system",
      include: options.include ?? ["src/**/*.test.ts"],
      globalSetup: [servicesSetup],
      expect: expectOptions,
      testTimeout: options.testTimeout ?? 120_000,
      hookTimeout: options.hookTimeout ?? 120_000,
    },
  });
}
