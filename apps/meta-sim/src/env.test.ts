import { describe, expect, it } from "vitest";
import { EnvError } from "@linkojob/config";
import { loadSimEnv } from "./env";

describe("simulator environment", () => {
  it("needs only the app id and secret, with safe defaults", () => {
    expect(loadSimEnv({ META_APP_ID: "1234567890", META_APP_SECRET: "a-secret-of-some-length" })).toEqual({
      PORT: 4000,
      HOST: "127.0.0.1",
      META_APP_ID: "1234567890",
      META_APP_SECRET: "a-secret-of-some-length",
      WEBHOOK_RETRIES: 4,
      WEBHOOK_RETRY_DELAY_MS: 1000,
      WEBHOOK_ENCODING: "utf8",
      LOG_LEVEL: "info",
    });
  });

  it("names every problem at once", () => {
    let error: unknown;
    try {
      loadSimEnv({ PORT: "http", WEBHOOK_URL: "ingress:3000", WEBHOOK_ENCODING: "latin1" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EnvError);
    const problems = (error as EnvError).problems.join("\n");
    for (const name of ["PORT", "META_APP_ID: is required", "META_APP_SECRET: is required", "WEBHOOK_URL: must be an absolute http(s) URL", "WEBHOOK_ENCODING"]) {
      expect(problems).toContain(name);
    }
  });
});
