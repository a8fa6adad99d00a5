import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "e2e",
    include: ["src/**/*.test.ts"],
    // Real MongoDB-protocol server and Redis (MONGODB_URI / REDIS_URL, else started here).
    globalSetup: ["../../packages/testing/src/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
