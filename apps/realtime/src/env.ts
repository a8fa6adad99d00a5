import { z } from "zod";
import { assertProductionRequired, assertProductionSecrets, envVars as v, parseEnv } from "@linkojob/config";
import { PRODUCTION_JWT_CLAIMS, jwtEnvShape } from "@linkojob/auth";

/** The realtime server's configuration, read once from process.env at start-up. */
export const realtimeEnvShape = {
  /** Port of the HTTP server that carries the websockets, /health and /ready. */
  PORT: v.port(3001),
  /** Redis for the socket.io adapter: every node and every DashboardEvents emitter share it. */
  REDIS_URL: v.redisUrl,
  /** Redis Cluster seed nodes, host:port comma-separated; set, they replace REDIS_URL's host (QUEUE_PREFIX then needs a hash tag, e.g. {lj}). */
  REDIS_CLUSTER_NODES: v.redisClusterNodes,
  /** Redis Sentinels, host:port comma-separated; set with REDIS_SENTINEL_NAME, every connection follows the primary they name. */
  REDIS_SENTINELS: v.redisSentinels,
  /** The master name the Sentinels monitor (required with REDIS_SENTINELS). */
  REDIS_SENTINEL_NAME: v.redisSentinelName,
  /** Prefix of the deployment's Redis keys (the connection guard's counters); `{lj}` on a Redis Cluster. */
  QUEUE_PREFIX: v.queuePrefix,
  /** MongoDB, read at handshake to find which clients (tenants) a token may follow. */
  MONGODB_URI: v.mongodbUri,
  /** HS256 secret of the platform's JWTs (the same as the ingress's). */
  JWT_SECRET: v.jwtSecret,
  ...jwtEnvShape,
  /** Events one socket may send per SOCKET_EVENT_WINDOW_SECONDS before it is disconnected (RATE_LIMITED). */
  SOCKET_EVENT_BUDGET: z.coerce.number().int().min(1).max(10_000).default(30),
  /** Window of SOCKET_EVENT_BUDGET, seconds. */
  SOCKET_EVENT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** Origins allowed to open sockets ("*" for any); requests without an Origin header are not browsers. */
  CORS_ORIGIN: v.corsOrigin,
  LOG_LEVEL: v.logLevel,
};

export type RealtimeEnv = ReturnType<typeof loadRealtimeEnv>;
export const loadRealtimeEnv = (source: Record<string, string | undefined> = process.env) => {
  const env = parseEnv(realtimeEnvShape, source);
  assertProductionSecrets(source, ["JWT_SECRET"]);
  // Without them, a token the platform signs for another service with the same secret is accepted.
  assertProductionRequired(source, PRODUCTION_JWT_CLAIMS);
  return env;
};
