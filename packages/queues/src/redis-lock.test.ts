import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, testServices } from "@linkojob/testing";
import { createRedis } from "./redis.js";
import { RedisLock } from "./redis-lock.js";

describe("RedisLock (real Redis)", () => {
  const svc = testServices("redislock");
  let redis: Redis;
  let lock: RedisLock;
  const key = (name: string) => `${svc.prefix}:lock:${name}`;

  beforeAll(() => {
    redis = createRedis(svc.redisUrl);
    lock = new RedisLock(redis);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it("lets one holder in at a time and frees the key on release", async () => {
    const first = await lock.tryAcquire(key("a"), 10_000);
    expect(first).not.toBeNull();
    expect(await lock.tryAcquire(key("a"), 10_000)).toBeNull();
    expect(await redis.pttl(key("a"))).toBeGreaterThan(9_000);
    expect(await lock.release(first!)).toBe(true);
    expect(await redis.exists(key("a"))).toBe(0);
    const again = await lock.tryAcquire(key("a"), 10_000);
    expect(again).not.toBeNull();
    expect(again!.token).not.toBe(first!.token);
    await lock.release(again!);
  });

  it("never releases a lock that expired and was taken by another holder", async () => {
    const stale = await lock.tryAcquire(key("b"), 30);
    expect(stale).not.toBeNull();
    // Redis expires the key: then another holder may take it.
    await eventually(async () => (await redis.exists(key("b"))) === 0);
    const current = await lock.tryAcquire(key("b"), 10_000);
    expect(current).not.toBeNull();
    expect(await lock.release(stale!)).toBe(false);
    expect(await redis.get(key("b"))).toBe(current!.token);
    expect(await lock.release(current!)).toBe(true);
  });

  it("acquire waits for the holder to release, and gives up after waitMs", async () => {
    const held = await lock.tryAcquire(key("c"), 10_000);
    expect(await lock.acquire(key("c"), 10_000, 150, 20)).toBeNull();
    // One connection keeps the order: acquire's first SET NX reaches Redis before the release, so it
    // fails while the lock is held and succeeds on a later try, once the holder has released.
    const waiting = lock.acquire(key("c"), 10_000, 5_000, 20);
    expect(await lock.release(held!)).toBe(true);
    const next = await waiting;
    expect(next).not.toBeNull();
    expect(next!.token).not.toBe(held!.token);
    expect(await redis.get(key("c"))).toBe(next!.token);
    await lock.release(next!);
  });

  it("runs the release script from its .lua file, which the server then holds for EVALSHA", async () => {
    const held = await lock.tryAcquire(key("d"), 10_000);
    await lock.release(held!);
    const { readFileSync } = await import("node:fs");
    const lua = readFileSync(new URL("./release-lock.lua", import.meta.url), "utf8");
    const sha = createHash("sha1").update(lua).digest("hex");
    expect(await redis.script("EXISTS", sha)).toEqual([1]);
  });
});
