import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "vault",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Pure crypto: no MongoDB or Redis needed, so no globalSetup (the stored form is tested in the ingress).
    testTimeout: 30_000,
  },
});
