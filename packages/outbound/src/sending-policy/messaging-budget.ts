import { z } from "zod";
import { RedisScript, type RedisClient } from "@linkojob/queues";

const RESERVE = new RedisScript("ljBudgetReserve", new URL("./reserve-budget.lua", import.meta.url), 1);
const RELEASE = new RedisScript("ljBudgetRelease", new URL("./release-budget.lua", import.meta.url), 1);
const RESTORE = new RedisScript("ljBudgetRestore", new URL("./restore-budget.lua", import.meta.url), 1);

/** Meta's moving window of the messaging limit: 24 hours. */
export const MESSAGING_LIMIT_WINDOW_MS = 86_400_000;

export interface BudgetSlot {
  /** When the message may go (ms): now, or later when the budget is spent until then. */
  at: number;
  /** True when this reservation counted the recipient; false when they were already counted. */
  counted: boolean;
  /** When it counted them: the time of the entry it replaced (an earlier message's), null when none. */
  previous?: number | null;
}

/** A place a send took in a portfolio's budget, to give back if the send is refused before it goes. */
export interface BudgetReservation {
  portfolioId: string;
  member: string;
  /** The entry's time as this reservation wrote it. */
  at: number;
  /** The entry it replaced (an earlier message to the same recipient), null when none. */
  previous: number | null;
}

export interface BudgetUsage {
  limit: number;
  /** Unique recipients counted in the moving window ending now. */
  used: number;
  /** Recipients scheduled later (counted when they go). */
  scheduled: number;
  /** When the next recipient could be counted (ms): now when there is room. */
  nextFreeAt: number;
}

/**
 * A business portfolio's messaging budget, shared by all its numbers and all worker and API
 * processes: one Redis sorted set per portfolio (its WABA), spent by one Lua script, so two processes
 * reserving at once never count past the limit.
 */
export class MessagingBudget {
  readonly windowMs: number;
  /** Widening of the window on each side (Meta receives a send a little after its slot). A tenth of the window, at most 5 s. */
  readonly marginMs: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    options: { windowMs?: number } = {},
  ) {
    this.windowMs = options.windowMs ?? MESSAGING_LIMIT_WINDOW_MS;
    this.marginMs = Math.min(5_000, Math.floor(this.windowMs / 10));
  }

  key(portfolioId: string): string {
    return `${this.prefix}:budget:${portfolioId}`;
  }

  /**
   * Reserves `recipient` in the portfolio's budget of `limit`, at `notBefore` or the first moment
   * after it with room. A limit below 0 (unlimited) reserves nothing.
   */
  async reserve(
    portfolioId: string,
    limit: number,
    recipient: string,
    notBefore: number,
    now = Date.now(),
    options: { confirm?: boolean } = {},
  ): Promise<BudgetSlot> {
    if (limit < 0) return { at: Math.max(now, notBefore), counted: false };
    const [state, at, previous] = (await RESERVE.run(
      this.redis,
      [this.key(portfolioId)],
      [now, this.windowMs, limit, recipient, Math.max(now, notBefore), options.confirm ? 1 : 0, this.marginMs],
    )) as [number, number, number | undefined];
    if (state < 0) throw new Error("no messaging budget slot found: the limit is too small for the backlog searched");
    return {
      at: Number(at),
      counted: state === 1,
      ...(state === 1 ? { previous: previous !== undefined && Number(previous) >= 0 ? Number(previous) : null } : {}),
    };
  }

  /**
   * Gives back a reservation whose send was refused before it went: only while the recipient's entry
   * is still the one it wrote (a later send's reservation or confirmation is never undone); the entry
   * it replaced, if any, is put back. Returns true when given back.
   */
  async restore(r: BudgetReservation): Promise<boolean> {
    return (await RESTORE.run(this.redis, [this.key(r.portfolioId)], [r.member, r.at, r.previous ?? -1])) === 1;
  }

  /** Gives back the place of `recipient` counted at or before `at` (the message counted there did not go). */
  async release(portfolioId: string, recipient: string, at: number): Promise<boolean> {
    return (await RELEASE.run(this.redis, [this.key(portfolioId)], [recipient, at])) === 1;
  }

  /** What the recruiter sees: the limit, what is used now, what waits, and the next free slot. */
  async usage(portfolioId: string, limit: number, now = Date.now()): Promise<BudgetUsage> {
    const key = this.key(portfolioId);
    const [used, scheduled] = await Promise.all([
      this.redis.zcount(key, `(${now - this.windowMs}`, now),
      this.redis.zcount(key, `(${now}`, "+inf"),
    ]);
    let nextFreeAt = now;
    if (limit >= 0 && used + scheduled >= limit) {
      // The entry whose leaving makes room for one more: the (used + scheduled - limit)-th from the oldest live one.
      const entry = await this.redis.zrangebyscore(
        key,
        `(${now - this.windowMs}`,
        "+inf",
        "WITHSCORES",
        "LIMIT",
        used + scheduled - limit,
        1,
      );
      if (entry[1] !== undefined) nextFreeAt = Number(entry[1]) + this.windowMs + this.marginMs;
    }
    return { limit, used, scheduled, nextFreeAt };
  }
}

/**
 * MESSAGING_LIMIT_WINDOW_MS: the budget's moving window, ms. Meta's is 24 hours (the default); only
 * system tests shorten it, to see a spent budget free up without waiting a day.
 */
export const messagingLimitWindowVar = z.coerce
  .number()
  .int()
  .min(1_000)
  .max(MESSAGING_LIMIT_WINDOW_MS)
  .default(MESSAGING_LIMIT_WINDOW_MS);
