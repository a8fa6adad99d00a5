import { z } from "zod";
import {
  assertProductionEndpoints,
  assertProductionRequired,
  assertProductionSecrets,
  envVars as v,
  parseEnv,
} from "@linkojob/config";
import {
  defaultQuietHoursVar,
  defaultTimeZoneVar,
  messagingLimitWindowVar,
  outboundPriceTableVar,
} from "@linkojob/outbound";
import { PRODUCTION_JWT_CLAIMS, jwtEnvShape } from "@linkojob/auth";
import { trustProxyVar } from "./ops/trust-proxy.js";

/** The ingress's configuration, read once from process.env at start-up. */
export const ingressEnvShape = {
  PORT: v.port(3000),
  BASE_URL: v.baseUrl,
  MONGODB_URI: v.mongodbUri,
  REDIS_URL: v.redisUrl,
  /** Redis Cluster seed nodes, host:port comma-separated; set, they replace REDIS_URL's host (QUEUE_PREFIX then needs a hash tag, e.g. {lj}). */
  REDIS_CLUSTER_NODES: v.redisClusterNodes,
  /** Redis Sentinels, host:port comma-separated; set with REDIS_SENTINEL_NAME, every connection follows the primary they name. */
  REDIS_SENTINELS: v.redisSentinels,
  /** The master name the Sentinels monitor (required with REDIS_SENTINELS). */
  REDIS_SENTINEL_NAME: v.redisSentinelName,
  /**
   * With REDIS_SENTINELS: how long a webhook (or an accepted send) waits for the replica's copy
   * (WAIT 1 <ms>) before it is answered 503 instead of 200 (202), ms (0 = do not wait). Below the
   * webhook connection's 2 s command timeout.
   */
  REDIS_REPLICA_WAIT_MS: z.coerce.number().int().min(0).max(1_500).default(500),
  META_APP_ID: v.metaAppId,
  META_APP_SECRET: v.metaAppSecret,
  META_WEBHOOK_VERIFY_TOKEN: v.metaWebhookVerifyToken,
  META_API_VERSION: v.metaApiVersion,
  META_GRAPH_URL: v.metaGraphUrl,
  TOKEN_ENCRYPTION_KEY: v.tokenEncryptionKey,
  /** Key of the keyed hashes standing for erased candidates' identifiers (default: derived from TOKEN_ENCRYPTION_KEY). */
  PERSONAL_DATA_HASH_KEY: v.personalDataHashKey,
  /** Retention defaults, as the inbound worker's (shown and replaced per tenant by /api/clients/:clientId/retention). */
  RETENTION_WEBHOOK_EVENTS_DAYS: v.retentionPeriod(30),
  RETENTION_DEAD_LETTERS_DAYS: v.retentionPeriod(90),
  RETENTION_MESSAGES_MONTHS: v.retentionPeriod(24),
  /** Refuse stored tokens not bound to their client (true once cli:reencrypt-tokens has run). Default false. */
  VAULT_REQUIRE_BOUND: v.vaultRequireBound,
  JWT_SECRET: v.jwtSecret,
  /** Prices in MAD per pricing category, JSON, of the send API's answer and preview (default: 0.40 for template categories, service free). */
  OUTBOUND_PRICE_TABLE: outboundPriceTableVar,
  /** The portfolio messaging budget's moving window, ms (Meta's 24 h, the default; shortened only by system tests). */
  MESSAGING_LIMIT_WINDOW_MS: messagingLimitWindowVar,
  /** Quiet hours of tenants that set none: "HH:MM-HH:MM" in the candidate's zone, or "off". Default 21:00-09:00. */
  SENDING_DEFAULT_QUIET_HOURS: defaultQuietHoursVar,
  /** IANA zone of tenants that set none, for candidates of unknown country. Default Africa/Casablanca. */
  SENDING_DEFAULT_TIME_ZONE: defaultTimeZoneVar,
  ...jwtEnvShape,
  /** Origins of the dashboards allowed to call the API from a browser (CORS, with credentials), "*" for any (without credentials). */
  CORS_ORIGIN: v.corsOrigin,
  /** Proxies trusted for X-Forwarded-For: a hop count or IPs/CIDRs. Default none (the TCP peer is the client). */
  TRUST_PROXY: trustProxyVar,
  LOG_LEVEL: v.logLevel,
  /** Prefix of every BullMQ and Redis key of this deployment (several deployments may share a Redis). */
  QUEUE_PREFIX: v.queuePrefix,
  // --- Recruiter onboarding (Embedded Signup) ---
  /** Meta Login-for-Business configuration id of Embedded Signup; sent as config_id when set. */
  META_CONFIG_ID: z.string().regex(/^\d+$/, "must be the numeric configuration id").optional(),
  /** Base URL of Meta's OAuth dialog: Meta's by default, the simulator's URL in development and tests. */
  META_DIALOG_URL: z
    .url()
    .default("https://www.facebook.com")
    .transform((s) => s.replace(/\/+$/, "")),
  /** Dashboard page the OAuth callback sends the recruiter back to (outcome in the query). Default BASE_URL + "/". */
  DASHBOARD_URL: z
    .url({ message: "must be an absolute URL such as https://app.linkojob.ma/settings/whatsapp" })
    .optional(),
  /** Lifetime of the OAuth state of the connect flow, in seconds (Meta's dialog takes a minute or two). */
  ONBOARDING_STATE_TTL_SECONDS: z.coerce.number().int().min(60).max(3600).default(600),
  // --- Recruiter inbox page (/inbox) ---
  /** URL the browser opens Socket.io on (the realtime server as the recruiter's browser reaches it). Unset: no live updates. */
  REALTIME_PUBLIC_URL: z
    .url()
    .optional()
    .transform((s) => s?.replace(/\/+$/, "")),
  /** Meta simulator's base URL, demo only: enables the inbox's "candidate replies / sends a CV / reacts" controls. Never set in production. */
  DEMO_SIM_URL: z
    .url()
    .optional()
    .transform((s) => s?.replace(/\/+$/, "")),
  // --- Operations ---
  /** Let Bull Board (/admin/queues) retry, promote, clean, pause and add jobs. Default false: it only shows. */
  BULL_BOARD_ALLOW_ACTIONS: z
    .enum(["true", "false", "1", "0"])
    .default("false")
    .transform((s) => s === "true" || s === "1"),
  /** Window the API rate limits count over, ms. /webhook, /health, /ready and /metrics are never limited. */
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  /** Requests per window per client IP without a valid JWT (the OAuth callback, /docs, failed logins). */
  RATE_LIMIT_ANONYMOUS_MAX: z.coerce.number().int().min(1).default(120),
  /** Requests per window per recruiter or admin (JWT subject); the dashboard and Bull Board poll every few seconds. */
  RATE_LIMIT_USER_MAX: z.coerce.number().int().min(1).default(600),
  /** Bearer token Prometheus sends to scrape /metrics. Unset: /metrics is open (refused in production). */
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /** Requests per window per service subject (the platform backend's bulk sends: 6,000/min = 100/s, above one number's 80/s). */
  RATE_LIMIT_SERVICE_MAX: z.coerce.number().int().min(1).default(6_000),
};

export type IngressEnv = ReturnType<typeof loadIngressEnv>;
export const loadIngressEnv = (source: Record<string, string | undefined> = process.env) => {
  const env = parseEnv(ingressEnvShape, source);
  assertProductionSecrets(source, [
    "META_APP_SECRET",
    "META_WEBHOOK_VERIFY_TOKEN",
    "TOKEN_ENCRYPTION_KEY",
    "JWT_SECRET",
    "METRICS_TOKEN",
  ]);
  assertProductionEndpoints(source, ["META_GRAPH_URL", "META_DIALOG_URL", "DEMO_SIM_URL"]);
  // Without them, a token the platform signs for another service with the same secret is accepted.
  assertProductionRequired(source, PRODUCTION_JWT_CLAIMS);
  return env;
};
