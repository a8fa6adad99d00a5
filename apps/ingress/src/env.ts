import { envVars as v, parseEnv } from "@linkojob/config";

/** The ingress's configuration, read once from process.env at start-up. */
export const ingressEnvShape = {
  PORT: v.port(3000),
  BASE_URL: v.baseUrl,
  MONGODB_URI: v.mongodbUri,
  REDIS_URL: v.redisUrl,
  META_APP_ID: v.metaAppId,
  META_APP_SECRET: v.metaAppSecret,
  META_WEBHOOK_VERIFY_TOKEN: v.metaWebhookVerifyToken,
  META_API_VERSION: v.metaApiVersion,
  META_GRAPH_URL: v.metaGraphUrl,
  TOKEN_ENCRYPTION_KEY: v.tokenEncryptionKey,
  JWT_SECRET: v.jwtSecret,
  CORS_ORIGIN: v.corsOrigin,
  LOG_LEVEL: v.logLevel,
  /** Prefix of every BullMQ and Redis key of this deployment (several deployments may share a Redis). */
  QUEUE_PREFIX: v.queuePrefix,
};

export type IngressEnv = ReturnType<typeof loadIngressEnv>;
export const loadIngressEnv = (source: Record<string, string | undefined> = process.env) => parseEnv(ingressEnvShape, source);
