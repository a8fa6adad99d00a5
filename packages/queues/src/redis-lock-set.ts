import { randomBytes } from "node:crypto";
import type { RedisClient } from "./redis.js";
import { RedisScript } from "./redis-script.js";

const ACQUIRE = new RedisScript("ljAcquireLocks", new URL("./acquire-locks.lua", import.meta.url), "any");
const ACQUIRE_SOME = new RedisScript("ljAcquireSomeLocks", new URL("./acquire-some-locks.lua", import.meta.url), "any");
const RELEASE = new RedisScript("ljReleaseLocks", new URL("./release-locks.lua", import.meta.url), "any");

/** A set of locks held together: release it with the same keys and token. */
export interface HeldLockSet {
  keys: string[];
  token: string;
}

/** Thrown when a set of locks stayed taken longer than the caller would wait (a transient failure). */
export class LockSetBusyError extends Error {
  readonly code = "LOCK_ERR_BUSY";
  constructor(keys: number, waitedMs: number) {
    super(`${keys} locks still held by another holder after ${waitedMs} ms`);
    this.name = "LockSetBusyError";
  }
}

/**
 * Several locks taken at once, all or none, by one script (so two holders of overlapping sets never
 * deadlock), each expiring by itself after `ttlMs` (a crashed holder blocks its keys that long at
 * most). On a Redis Cluster the keys must share a hash tag (every key of a deployment does: the
 * prefix). Redis errors are thrown to the caller.
 */
export class RedisLockSet {
  constructor(private readonly redis: RedisClient) {}

  /** Takes every lock if none is held: the held set, or null. */
  async tryAcquire(keys: string[], ttlMs: number): Promise<HeldLockSet | null> {
    const unique = [...new Set(keys)];
    const token = randomBytes(12).toString("hex");
    const ok = Number(await ACQUIRE.run(this.redis, unique, [token, Math.max(1, Math.ceil(ttlMs))]));
    return ok === 1 ? { keys: unique, token } : null;
  }

  /**
   * Takes every lock, trying again after a short random pause while any is held, for `waitMs` at
   * most; then throws LockSetBusyError.
   */
  async acquire(keys: string[], ttlMs: number, waitMs: number): Promise<HeldLockSet> {
    const started = Date.now();
    for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
      const held = await this.tryAcquire(keys, ttlMs);
      if (held) return held;
      if (Date.now() - started >= waitMs) throw new LockSetBusyError(keys.length, Date.now() - started);
      await new Promise((r) => setTimeout(r, pause / 2 + Math.random() * pause));
    }
  }

  /**
   * Takes every lock of `keys` that is free (one script): the held set of those taken, empty when
   * all were held by others.
   */
  async tryAcquireSome(keys: string[], ttlMs: number): Promise<HeldLockSet> {
    const unique = [...new Set(keys)];
    const token = randomBytes(12).toString("hex");
    if (!unique.length) return { keys: [], token };
    const taken = (await ACQUIRE_SOME.run(this.redis, unique, [token, Math.max(1, Math.ceil(ttlMs))])) as string[];
    return { keys: taken, token };
  }

  /**
   * Takes the locks of `keys` that are free, trying again after a short random pause while all are
   * held, for `waitMs` at most (then LockSetBusyError): at least one is held on return. Unlike
   * `acquire`, overlapping sets do not wait for each other's whole set: each holder works on what it
   * took, releases it and asks again for the rest, so no holder starves behind a stream of others.
   */
  async acquireSome(keys: string[], ttlMs: number, waitMs: number): Promise<HeldLockSet> {
    const started = Date.now();
    for (let pause = 5; ; pause = Math.min(pause * 2, 50)) {
      const held = await this.tryAcquireSome(keys, ttlMs);
      if (held.keys.length || !keys.length) return held;
      if (Date.now() - started >= waitMs) throw new LockSetBusyError(keys.length, Date.now() - started);
      await new Promise((r) => setTimeout(r, pause / 2 + Math.random() * pause));
    }
  }

  /** Releases the locks still held with the set's token; returns how many. */
  async release(set: HeldLockSet): Promise<number> {
    if (!set.keys.length) return 0;
    return Number(await RELEASE.run(this.redis, set.keys, [set.token]));
  }
}
