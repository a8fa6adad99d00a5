import { randomBytes } from "node:crypto";
import type { RedisClient } from "@linkojob/queues";
import { OnboardingError } from "./onboarding-error";

/** Deletes the key only if it still holds our token (a lock that expired and was taken is left alone). */
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

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
  constructor(
    private readonly redis: RedisClient,
    private readonly options: ConnectLockOptions,
  ) {}

  async run<T>(phoneNumberId: string, task: () => Promise<T>): Promise<T> {
    const key = `${this.options.keyPrefix}:onboarding:connect:${phoneNumberId}`;
    const token = randomBytes(12).toString("hex");
    const deadline = Date.now() + (this.options.waitMs ?? 20_000);
    for (;;) {
      let ok: string | null;
      try {
        ok = await this.redis.set(key, token, "PX", this.options.ttlMs ?? 60_000, "NX");
      } catch {
        throw new OnboardingError("SERVICE_UNAVAILABLE");
      }
      if (ok === "OK") break;
      if (Date.now() > deadline) throw new OnboardingError("CONNECT_IN_PROGRESS");
      await new Promise((r) => setTimeout(r, 100));
    }
    try {
      return await task();
    } finally {
      await this.redis.eval(RELEASE, 1, key, token).catch(() => undefined);
    }
  }
}
