import { describe, expect, it } from "vitest";
import { EnvError } from "@linkojob/config";
import { loadSimEnv } from "./env.js";

describe("simulator environment", () => {
  it("needs only the app id and secret, with safe defaults", () => {
    expect(loadSimEnv({ META_APP_ID: "1234567890", META_APP_SECRET: "a-secret-of-some-length" })).toEqual({
      PORT: 4000,
      HOST: "127.0.0.1",
      META_APP_ID: "1234567890",
      META_APP_SECRET: "a-secret-of-some-length",
      WEBHOOK_RETRIES: 4,
      WEBHOOK_RETRY_DELAY_MS: 1000,
      WEBHOOK_ENCODING: "meta-escaped",
      SIM_ENFORCE_WINDOW: false,
      SIM_ENFORCE_TEMPLATE_PARAMS: false,
      LOG_LEVEL: "info",
    });
  });

  it("turns Meta's window and template checks on with true or 1, and refuses anything else", () => {
    const base = { META_APP_ID: "1234567890", META_APP_SECRET: "a-secret-of-some-length" };
    expect(loadSimEnv({ ...base, SIM_ENFORCE_WINDOW: "true", SIM_ENFORCE_TEMPLATE_PARAMS: "1" })).toMatchObject({
      SIM_ENFORCE_WINDOW: true,
      SIM_ENFORCE_TEMPLATE_PARAMS: true,
    });
    expect(() => loadSimEnv({ ...base, SIM_ENFORCE_WINDOW: "yes" })).toThrow(
      /SIM_ENFORCE_WINDOW: must be true or false/,
    );
  });

  it("refuses to start with NODE_ENV=production: it signs any delivery it is asked to", () => {
    const base = { META_APP_ID: "1234567890", META_APP_SECRET: "a-secret-of-some-length" };
    expect(() => loadSimEnv({ ...base, NODE_ENV: "production" })).toThrow(
      /NODE_ENV: .*never runs with NODE_ENV=production/,
    );
    expect(loadSimEnv({ ...base, NODE_ENV: "development" }).META_APP_ID).toBe("1234567890");
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
    for (const name of [
      "PORT",
      "META_APP_ID: is required",
      "META_APP_SECRET: is required",
      "WEBHOOK_URL: must be an absolute http(s) URL",
      "WEBHOOK_ENCODING",
    ]) {
      expect(problems).toContain(name);
    }
  });
});
