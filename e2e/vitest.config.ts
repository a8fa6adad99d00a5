import { defineSystemProject } from "@linkojob/testing/vitest-preset";

// Whole-system runs: each test drives every process, so a test may take up to two minutes.
export default defineSystemProject();
