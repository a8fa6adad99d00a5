import { defineServiceProject } from "@linkojob/testing/vitest-preset";

// Whole-system runs: each test drives every process, so a test may take up to two minutes.
export default defineServiceProject("e2e", { include: ["src/**/*.test.ts"], testTimeout: 120_000 });
