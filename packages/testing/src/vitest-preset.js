// Plain JavaScript on purpose: Vitest loads a project's vitest.config.ts with esbuild and leaves
// imported packages to Node, which cannot run TypeScript. Types: vitest-preset.d.ts.
import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";

/** Starts (or reuses, from MONGODB_URI / REDIS_URL) a real MongoDB-protocol server and Redis once per run. */
const servicesSetup = fileURLToPath(new URL("./global-setup.ts", import.meta.url));

/**
 * Workspace packages export their TypeScript source under the "@linkojob/source" condition and their
 * compiled dist/ otherwise: tests run the source, with Vite's own conditions after it.
 */
const conditions = ["@linkojob/source", "module", "node", "development|production"];

/** @type {import("./vitest-preset").defineServiceProject} */
export function defineServiceProject(name, options = {}) {
  const services = options.services ?? true;
  const hookTimeout = options.hookTimeout ?? (services ? 120_000 : undefined);
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ["@linkojob/source"] } },
    test: {
      name,
      include: options.include ?? ["src/**/*.test.ts"],
      ...(services ? { globalSetup: [servicesSetup] } : {}),
      testTimeout: options.testTimeout ?? 30_000,
      ...(hookTimeout === undefined ? {} : { hookTimeout }),
    },
  });
}
