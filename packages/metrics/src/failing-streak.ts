import type { ReadinessCheck } from "./readiness.js";

export interface FailingStreakOptions {
  /** How long every attempt must have failed before the process reports not ready. Default 60 s. */
  failingForMs?: number;
  /** How many failed attempts in a row that takes at least. Default 10. */
  minFailures?: number;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * Readiness from the work itself: a worker whose jobs keep failing (its database or Redis calls
 * failing, whatever its pings say) reports not ready once every attempt has failed for a while, so
 * that an orchestrator restarts it; one success ends the streak. Only failures that say something
 * about the process's dependencies belong here (not a poison delivery turned into a dead letter).
 */
export class FailingStreak {
  private since: number | null = null;
  private failures = 0;
  private readonly failingForMs: number;
  private readonly minFailures: number;
  private readonly now: () => number;

  constructor(opts: FailingStreakOptions = {}) {
    this.failingForMs = opts.failingForMs ?? 60_000;
    this.minFailures = opts.minFailures ?? 10;
    this.now = opts.now ?? Date.now;
  }

  succeeded(): void {
    this.since = null;
    this.failures = 0;
  }

  failed(): void {
    this.since ??= this.now();
    this.failures++;
  }

  /** False while the streak is long enough: every attempt failed for `failingForMs`, `minFailures` at least. */
  get healthy(): boolean {
    return this.since === null || this.failures < this.minFailures || this.now() - this.since < this.failingForMs;
  }

  /** The streak as a `/ready` check. */
  readonly check: ReadinessCheck = () => Promise.resolve(this.healthy);
}
