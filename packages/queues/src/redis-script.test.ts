import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testServices } from "@linkojob/testing";
import { createRedis, type RedisClient } from "./redis.js";
import { RedisScript } from "./redis-script.js";

const INCR_BY = new RedisScript("ljTestIncrBy", new URL("./release-lock.lua", import.meta.url), 1);

describe("RedisScript (real Redis, auto-pipelining on)", () => {
  const svc = testServices("redisscript");
  let redis: RedisClient;
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);

  beforeAll(() => {
    redis = createRedis(svc.redisUrl);
    process.on("uncaughtException", onUncaught);
  });
  afterAll(async () => {
    process.off("uncaughtException", onUncaught);
    await redis.quit();
  });

  // Regression: the script used to be registered with ioredis `defineCommand` on its first call. A
  // first call made while an auto-pipeline of that client was already filling (other commands issued
  // in the same tick, as under load) went to a pipeline without the command: the call rejected with
  // "pipeline[functionName] is not a function" and, when that pipeline ran, ioredis threw
  // "results[i] is not iterable" out of its callback, an uncaught exception that ends the process.
  it("runs on its first call amid commands already auto-pipelined on the same client", async () => {
    const key = `${svc.prefix}:script:first`;
    await redis.set(key, "token-1");
    const [before, released, after] = await Promise.all([
      redis.get(key),
      INCR_BY.run(redis, [key], ["token-1"]),
      redis.exists(key),
    ]);
    expect(before).toBe("token-1");
    expect(released).toBe(1);
    expect(after).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(uncaught).toEqual([]);
  });

  it("loads the script again when the server has forgotten it (SCRIPT FLUSH)", async () => {
    const key = `${svc.prefix}:script:flushed`;
    await redis.set(key, "token-2");
    await redis.script("FLUSH");
    expect(await INCR_BY.run(redis, [key], ["token-2"])).toBe(1);
    expect(await redis.exists(key)).toBe(0);
  });

  it("refuses a call with the wrong number of keys", () => {
    expect(() => INCR_BY.run(redis, [], [])).toThrow(/takes 1 keys, got 0/);
  });
});
