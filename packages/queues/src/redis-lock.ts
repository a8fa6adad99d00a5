import { randomBytes } from "node:crypto";
import type { RedisClient } from "./redis.js";
import { RedisScript } from "./redis-script.js";

const RELEASE = new RedisScript("ljReleaseLock", new URL("./release-lock.lua", import.meta.url), 1);

/** A held lock: release it with the same key and token. */
export interface HeldLock {
  key: string;
  token: string;
}

/**
 * A lock held in one Redis key across processes: taken with `SET key token PX ttl NX` (it expires by
 * itself, so a crashed holder never blocks the key for longer than `ttlMs`), released by a script
 * that deletes the key only while it still holds the holder's token (an expired lock taken by
 * another holder is left alone). One key per lock, so it works the same on a Redis Cluster.
 */
export class RedisLock {
  constructor(private readonly redis: RedisClient) {}

  /** Takes the lock if it is free: the held lock, or null while another holder has it. */
  async tryAcquire(key: string, ttlMs: number): Promise<HeldLock | null> {
    const token = randomBytes(12).toString("hex");
    const ok = await this.redis.set(key, token, "PX", Math.max(1, Math.ceil(ttlMs)), "NX");
    return ok === "OK" ? { key, token } : null;
  }

  /**
   * Takes the lock, retrying every `retryMs` until `waitMs` has passed: the held lock, or null when
   * it stayed taken. Redis errors are thrown to the caller.
   */
  async acquire(key: string, ttlMs: number, waitMs: number, retryMs = 100): Promise<HeldLock | null> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const held = await this.tryAcquire(key, ttlMs);
      if (held) return held;
      if (Date.now() >= deadline) return null;
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }

  /** Releases a held lock: true if it was still ours and is now deleted, false if it had expired. */
  async release(lock: HeldLock): Promise<boolean> {
    return Number(await RELEASE.run(this.redis, [lock.key], [lock.token])) === 1;
  }
}
