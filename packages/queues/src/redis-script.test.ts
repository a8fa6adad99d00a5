import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testServices } from "@linkojob/testing";
import { createRedis, type RedisClient } from "./redis.js";
import { RedisScript } from "./redis-script.js";

/**
 * A script the server has never seen (the release-lock Lua with a comment of its own), so that its
 * first call really goes through NOSCRIPT and EVAL. (SCRIPT FLUSH would do it too, but would also
 * unload the scripts of the other test files sharing this Redis.)
 */
function unseenScript(dir: string): RedisScript {
  const file = join(dir, `${randomUUID()}.lua`);
  const lua = readFileSync(new URL("./release-lock.lua", import.meta.url), "utf8");
  writeFileSync(file, `-- ${randomUUID()}\n${lua}`);
  return new RedisScript("ljTestRelease", pathToFileURL(file), 1);
}

describe("RedisScript (real Redis, auto-pipelining on)", () => {
  const svc = testServices("redisscript");
  let redis: RedisClient;
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);

  const dir = mkdtempSync(join(tmpdir(), "lj-script-"));

  beforeAll(() => {
    redis = createRedis(svc.redisUrl);
    process.on("uncaughtException", onUncaught);
  });
  afterAll(async () => {
    process.off("uncaughtException", onUncaught);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  // Regression: the script used to be registered with ioredis `defineCommand` on its first call. A
  // first call made while an auto-pipeline of that client was already filling (other commands issued
  // in the same tick, as under load) went to a pipeline without the command: the call rejected with
  // "pipeline[functionName] is not a function" and, when that pipeline ran, ioredis threw
  // "results[i] is not iterable" out of its callback, an uncaught exception that ends the process.
  it("runs on its first call amid commands already auto-pipelined on the same client", async () => {
    const script = unseenScript(dir);
    const key = `${svc.prefix}:script:first`;
    await redis.set(key, "token-1");
    const [before, released] = await Promise.all([redis.get(key), script.run(redis, [key], ["token-1"])]);
    expect(before).toBe("token-1");
    expect(released).toBe(1);
    expect(await redis.exists(key)).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(uncaught).toEqual([]);
  });

  it("loads a script the server does not know (EVAL on NOSCRIPT), then runs it by its SHA1", async () => {
    const script = unseenScript(dir);
    const key = `${svc.prefix}:script:unseen`;
    expect(await redis.script("EXISTS", script.sha)).toEqual([0]);
    await redis.set(key, "token-2");
    expect(await script.run(redis, [key], ["token-2"])).toBe(1);
    expect(await redis.exists(key)).toBe(0);
    expect(await redis.script("EXISTS", script.sha)).toEqual([1]);
    await redis.set(key, "token-3");
    expect(await script.run(redis, [key], ["token-2"])).toBe(0);
    expect(await redis.get(key)).toBe("token-3");
  });

  it("refuses a call with the wrong number of keys", () => {
    expect(() => unseenScript(dir).run(redis, [], [])).toThrow(/takes 1 keys, got 0/);
  });
});
