import { assertProductionEndpoints, assertProductionSecrets, envVars as v, parseEnv } from "@linkojob/config";
import { z } from "zod";
import { mediaEnvShape } from "./media/media-env.js";
import { outboundPriceTableVar } from "@linkojob/outbound";

/** The inbound worker's configuration, read once from process.env at start-up. */
export const inboundEnvShape = {
  MONGODB_URI: v.mongodbUri,
  REDIS_URL: v.redisUrl,
  /** Redis Cluster seed nodes, host:port comma-separated; set, they replace REDIS_URL's host (QUEUE_PREFIX then needs a hash tag, e.g. {lj}). */
  REDIS_CLUSTER_NODES: v.redisClusterNodes,
  LOG_LEVEL: v.logLevel,
  QUEUE_PREFIX: v.queuePrefix,
  /** Webhook deliveries in flight at once in this process; they are written to MongoDB together, in batches. */
  INBOUND_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(64),
  /** Port of the small /health and /ready HTTP listener (0 = none). */
  /** Prices in MAD per pricing category, JSON, the status hook reconciles costs with (default: 0.40 for template categories, service free). */
  OUTBOUND_PRICE_TABLE: outboundPriceTableVar,
  HEALTH_PORT: v.port(0),
  /** Bearer token Prometheus sends to scrape /metrics on HEALTH_PORT. Unset: /metrics is open (refused in production). */
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  ...mediaEnvShape,
};

/**
 * What `cli:replay-dead-letters` needs: the stores, the queue, and META_APP_SECRET to check that each
 * dead letter's body still carries Meta's signature.
 */
export const loadReplayEnv = (source: Record<string, string | undefined> = process.env) => {
  const { MONGODB_URI, REDIS_URL, REDIS_CLUSTER_NODES, QUEUE_PREFIX } = inboundEnvShape;
  return parseEnv(
    { MONGODB_URI, REDIS_URL, REDIS_CLUSTER_NODES, QUEUE_PREFIX, META_APP_SECRET: v.metaAppSecret },
    source,
  );
};

export type InboundEnv = ReturnType<typeof loadInboundEnv>;
export const loadInboundEnv = (source: Record<string, string | undefined> = process.env) => {
  const env = parseEnv(inboundEnvShape, source);
  assertProductionSecrets(source, ["TOKEN_ENCRYPTION_KEY", "METRICS_TOKEN"]);
  assertProductionEndpoints(source, ["META_GRAPH_URL"]);
  return env;
};
