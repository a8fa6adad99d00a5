import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "outbound",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Real MongoDB-protocol server and Redis for every test (MONGODB_URI / REDIS_URL, else started here).
    globalSetup: ["../../packages/testing/src/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
