// The single list of test projects, by layer. The root vitest.config.ts reads it (Vitest >= 3.2
// replaced the workspace file by `test.projects`; keeping the list here keeps one place to add a project).
// - unit: every app's and package's `*.unit.test.ts`, with no service (defined here, at the root);
// - service:<name>: each app's and package's other tests, on the real Redis and MongoDB-protocol server;
// - system: e2e/, the whole gateway as processes.
// One layer: `pnpm test:unit`, `pnpm test:service`, `pnpm test:system` (or `vitest run --project unit`,
// `--project 'service:*'`, `--project system`).
import { defineUnitProject } from "@linkojob/testing/vitest-preset";

export default [defineUnitProject(), "apps/*", "packages/*", "e2e"];
