/** setTimeout's largest delay; a longer one fires after 1 ms instead (Node's TimeoutOverflowWarning). */
export const MAX_TIMER_DELAY_MS = 2_147_483_647;

/**
 * Calls `onExpired` once when a token's `exp` is reached. A 30-day token outlives one setTimeout, so
 * the timer re-arms until the deadline; it also re-checks the clock on firing, since a timer may
 * fire a millisecond before Date.now() reaches its deadline and jose calls a token expired only
 * from `exp` on.
 */
export class SessionExpiry {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly onExpired: (expiresAt: number) => void,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Arms (or re-arms) for `expiresAt`, in seconds since epoch like the `exp` claim; undefined: never. */
  schedule(expiresAt: number | undefined): void {
    this.cancel();
    if (expiresAt === undefined) return;
    const deadline = expiresAt * 1000;
    const arm = () => {
      const remaining = deadline - this.now();
      if (remaining <= 0) {
        this.timer = undefined;
        this.onExpired(expiresAt);
        return;
      }
      this.timer = setTimeout(arm, Math.min(remaining, MAX_TIMER_DELAY_MS));
    };
    arm();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get armed(): boolean {
    return this.timer !== undefined;
  }
}
