import { z } from "zod";
import { assertNotProduction, envVars as v, parseEnv } from "@linkojob/config";

/** "true"/"1" or "false"/"0" (default false). */
const flag = z
  .enum(["true", "false", "1", "0"], { message: "must be true or false" })
  .default("false")
  .transform((v) => v === "true" || v === "1");

/** The simulator process's configuration, read once from process.env at start-up. */
export const simEnvShape = {
  /** Where the simulator listens (its URL is the META_GRAPH_URL of the other apps). */
  PORT: v.port(4000),
  /** Interface to bind: loopback by default, since a fake Meta must never face a network; 0.0.0.0 in a container. */
  HOST: z.string().min(1).default("127.0.0.1"),
  /** The app id the simulated OAuth accepts as client_id (the same as the ingress's). */
  META_APP_ID: v.metaAppId,
  /** Signs every webhook delivery; must equal the ingress's META_APP_SECRET. */
  META_APP_SECRET: v.metaAppSecret,
  /** The ingress's webhook endpoint, e.g. http://127.0.0.1:3000/webhook. Optional: PUT /_sim/webhooks/target sets it later. */
  WEBHOOK_URL: z
    .url({ protocol: /^https?$/, message: "must be an absolute http(s) URL such as http://127.0.0.1:3000/webhook" })
    .optional(),
  /** Retries after a non-200 answer or a network error, as Meta retries (0 = none). Default 4. */
  WEBHOOK_RETRIES: z.coerce.number().int().min(0).max(19).default(4),
  /** Wait before the first retry; doubles at each retry (capped at 60 s). Default 1,000 ms. */
  WEBHOOK_RETRY_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  /** How non-ASCII text goes on the wire: meta-escaped (default: \uXXXX, as Meta sends) or utf8. */
  WEBHOOK_ENCODING: z.enum(["utf8", "meta-escaped"]).default("meta-escaped"),
  /** Enforce the 24-hour window like Meta (131047 in a failed status; unknown user ids 131062). Default false; the demo turns it on. */
  SIM_ENFORCE_WINDOW: flag,
  /** Refuse template sends that do not match a template the simulator knows (132000…). Default false; the demo turns it on. */
  SIM_ENFORCE_TEMPLATE_PARAMS: flag,
  LOG_LEVEL: v.logLevel,
};

export type SimEnv = ReturnType<typeof loadSimEnv>;
export const loadSimEnv = (source: Record<string, string | undefined> = process.env) => {
  // It signs any delivery and answers for Meta: never beside production processes and secrets.
  assertNotProduction(source, "the Meta simulator");
  return parseEnv(simEnvShape, source);
};
