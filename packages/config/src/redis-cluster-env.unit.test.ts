import { describe, expect, it } from "vitest";
import { EnvError, envVars as v, parseEnv, redisEnvShape, redisTargetOf } from "./index.js";

const shape = { REDIS_URL: v.redisUrl, REDIS_CLUSTER_NODES: v.redisClusterNodes, QUEUE_PREFIX: v.queuePrefix };
const base = { REDIS_URL: "redis://:s3cret@127.0.0.1:6379" };

function problemsOf(source: Record<string, string>): string[] {
  try {
    parseEnv(shape, source);
  } catch (err) {
    if (err instanceof EnvError) return err.problems;
    throw err;
  }
  return [];
}

describe("REDIS_CLUSTER_NODES and QUEUE_PREFIX", () => {
  it("without cluster nodes: a single Redis and the plain default prefix", () => {
    expect(parseEnv(shape, base)).toEqual({ ...base, REDIS_CLUSTER_NODES: [], QUEUE_PREFIX: "lj" });
  });

  it("parses host:port lists, IPv6 in brackets included, with a hash-tagged prefix", () => {
    const env = parseEnv(shape, {
      ...base,
      REDIS_CLUSTER_NODES: " redis-0:7000, 10.0.0.2:7001,[::1]:7002 ",
      QUEUE_PREFIX: "{lj}",
    });
    expect(env.REDIS_CLUSTER_NODES).toEqual([
      { host: "redis-0", port: 7000 },
      { host: "10.0.0.2", port: 7001 },
      { host: "::1", port: 7002 },
    ]);
    expect(env.QUEUE_PREFIX).toBe("{lj}");
  });

  it("names a node that is not host:port", () => {
    expect(problemsOf({ ...base, REDIS_CLUSTER_NODES: "redis-0:7000,redis-1", QUEUE_PREFIX: "{lj}" })).toEqual([
      'REDIS_CLUSTER_NODES: "redis-1" is not host:port (comma-separated list of cluster nodes)',
    ]);
    expect(problemsOf({ ...base, REDIS_CLUSTER_NODES: "redis-0:70000", QUEUE_PREFIX: "{lj}" })).toHaveLength(1);
  });

  it("refuses a cluster whose prefix has no hash tag, and says which one to use", () => {
    expect(problemsOf({ ...base, REDIS_CLUSTER_NODES: "127.0.0.1:7000" })).toEqual([
      'QUEUE_PREFIX: "lj" has no hash tag; with REDIS_CLUSTER_NODES set it must carry one, e.g. "{lj}"',
    ]);
  });

  it("accepts one non-empty hash tag anywhere in the prefix, and nothing else with braces", () => {
    expect(parseEnv(shape, { ...base, QUEUE_PREFIX: "prod:{lj}" }).QUEUE_PREFIX).toBe("prod:{lj}");
    for (const bad of ["{}", "{a}{b}", "lj}", "{lj", "{{lj}}"])
      expect(problemsOf({ ...base, QUEUE_PREFIX: bad }), bad).toHaveLength(1);
  });

  it("hashTagOf follows Redis: the first {...} with something inside", () => {
    expect(v.hashTagOf("{lj}:ingress:webhooks")).toBe("lj");
    expect(v.hashTagOf("bull:{x}:wait")).toBe("x");
    expect(v.hashTagOf("lj:pace:n:1")).toBeNull();
    expect(v.hashTagOf("{}x")).toBeNull();
  });
});

describe("REDIS_SENTINELS and REDIS_SENTINEL_NAME", () => {
  const sentinelShape = { ...redisEnvShape, QUEUE_PREFIX: v.queuePrefix };
  const sentinelProblems = (source: Record<string, string>): string[] => {
    try {
      parseEnv(sentinelShape, source);
    } catch (err) {
      if (err instanceof EnvError) return err.problems;
      throw err;
    }
    return [];
  };

  it("parses the sentinels and the master name into the target every connection is made from", () => {
    const env = parseEnv(sentinelShape, {
      ...base,
      REDIS_SENTINELS: "10.0.0.1:26379, sentinel-2:26379,[::1]:26380",
      REDIS_SENTINEL_NAME: "lj-main",
    });
    expect(redisTargetOf(env)).toEqual({
      url: base.REDIS_URL,
      clusterNodes: [],
      sentinels: [
        { host: "10.0.0.1", port: 26379 },
        { host: "sentinel-2", port: 26379 },
        { host: "::1", port: 26380 },
      ],
      sentinelName: "lj-main",
    });
  });

  it("without sentinels the target is the server at REDIS_URL", () => {
    expect(redisTargetOf(parseEnv(sentinelShape, base))).toEqual({
      url: base.REDIS_URL,
      clusterNodes: [],
      sentinels: [],
    });
  });

  it("requires the master name with sentinels, refuses sentinels next to cluster nodes, and names bad entries", () => {
    expect(sentinelProblems({ ...base, REDIS_SENTINELS: "10.0.0.1:26379" })).toEqual([
      "REDIS_SENTINEL_NAME: is required with REDIS_SENTINELS (the monitored master's name)",
    ]);
    expect(
      sentinelProblems({
        ...base,
        REDIS_SENTINELS: "10.0.0.1:26379",
        REDIS_SENTINEL_NAME: "lj",
        REDIS_CLUSTER_NODES: "10.0.0.2:7000",
        QUEUE_PREFIX: "{lj}",
      }),
    ).toEqual(["REDIS_SENTINELS: set with REDIS_CLUSTER_NODES; a deployment uses one or the other"]);
    expect(sentinelProblems({ ...base, REDIS_SENTINELS: "sentinel-1", REDIS_SENTINEL_NAME: "lj" })).toEqual([
      'REDIS_SENTINELS: "sentinel-1" is not host:port (comma-separated list of sentinels)',
    ]);
  });
});
