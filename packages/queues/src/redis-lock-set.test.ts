import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testServices } from "@linkojob/testing";
import { createRedis } from "./redis.js";
import { LockSetBusyError, RedisLockSet } from "./redis-lock-set.js";

describe("RedisLockSet (real Redis)", () => {
  const svc = testServices("locksets");
  let redis: Redis;
  let locks: RedisLockSet;
  const key = (name: string) => `${svc.prefix}:lock:${name}`;

  beforeAll(() => {
    redis = createRedis(svc.redisUrl);
    locks = new RedisLockSet(redis);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it("takes a set all or nothing: an overlapping set gets none of its locks while one is held", async () => {
    const first = await locks.tryAcquire([key("a"), key("b")], 10_000);
    expect(first).not.toBeNull();
    expect(await locks.tryAcquire([key("b"), key("c")], 10_000)).toBeNull();
    expect(await redis.exists(key("c"))).toBe(0);
    expect(await locks.release(first!)).toBe(2);
    const second = await locks.tryAcquire([key("b"), key("c")], 10_000);
    expect(second?.keys).toEqual([key("b"), key("c")]);
    await locks.release(second!);
  });

  it("waits for a held set to be released, and gives up with LockSetBusyError after the wait", async () => {
    const held = await locks.tryAcquire([key("d")], 10_000);
    const waiting = locks.acquire([key("d"), key("e")], 10_000, 5_000);
    setTimeout(() => void locks.release(held!), 50);
    const got = await waiting;
    expect(await redis.get(key("d"))).toBe(got.token);
    await expect(locks.acquire([key("e")], 10_000, 30)).rejects.toBeInstanceOf(LockSetBusyError);
    await locks.release(got);
  });

  it("never releases a lock that expired and was taken by another holder", async () => {
    const stale = await locks.tryAcquire([key("f"), key("g")], 30);
    await new Promise((r) => setTimeout(r, 80));
    const current = await locks.tryAcquire([key("g")], 10_000);
    expect(current).not.toBeNull();
    expect(await locks.release(stale!)).toBe(0);
    expect(await redis.get(key("g"))).toBe(current!.token);
    await locks.release(current!);
  });

  it("takes some of a set: the free locks of an overlapping set, and waits only while every one is held", async () => {
    const first = await locks.tryAcquire([key("h"), key("i")], 10_000);
    const some = await locks.tryAcquireSome([key("i"), key("j"), key("k")], 10_000);
    expect(some.keys.sort()).toEqual([key("j"), key("k")]);
    expect(await redis.get(key("i"))).toBe(first!.token);
    expect(await locks.release(some)).toBe(2);
    // Every lock held: acquireSome waits for one to be freed, and gives up after its wait.
    await expect(locks.acquireSome([key("h"), key("i")], 10_000, 30)).rejects.toBeInstanceOf(LockSetBusyError);
    const waiting = locks.acquireSome([key("h"), key("i")], 10_000, 5_000);
    setTimeout(() => void locks.release(first!), 50);
    const got = await waiting;
    expect(got.keys.length).toBeGreaterThan(0);
    for (const k of got.keys) expect(await redis.get(k)).toBe(got.token);
    await locks.release(got);
  });
});
