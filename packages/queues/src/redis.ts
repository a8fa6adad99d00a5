import { Redis, type RedisOptions } from "ioredis";

export interface RedisConnectionOptions {
  /**
   * Fail commands at once while disconnected instead of queueing them (the ingress must answer 503
   * rather than hang when Redis is down). Default false, as BullMQ workers want to wait and resume.
   */
  failFast?: boolean;
  /** Batch concurrent commands into one round trip. Default true. */
  autoPipelining?: boolean;
  connectionName?: string;
}

/**
 * Opens a Redis connection. Whoever calls this also closes it. `maxRetriesPerRequest: null` is what
 * BullMQ requires for blocking connections.
 */
export function createRedis(url: string, options: RedisConnectionOptions = {}): Redis {
  const base: RedisOptions = {
    lazyConnect: false,
    enableAutoPipelining: options.autoPipelining ?? true,
    connectionName: options.connectionName,
  };
  if (options.failFast) {
    return new Redis(url, {
      ...base,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 2_000,
      retryStrategy: (times) => Math.min(100 * times, 1_000),
    });
  }
  return new Redis(url, { ...base, maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(200 * times, 2_000) });
}

/** Resolves once the connection is ready (a fail-fast connection refuses commands before that). */
export function redisReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off("ready", onReady);
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once("ready", onReady);
  });
}
