import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_TIMER_DELAY_MS, SessionExpiry } from "./session-expiry.js";

// Fake timers here (they reproduce Node's overflow: a delay above 2^31-1 ms fires after 1 ms), so
// that a 30-day token can be checked without waiting; the real expiry is covered by socket-session.test.ts.
const START = Date.UTC(2025, 0, 1);
const DAY_MS = 86_400_000;

beforeEach(() => {
  vi.useFakeTimers({ now: START });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("SessionExpiry", () => {
  it("fires once, at exp and not a millisecond before", () => {
    const fired = vi.fn();
    const expiry = new SessionExpiry(fired);
    const exp = START / 1000 + 5;
    expiry.schedule(exp);
    vi.advanceTimersByTime(4_999);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledExactlyOnceWith(exp);
    vi.advanceTimersByTime(DAY_MS);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it("waits out a token longer than one setTimeout can with a few long timers, not one every millisecond", () => {
    const fired = vi.fn();
    const clock = vi.fn(() => Date.now());
    const expiry = new SessionExpiry(fired, clock);
    const exp = START / 1000 + 30 * 86_400;
    expiry.schedule(exp);
    // An unclamped delay overflows to 1 ms: the clock would be read again at every millisecond.
    vi.advanceTimersByTime(10);
    expect(clock).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(MAX_TIMER_DELAY_MS - 10);
    expect(fired).not.toHaveBeenCalled();
    expect(expiry.armed).toBe(true);
    vi.advanceTimersByTime(30 * DAY_MS - MAX_TIMER_DELAY_MS - 1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledExactlyOnceWith(exp);
    expect(clock.mock.calls.length).toBeLessThan(5);
  });

  it("re-arms for the new exp when scheduled again, and stops when cancelled", () => {
    const fired = vi.fn();
    const expiry = new SessionExpiry(fired);
    expiry.schedule(START / 1000 + 5);
    expiry.schedule(START / 1000 + 60);
    vi.advanceTimersByTime(59_999);
    expect(fired).not.toHaveBeenCalled();
    expiry.cancel();
    vi.advanceTimersByTime(DAY_MS);
    expect(fired).not.toHaveBeenCalled();
    expect(expiry.armed).toBe(false);
  });

  it("fires at once for a token already expired, and never for one without exp", () => {
    const fired = vi.fn();
    new SessionExpiry(fired).schedule(START / 1000 - 1);
    expect(fired).toHaveBeenCalledTimes(1);
    const never = vi.fn();
    const expiry = new SessionExpiry(never);
    expiry.schedule(undefined);
    vi.advanceTimersByTime(365 * DAY_MS);
    expect(never).not.toHaveBeenCalled();
    expect(expiry.armed).toBe(false);
  });
});
