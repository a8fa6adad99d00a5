import { z } from "zod";

/**
 * The building blocks of every app's environment schema, one per documented variable, so that
 * each variable is spelled, described and defaulted in exactly one place.
 */

/** TCP port an HTTP process listens on. */
export const port = (defaultPort: number) => z.coerce.number().int().min(0).max(65535).default(defaultPort);

/** Public base URL of the ingress, used to build OAuth redirect URIs (no trailing slash). */
export const baseUrl = z
  .url({ message: "must be an absolute URL such as https://wa.example.com" })
  .transform((s) => s.replace(/\/+$/, ""));

/** MongoDB connection string (Atlas in production; FerretDB or mongo:7 locally). */
export const mongodbUri = z.string().regex(/^mongodb(\+srv)?:\/\//, "must start with mongodb:// or mongodb+srv://");

/** Redis connection string used by queues, the socket.io adapter and caches. */
export const redisUrl = z.string().regex(/^rediss?:\/\//, "must start with redis:// or rediss://");

/** Meta app id (numeric string). */
export const metaAppId = z.string().regex(/^\d+$/, "must be the numeric Meta app id");

/** Meta app secret: signs webhooks (X-Hub-Signature-256) and authenticates app calls. */
export const metaAppSecret = z.string().min(8, "must be the Meta app secret");

/** The token Meta echoes back when it verifies the webhook subscription (GET /webhook). */
export const metaWebhookVerifyToken = z.string().min(8, "must be at least 8 characters");

/**
 * The Graph API version Meta documents as its latest (v26.0, released 29 July 2026; v21.0, the
 * earlier default, is retired on 21 January 2027). Meta keeps each version about two years: move
 * it with Meta's changelog, and pin it in production with META_API_VERSION.
 */
export const DEFAULT_GRAPH_API_VERSION = "v26.0";

/** Graph API version, e.g. v26.0. */
export const metaApiVersion = z
  .string()
  .regex(/^v\d+\.\d+$/, "must look like v26.0")
  .default(DEFAULT_GRAPH_API_VERSION);

/** Base URL of the Graph API; Meta's by default, the project's simulator in development and tests. */
export const metaGraphUrl = z
  .url()
  .default("https://graph.facebook.com")
  .transform((s) => s.replace(/\/+$/, ""));

/**
 * VAULT_REQUIRE_BOUND: refuse stored tokens whose ciphertext is not bound to its client (written
 * before client binding, or the proof of concept's strings). Set true once `cli:reencrypt-tokens` has
 * rewritten them: until then such a ciphertext decrypts for any client it is copied into.
 */
export const vaultRequireBound = z
  .enum(["true", "false", "1", "0"], { message: "must be true or false" })
  .default("false")
  .transform((v) => v === "true" || v === "1");

/**
 * AES-256-GCM key(s) for tokens at rest: 64 hex characters. Several keys may be given separated by
 * commas for rotation: the first encrypts, all decrypt.
 */
export const tokenEncryptionKey = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((k) => k.trim())
      .filter(Boolean),
  )
  .pipe(
    z
      .array(z.string().regex(/^[0-9a-fA-F]{64}$/, "each key must be 64 hex characters (32 bytes)"))
      .min(1, "at least one key is required"),
  );

/**
 * Key of the keyed hashes (HMAC-SHA256) that stand for a candidate's identifiers once erased (the
 * opt-out, the lookup of a running erasure): 64 hex characters. Unset: derived from the first
 * TOKEN_ENCRYPTION_KEY (set it before rotating those keys, or the derived key changes with them).
 */
export const personalDataHashKey = z.preprocess(
  // Empty (docker-compose's `${PERSONAL_DATA_HASH_KEY:-}`): unset.
  (s) => (s === "" ? undefined : s),
  z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex characters (32 bytes)")
    .optional(),
);

/** A retention period in whole days or months, or `never` (kept forever): a number, or null for never. */
export const retentionPeriod = (defaultValue: number) =>
  z
    .union([z.literal("never"), z.coerce.number().int().min(1)])
    .default(defaultValue)
    .transform((v) => (v === "never" ? null : v));

/** HS256 secret for the platform's JWTs (at least 32 characters). */
export const jwtSecret = z.string().min(32, "must be at least 32 characters");

/** Comma-separated list of origins allowed to call the API and open sockets ("*" for any). */
export const corsOrigin = z
  .string()
  .default("*")
  .transform((s) =>
    s.trim() === "*"
      ? true
      : s
          .split(",")
          .map((o) => o.trim())
          .filter(Boolean),
  );

/**
 * How long every job attempt of a worker must have failed (its database or Redis calls, not a
 * refusal from Meta) before its /ready reports `work: false`, ms. Default one minute.
 */
export const readyFailingForMs = z.coerce.number().int().min(1_000).max(3_600_000).default(60_000);

/** pino log level. */
export const logLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info");

/**
 * Seed nodes of a Redis Cluster, comma-separated host:port (e.g. "10.0.0.1:7000,10.0.0.2:7000").
 * Set: every process connects to the cluster (ioredis Cluster) instead of the server at REDIS_URL,
 * whose user, password and rediss:// TLS still apply; QUEUE_PREFIX must then carry a hash tag.
 */
export const redisClusterNodes = hostPortList("cluster nodes");

/**
 * Redis Sentinels, comma-separated host:port (e.g. "10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379").
 * Set (with REDIS_SENTINEL_NAME): every process asks the sentinels for the current primary of that
 * name and follows it through a failover; REDIS_URL's user, password and rediss:// TLS still apply
 * to the primary (its host is not used).
 */
export const redisSentinels = hostPortList("sentinels");

/** The master name the sentinels monitor (`sentinel monitor <name> …`); required with REDIS_SENTINELS. */
export const redisSentinelName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, "letters, digits, '.', '_' and '-' only")
  .optional();

/** A comma-separated host:port list (IPv6 in brackets), parsed to { host, port }[]; empty when unset. */
function hostPortList(what: string) {
  return z
    .string()
    .optional()
    .transform((s, ctx) => {
      const items = (s ?? "")
        .split(",")
        .map((n) => n.trim())
        .filter(Boolean);
      const nodes: Array<{ host: string; port: number }> = [];
      for (const item of items) {
        const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(item);
        const port = m ? Number(m[2]) : 0;
        if (!m || port < 1 || port > 65535) {
          ctx.addIssue({ code: "custom", message: `"${item}" is not host:port (comma-separated list of ${what})` });
          return z.NEVER;
        }
        nodes.push({ host: m[1]!.replace(/^\[|\]$/g, ""), port });
      }
      return nodes;
    });
}

/** The hash tag of a Redis key or prefix (what Redis Cluster hashes to pick the slot), or null. */
export function hashTagOf(key: string): string | null {
  const open = key.indexOf("{");
  if (open < 0) return null;
  const close = key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : null;
}

/**
 * Prefix of every BullMQ queue and Redis key of one deployment. On a Redis Cluster it carries a hash
 * tag, e.g. "{lj}": every key then hashes to one slot, as BullMQ's and our multi-key scripts need.
 */
export const queuePrefix = z
  .string()
  .regex(/^[a-zA-Z0-9:_{}-]{1,40}$/, "letters, digits, ':', '_', '-' and one {hash tag} only")
  .refine(
    (s) => !/[{}]/.test(s) || (/^[^{}]*\{[^{}]+\}[^{}]*$/.test(s) && hashTagOf(s) !== null),
    "at most one non-empty {hash tag}, e.g. {lj}",
  )
  .default("lj");

/**
 * Rules that span two variables, checked by parseEnv whenever both are in an app's schema. Each
 * returns the problem or null.
 */
export const crossChecks: Array<(env: Record<string, unknown>) => string | null> = [
  (env) => {
    const nodes = env.REDIS_CLUSTER_NODES;
    const prefix = env.QUEUE_PREFIX;
    if (!Array.isArray(nodes) || nodes.length === 0 || typeof prefix !== "string") return null;
    return hashTagOf(prefix) === null
      ? `QUEUE_PREFIX: "${prefix}" has no hash tag; with REDIS_CLUSTER_NODES set it must carry one, e.g. "{${prefix.replace(/[{}]/g, "")}}"`
      : null;
  },
  (env) => {
    const sentinels = env.REDIS_SENTINELS;
    if (!Array.isArray(sentinels) || sentinels.length === 0) return null;
    if (Array.isArray(env.REDIS_CLUSTER_NODES) && env.REDIS_CLUSTER_NODES.length > 0)
      return "REDIS_SENTINELS: set with REDIS_CLUSTER_NODES; a deployment uses one or the other";
    return env.REDIS_SENTINEL_NAME
      ? null
      : "REDIS_SENTINEL_NAME: is required with REDIS_SENTINELS (the monitored master's name)";
  },
];
