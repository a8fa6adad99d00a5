import { RedisLock, type HeldLock, type RedisClient } from "@linkojob/queues";
import { OnboardingError } from "./onboarding-error.js";

export interface ConnectLockOptions {
  keyPrefix: string;
  /** The lock expires by itself after this (a crashed node never blocks a number). Default 60 s. */
  ttlMs?: number;
  /** How long a second connection of the same number waits for the first. Default 20 s. */
  waitMs?: number;
}

/**
 * Serialises the connections of one phone number across ingress nodes (Redis SET NX PX). Two
 * recruiters claiming the same number at once then run one after the other: the second finds the
 * first's client and gets NUMBER_TAKEN, before touching Meta (no PIN race at registration) or the
 * database.
 */
export class ConnectLock {
  private readonly lock: RedisLock;

  constructor(
    redis: RedisClient,
    private readonly options: ConnectLockOptions,
  ) {
    this.lock = new RedisLock(redis);
  }

  async run<T>(phoneNumberId: string, task: () => Promise<T>): Promise<T> {
    const key = `${this.options.keyPrefix}:onboarding:connect:${phoneNumberId}`;
    let held: HeldLock | null;
    try {
      held = await this.lock.acquire(key, this.options.ttlMs ?? 60_000, this.options.waitMs ?? 20_000);
    } catch {
      throw new OnboardingError("SERVICE_UNAVAILABLE");
    }
    if (!held) throw new OnboardingError("CONNECT_IN_PROGRESS");
    try {
      return await task();
    } finally {
      await this.lock.release(held).catch(() => undefined);
    }
  }
}
