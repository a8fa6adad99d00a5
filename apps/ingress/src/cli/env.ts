import { assertProductionEndpoints, parseEnv } from "@linkojob/config";
import { ingressEnvShape } from "../env.js";

/**
 * The command-line tools run in the ingress's environment but need only part of it: each command
 * parses just the variables it uses (same schema, same messages), so that an operator can run
 * `reencrypt-tokens` with MONGODB_URI and TOKEN_ENCRYPTION_KEY alone.
 */
function pick<K extends keyof typeof ingressEnvShape>(...keys: K[]): Pick<typeof ingressEnvShape, K> {
  return Object.fromEntries(keys.map((k) => [k, ingressEnvShape[k]])) as Pick<typeof ingressEnvShape, K>;
}

export const reencryptEnvShape = pick("MONGODB_URI", "TOKEN_ENCRYPTION_KEY");
export const connectEnvShape = pick(
  "MONGODB_URI",
  "REDIS_URL",
  "REDIS_CLUSTER_NODES",
  "REDIS_SENTINELS",
  "REDIS_SENTINEL_NAME",
  "META_APP_ID",
  "META_APP_SECRET",
  "META_API_VERSION",
  "META_GRAPH_URL",
  "TOKEN_ENCRYPTION_KEY",
  "VAULT_REQUIRE_BOUND",
  "QUEUE_PREFIX",
);

export const sendStateEnvShape = pick(
  "MONGODB_URI",
  "REDIS_URL",
  "REDIS_CLUSTER_NODES",
  "REDIS_SENTINELS",
  "REDIS_SENTINEL_NAME",
  "QUEUE_PREFIX",
);

export const rebuildAnalyticsEnvShape = pick("MONGODB_URI", "OUTBOUND_PRICE_TABLE");
export const loadRebuildAnalyticsEnv = (source: Record<string, string | undefined> = process.env) =>
  parseEnv(rebuildAnalyticsEnvShape, source);

export const loadSendStateEnv = (source: Record<string, string | undefined> = process.env) =>
  parseEnv(sendStateEnvShape, source);
export const loadReencryptEnv = (source: Record<string, string | undefined> = process.env) =>
  parseEnv(reencryptEnvShape, source);
export const loadConnectEnv = (source: Record<string, string | undefined> = process.env) => {
  const env = parseEnv(connectEnvShape, source);
  assertProductionEndpoints(source, ["META_GRAPH_URL"]);
  return env;
};
