import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";

/**
 * A connection to one Redis or to a Redis Cluster. Both classes carry the same commands (ioredis's
 * Commander); what differs (the arguments of `duplicate`, `options`) goes through helpers here.
 */
export type RedisClient = Redis | Cluster;

/**
 * Where a process's Redis is: one server (`url`), a Redis Cluster reached through `clusterNodes`, or
 * the current primary of `sentinelName` as the `sentinels` tell it (followed through a failover).
 */
export interface RedisTarget {
  /**
   * redis:// or rediss:// URL. With `clusterNodes` its host is not used, but its user, password and
   * scheme (rediss: TLS) apply to every node of the cluster.
   */
  url: string;
  /** Seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES); empty or absent: a single Redis at `url`. */
  clusterNodes?: ReadonlyArray<{ host: string; port: number }>;
  /**
   * Redis Sentinels (REDIS_SENTINELS): set with `sentinelName`, the connection goes to the primary
   * they name, `url` giving only user, password and rediss:// TLS. On a failover ioredis reconnects
   * to the new primary (commands queued meanwhile, or refused at once with `failFast`).
   */
  sentinels?: ReadonlyArray<{ host: string; port: number }>;
  /** The master name the sentinels monitor (REDIS_SENTINEL_NAME). */
  sentinelName?: string;
}

/** True when `target` reaches Redis through Sentinel (the ingress then waits for a replica's copy). */
export const viaSentinel = (target: string | RedisTarget): boolean =>
  typeof target !== "string" && !!target.sentinels?.length && !!target.sentinelName;

export interface RedisConnectionOptions {
  /**
   * Fail commands at once while disconnected instead of queueing them (the ingress must answer 503
   * rather than hang when Redis is down). Default false, as BullMQ workers want to wait and resume.
   */
  failFast?: boolean;
  /** Batch concurrent commands into one round trip. Default true. */
  autoPipelining?: boolean;
  connectionName?: string;
  /**
   * Where connection errors go: one warning when the connection fails (however many retries follow)
   * and one line when it is ready again. Without it ioredis prints each error unstructured to stderr
   * ("Unhandled error event"), outside the process's JSON logs.
   */
  logger?: ConnectionLogger;
}

/** The part of a pino logger a connection reports to. */
export interface ConnectionLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/**
 * Opens a Redis connection (a Cluster when `target.clusterNodes` lists nodes). Whoever calls this also
 * closes it. `maxRetriesPerRequest: null` is what BullMQ requires for blocking connections.
 */
export function createRedis(url: string, options?: RedisConnectionOptions): Redis;
export function createRedis(target: RedisTarget, options?: RedisConnectionOptions): RedisClient;
export function createRedis(target: string | RedisTarget, options: RedisConnectionOptions = {}): RedisClient {
  const client = openRedis(target, options);
  if (options.logger) reportConnectionState(client, options.logger, options.connectionName);
  return client;
}

/** One warning per outage (ioredis emits "error" on every failed retry) and one line once it is back. */
function reportConnectionState(client: RedisClient, logger: ConnectionLogger, connection: string | undefined): void {
  let down = false;
  client.on("error", (err: Error) => {
    if (down) return;
    down = true;
    logger.warn({ connection, err: err.message }, "redis connection failed; retrying");
  });
  client.on("ready", () => {
    if (!down) return;
    down = false;
    logger.info({ connection }, "redis connection ready again");
  });
}

function openRedis(target: string | RedisTarget, options: RedisConnectionOptions): RedisClient {
  const { url, clusterNodes, sentinels, sentinelName } = typeof target === "string" ? { url: target } : target;
  if (clusterNodes?.length) return createCluster(url, clusterNodes, options);
  const base: RedisOptions = {
    lazyConnect: false,
    enableAutoPipelining: options.autoPipelining ?? true,
    connectionName: options.connectionName,
  };
  if (sentinels?.length && sentinelName) {
    const credentials = credentialsOf(url);
    // The primary's address comes from the sentinels; the URL's credentials and TLS apply to it.
    const viaSentinels: RedisOptions = {
      ...base,
      ...credentials,
      sentinels: sentinels.map(({ host, port }) => ({ host, port })),
      name: sentinelName,
      // A primary that became a replica (a failover while it was away) answers READONLY: reconnect.
      reconnectOnError: (err) => (err.message.startsWith("READONLY") ? 2 : false),
      sentinelRetryStrategy: (times) => Math.min(100 * times, 1_000),
      ...(credentials.tls ? { enableTLSForSentinelMode: true } : {}),
    };
    return new Redis(
      options.failFast
        ? {
            ...viaSentinels,
            enableOfflineQueue: false,
            maxRetriesPerRequest: 0,
            commandTimeout: 2_000,
            retryStrategy: (times) => Math.min(100 * times, 1_000),
          }
        : { ...viaSentinels, maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(200 * times, 2_000) },
    );
  }
  if (options.failFast) {
    return new Redis(url, {
      ...base,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 2_000,
      retryStrategy: (times) => Math.min(100 * times, 1_000),
    });
  }
  return new Redis(url, {
    ...base,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(200 * times, 2_000),
  });
}

/** User, password and TLS of a redis:// or rediss:// URL, for every node of a cluster. */
function credentialsOf(url: string): Pick<RedisOptions, "username" | "password" | "tls"> {
  const u = new URL(url);
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
  };
}

/**
 * Every key of one deployment must carry the same hash tag (QUEUE_PREFIX such as `{lj}`): BullMQ's
 * scripts, the pacer's script and MULTI touch several keys at once, which a cluster accepts only
 * within one slot.
 */
function createCluster(
  url: string,
  nodes: ReadonlyArray<{ host: string; port: number }>,
  options: RedisConnectionOptions,
): Cluster {
  const credentials = credentialsOf(url);
  const failFast = options.failFast ?? false;
  const clusterOptions: ClusterOptions = {
    enableAutoPipelining: options.autoPipelining ?? true,
    enableOfflineQueue: !failFast,
    scaleReads: "master",
    clusterRetryStrategy: (times) => Math.min((failFast ? 100 : 200) * times, failFast ? 1_000 : 2_000),
    redisOptions: {
      ...credentials,
      connectionName: options.connectionName,
      ...(failFast ? { maxRetriesPerRequest: 0, commandTimeout: 2_000 } : { maxRetriesPerRequest: null }),
    },
    // Managed clusters with TLS announce node addresses the certificate does not name; keep the host names.
    ...(credentials.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
  };
  return new Cluster(
    nodes.map(({ host, port }) => ({ host, port })),
    clusterOptions,
  );
}

/** A second connection like `redis` (same server or cluster, same options) under another name. */
export function duplicateRedis(redis: RedisClient, connectionName: string): RedisClient {
  if (redis instanceof Cluster) {
    const redisOptions = { ...redis.options.redisOptions, connectionName };
    return redis.duplicate(undefined, { redisOptions });
  }
  return redis.duplicate({ connectionName });
}

/** Resolves once the connection is ready (a fail-fast connection refuses commands before that). */
export function redisReady(redis: RedisClient, timeoutMs = 10_000): Promise<void> {
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

/**
 * Resolves once every (P)SUBSCRIBE / (P)UNSUBSCRIBE sent so far on `redis` has taken effect. One
 * connection answers in order, so a PING suffices; a Cluster sends subscriptions over a subscriber
 * connection of its own (PING would go elsewhere), so a probe channel is subscribed there and left.
 */
export async function subscriptionsSettled(redis: RedisClient): Promise<void> {
  if (redis instanceof Cluster) {
    const probe = `__settle:${process.pid}:${Date.now()}:${Math.random().toString(36).slice(2)}`;
    await redis.subscribe(probe);
    await redis.unsubscribe(probe);
    return;
  }
  await redis.ping();
}
