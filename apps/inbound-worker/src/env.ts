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
  /** Redis Sentinels, host:port comma-separated; set with REDIS_SENTINEL_NAME, every connection follows the primary they name. */
  REDIS_SENTINELS: v.redisSentinels,
  /** The master name the Sentinels monitor (required with REDIS_SENTINELS). */
  REDIS_SENTINEL_NAME: v.redisSentinelName,
  LOG_LEVEL: v.logLevel,
  QUEUE_PREFIX: v.queuePrefix,
  /** Webhook deliveries in flight at once in this process; they are written to MongoDB together, in batches. */
  INBOUND_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(64),
  /** Port of the small /health and /ready HTTP listener (0 = none). */
  /** Prices in MAD per pricing category, JSON, the status hook reconciles costs with (default: 0.40 for template categories, service free). */
  OUTBOUND_PRICE_TABLE: outboundPriceTableVar,
  HEALTH_PORT: v.port(0),
  /** /ready reports `work: false` once every job attempt has failed this long (10 attempts at least), ms. */
  READY_FAILING_FOR_MS: v.readyFailingForMs,
  /** Bearer token Prometheus sends to scrape /metrics on HEALTH_PORT. Unset: /metrics is open (refused in production). */
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  ...mediaEnvShape,
  /** Key of the keyed hashes standing for erased candidates' identifiers (default: derived from TOKEN_ENCRYPTION_KEY). */
  PERSONAL_DATA_HASH_KEY: v.personalDataHashKey,
  /** Days raw webhook records (webhook_events but dead letters) are kept, or `never`. Default 30. */
  RETENTION_WEBHOOK_EVENTS_DAYS: v.retentionPeriod(30),
  /** Days dead letters (whole delivery bodies) are kept, or `never`. Default 90. */
  RETENTION_DEAD_LETTERS_DAYS: v.retentionPeriod(90),
  /** Months a conversation, its messages and media are kept after its last message, or `never`. Default 24. */
  RETENTION_MESSAGES_MONTHS: v.retentionPeriod(24),
  /** How often the retention purge runs (ms). Default daily. */
  RETENTION_PURGE_EVERY_MS: z.coerce.number().int().min(60_000).default(86_400_000),
  /** Documents the purge deletes per request. Default 100. */
  RETENTION_PURGE_BATCH: z.coerce.number().int().min(1).max(10_000).default(100),
  /** Shortest pause between two purge batches (ms), after yielding to live work. Default 25. */
  RETENTION_PURGE_PAUSE_MS: z.coerce.number().int().min(0).max(60_000).default(25),
  /** Pause after a purge batch as a multiple of its own duration (the purge holds the database at most 1/(1+factor) of the time). Default 4. */
  RETENTION_PURGE_PAUSE_FACTOR: z.coerce.number().min(0).max(100).default(4),
  /** Longest wait for live work (deliveries and sends waiting) before each purge batch, ms. Default 10,000. */
  RETENTION_PURGE_MAX_YIELD_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
};

/**
 * What `cli:replay-dead-letters` needs: the stores, the queue, and META_APP_SECRET to check that each
 * dead letter's body still carries Meta's signature.
 */
export const loadReplayEnv = (source: Record<string, string | undefined> = process.env) => {
  const { MONGODB_URI, REDIS_URL, REDIS_CLUSTER_NODES, REDIS_SENTINELS, REDIS_SENTINEL_NAME, QUEUE_PREFIX } =
    inboundEnvShape;
  return parseEnv(
    {
      MONGODB_URI,
      REDIS_URL,
      REDIS_CLUSTER_NODES,
      REDIS_SENTINELS,
      REDIS_SENTINEL_NAME,
      QUEUE_PREFIX,
      META_APP_SECRET: v.metaAppSecret,
    },
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
