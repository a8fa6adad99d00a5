import { RedisScript, type RedisClient } from "@linkojob/queues";

/**
 * Reserves send slots per business number and per recipient with GCRA (the generic cell rate
 * algorithm: a token bucket kept as one "theoretical arrival time" per key), in one Lua script so
 * that both limits are checked and reserved atomically across every worker process, with Redis's
 * clock.
 *
 * Why a reservation rather than a check (rate-limiter-flexible's consume): a job over the limit is
 * given the exact future slot it will use and is delayed until then; it does not come back to
 * compete again, so a 10,000-message campaign costs one Redis call per message instead of one per
 * message per retry, and the number's slots go to jobs in the order they asked. Each number has its
 * own key: one tenant's campaign fills only its own number's slots and never delays another
 * tenant's sends.
 *
 * GCRA guarantees that any n consecutive slots of a key span at least (n - burst) × interval, so in
 * any window W at most burst + W / interval sends start. Meta's limits: 80
 * messages/s per number by default (up to 1,000), and about one message per 6 s to one recipient
 * with short bursts.
 */
const RESERVE = new RedisScript("ljPaceReserve", new URL("./reserve-slot.lua", import.meta.url), 2);

/**
 * The hard guard at the moment of the call: at most `limit` sends started in the last `window` ms
 * (a sliding log in a sorted set). Slots from RESERVE are respected, but a delayed job can be
 * promoted late and start next to the following one; measured here: 11 sends in one second at the
 * simulator for a 10/s number without this guard. Returns 0 (admitted and recorded) or the wait.
 */
const ADMIT = new RedisScript("ljPaceAdmit", new URL("./admit-send.lua", import.meta.url), 1);

export interface PacerOptions {
  /** Key prefix (the deployment's queue prefix). */
  prefix: string;
  /**
   * Share of a number's nominal throughput actually used. Default 0.9: slots are granted at the
   * source, and network jitter between granting and Meta receiving can bunch sends slightly.
   */
  throughputFactor?: number;
  /** Sends a number may start at once before pacing applies. Default: a tenth of its rate, at least 1. */
  numberBurst?: (mps: number) => number;
  /** Minimum spacing of sends to one recipient once its burst is used. Default 6,600 ms (Meta: ~6 s, plus 10 %). */
  recipientIntervalMs?: number;
  /** Sends to one recipient allowed back to back. Default 3. */
  recipientBurst?: number;
  /**
   * Window of the hard per-number guard: at most the nominal throughput in this many ms. Default
   * 1,050 (one second plus a margin for the request's transit to Meta).
   */
  guardWindowMs?: number;
}

export class SendPacer {
  private readonly factor: number;
  private readonly numberBurst: (mps: number) => number;
  readonly recipientIntervalMs: number;
  readonly recipientBurst: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: PacerOptions,
  ) {
    this.factor = options.throughputFactor ?? 0.9;
    this.numberBurst = options.numberBurst ?? ((mps) => Math.max(1, Math.floor(mps / 10)));
    this.recipientIntervalMs = options.recipientIntervalMs ?? 6_600;
    this.recipientBurst = options.recipientBurst ?? 3;
  }

  /**
   * Reserves the next slot usable for both the number and the recipient. Returns how long to wait
   * (0 = now) and the slot's time (ms since epoch, Redis clock).
   */
  async reserve(
    phoneNumberId: string,
    throughputMps: number,
    recipient: string,
  ): Promise<{ waitMs: number; slotAt: number }> {
    const mps = Math.max(0.1, throughputMps * this.factor);
    const numberInterval = 1_000 / mps;
    const numberTau = (this.numberBurst(throughputMps) - 1) * numberInterval;
    const recipientTau = (this.recipientBurst - 1) * this.recipientIntervalMs;
    const res = (await RESERVE.run(
      this.redis,
      [`${this.options.prefix}:pace:n:${phoneNumberId}`, `${this.options.prefix}:pace:r:${phoneNumberId}:${recipient}`],
      [numberInterval.toFixed(3), numberTau.toFixed(3), String(this.recipientIntervalMs), String(recipientTau)],
    )) as [number, number];
    return { waitMs: Math.max(0, Math.ceil(Number(res[0]))), slotAt: Number(res[1]) };
  }

  /** Admits one send of `sendId` on the number now (0), or says how long to wait. */
  async admit(phoneNumberId: string, throughputMps: number, sendId: string): Promise<number> {
    const limit = Math.max(1, Math.floor(throughputMps));
    const res = await ADMIT.run(
      this.redis,
      [`${this.options.prefix}:pace:g:${phoneNumberId}`],
      [
        String(this.options.guardWindowMs ?? 1_050),
        String(limit),
        `${sendId}:${Date.now()}:${Math.random().toString(36).slice(2, 8)}`,
      ],
    );
    return Number(res);
  }
}
