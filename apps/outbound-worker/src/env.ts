import { assertProductionEndpoints, assertProductionSecrets, envVars as v, parseEnv } from "@linkojob/config";
import { z } from "zod";
import {
  messagingLimitWindowVar,
  defaultQuietHoursVar,
  defaultTimeZoneVar,
  outboundPriceTableVar,
} from "@linkojob/outbound";

/** The outbound worker's configuration, read once from process.env at start-up. */
export const outboundEnvShape = {
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
  META_API_VERSION: v.metaApiVersion,
  META_GRAPH_URL: v.metaGraphUrl,
  TOKEN_ENCRYPTION_KEY: v.tokenEncryptionKey,
  /** Key of the keyed hashes standing for erased candidates' identifiers: the send check finds their kept opt-out (default: derived from TOKEN_ENCRYPTION_KEY). */
  PERSONAL_DATA_HASH_KEY: v.personalDataHashKey,
  /** Refuse stored tokens not bound to their client (true once cli:reencrypt-tokens has run). Default false. */
  VAULT_REQUIRE_BOUND: v.vaultRequireBound,
  /** Sends in progress at once in this process (each mostly waits on Meta). */
  OUTBOUND_CONCURRENCY: z.coerce.number().int().min(1).max(512).default(32),
  /** Campaign sends at once per process (their own queue, beside OUTBOUND_CONCURRENCY's): default 4. */
  OUTBOUND_CAMPAIGN_CONCURRENCY: z.coerce.number().int().min(1).max(512).default(4),
  /** Replies first: campaign work waits for this process's running main-lane sends to end, at most this long (ms; 0: never). */
  OUTBOUND_CAMPAIGN_GIVE_WAY_MS: z.coerce.number().int().min(0).max(5_000).default(100),
  /** A campaign's expansion: recipients decided and queued per slice (the pause comes after each). */
  CAMPAIGN_EXPANSION_SLICE: z.coerce.number().int().min(1).max(500).default(50),
  /** A campaign's expansion waits this many times as long as each slice took (0: no pause): it takes at most 1 / (1 + ratio) of the process. */
  CAMPAIGN_EXPANSION_IDLE_RATIO: z.coerce.number().min(0).max(20).default(2),
  /** Limit for Meta's answer to one send, ms. */
  OUTBOUND_SEND_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(120_000).default(15_000),
  /** How long an unanswered send waits for a status webhook naming it before being sent again, ms. */
  OUTBOUND_UNCERTAIN_GRACE_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(120_000),
  /** First delay of the retry backoff, ms. */
  OUTBOUND_RETRY_BASE_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
  /** Share of each number's throughput used (jitter margin). */
  OUTBOUND_THROUGHPUT_FACTOR: z.coerce.number().min(0.1).max(1).default(0.9),
  /** Spacing of sends to one recipient once its burst is used, ms (Meta: about one per 6 s). */
  OUTBOUND_RECIPIENT_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(6_600),
  /** Sends to one recipient allowed back to back. */
  OUTBOUND_RECIPIENT_BURST: z.coerce.number().int().min(1).max(100).default(3),
  /** Prices in MAD per pricing category, JSON (default: 0.40 for template categories, service free). */
  OUTBOUND_PRICE_TABLE: outboundPriceTableVar,
  /** The portfolio messaging budget's moving window, ms (Meta's 24 h, the default; shortened only by system tests). */
  MESSAGING_LIMIT_WINDOW_MS: messagingLimitWindowVar,
  /** Quiet hours of tenants that set none: "HH:MM-HH:MM" in the candidate's zone, or "off". Default 21:00-09:00. */
  SENDING_DEFAULT_QUIET_HOURS: defaultQuietHoursVar,
  /** IANA zone of tenants that set none, for candidates of unknown country. Default Africa/Casablanca. */
  SENDING_DEFAULT_TIME_ZONE: defaultTimeZoneVar,
  /** How often each client's portfolio messaging limit is read from the Graph API, ms (0 = never). */
  MESSAGING_LIMIT_REFRESH_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(6 * 3_600_000),
  /** Template sync of every active client's WABA, ms (0 = off; Meta allows 200 management calls/h/WABA). */
  TEMPLATE_SYNC_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(6 * 3_600_000),
  /**
   * Hosts whose media URLs may resolve to private addresses (a CDN inside the deployment's network),
   * comma-separated. Empty by default: a send's media URL is fetched only from public addresses.
   */
  OUTBOUND_MEDIA_ALLOW_PRIVATE_HOSTS: z
    .string()
    .default("")
    .transform((s) =>
      s
        .split(",")
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^[a-z0-9.-]+$/, "must be host names, comma-separated"))),
  /** A PEM file of extra CA certificates trusted when fetching media URLs (an internal CDN's CA). */
  OUTBOUND_MEDIA_CA_FILE: z.string().min(1).optional(),
  /** Port of the small /health and /ready HTTP listener (0 = none). */
  HEALTH_PORT: v.port(0),
  /** /ready reports `work: false` once every job attempt has failed this long (10 attempts at least), ms. */
  READY_FAILING_FOR_MS: v.readyFailingForMs,
  /** Bearer token Prometheus sends to scrape /metrics on HEALTH_PORT. Unset: /metrics is open (refused in production). */
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
};

export type OutboundEnv = ReturnType<typeof loadOutboundEnv>;
export const loadOutboundEnv = (source: Record<string, string | undefined> = process.env) => {
  const env = parseEnv(outboundEnvShape, source);
  assertProductionSecrets(source, ["TOKEN_ENCRYPTION_KEY", "METRICS_TOKEN"]);
  assertProductionEndpoints(source, ["META_GRAPH_URL"]);
  return env;
};
