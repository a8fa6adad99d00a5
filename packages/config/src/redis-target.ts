import { redisClusterNodes, redisSentinelName, redisSentinels, redisUrl } from "./vars.js";

/**
 * The variables that say where a process's Redis is, for an app's env shape (spread it): one server
 * at REDIS_URL, a Redis Cluster (REDIS_CLUSTER_NODES) or the primary the Sentinels name
 * (REDIS_SENTINELS + REDIS_SENTINEL_NAME); REDIS_URL's credentials and TLS apply in every case.
 */
export const redisEnvShape = {
  REDIS_URL: redisUrl,
  /** Redis Cluster seed nodes, host:port comma-separated; set, they replace REDIS_URL's host (QUEUE_PREFIX then needs a hash tag, e.g. {lj}). */
  REDIS_CLUSTER_NODES: redisClusterNodes,
  /** Redis Sentinels, host:port comma-separated; set with REDIS_SENTINEL_NAME, the primary they name replaces REDIS_URL's host. */
  REDIS_SENTINELS: redisSentinels,
  /** The master name the Sentinels monitor. */
  REDIS_SENTINEL_NAME: redisSentinelName,
};

type HostPort = { host: string; port: number };

/** The parsed Redis variables as @linkojob/queues' RedisTarget (createRedis's first argument). */
export function redisTargetOf(env: {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: HostPort[];
  REDIS_SENTINELS?: HostPort[];
  REDIS_SENTINEL_NAME?: string | undefined;
}): { url: string; clusterNodes: HostPort[]; sentinels: HostPort[]; sentinelName?: string } {
  return {
    url: env.REDIS_URL,
    clusterNodes: env.REDIS_CLUSTER_NODES ?? [],
    sentinels: env.REDIS_SENTINELS ?? [],
    ...(env.REDIS_SENTINEL_NAME ? { sentinelName: env.REDIS_SENTINEL_NAME } : {}),
  };
}
