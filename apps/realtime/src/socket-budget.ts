import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";

export interface SocketEventBudgetOptions {
  /** Events one socket may send per window. Default 30: a dashboard sends one auth:refresh an hour. */
  events?: number;
  /** Window length, seconds. Default 60. */
  windowSeconds?: number;
}

export const DEFAULT_SOCKET_EVENTS = 30;
/** Refresh answer's code when a newer auth:refresh replaced it before it ran. */
export const REFRESH_SUPERSEDED = "SUPERSEDED";
export const DEFAULT_SOCKET_WINDOW_SECONDS = 60;

/**
 * How many events each socket may send (rate-limiter-flexible's memory limiter, keyed by socket id:
 * a socket lives on one node, so its budget needs no shared store). Every event a client sends
 * spends one point, whatever its name, so a flood of unknown events costs as much as one of
 * auth:refresh. A socket over budget is disconnected by its session.
 */
export class SocketEventBudget {
  private readonly limiter: RateLimiterMemory;
  readonly events: number;
  readonly windowSeconds: number;

  constructor(options: SocketEventBudgetOptions = {}) {
    this.events = options.events ?? DEFAULT_SOCKET_EVENTS;
    this.windowSeconds = options.windowSeconds ?? DEFAULT_SOCKET_WINDOW_SECONDS;
    this.limiter = new RateLimiterMemory({ points: this.events, duration: this.windowSeconds });
  }

  /** Spends one event of the socket's budget; false when the budget is exhausted. */
  async spend(socketId: string): Promise<boolean> {
    try {
      await this.limiter.consume(socketId, 1);
      return true;
    } catch (err) {
      if (err instanceof RateLimiterRes) return false;
      throw err;
    }
  }

  /** Forgets a socket (on disconnect). */
  async forget(socketId: string): Promise<void> {
    await this.limiter.delete(socketId);
  }
}
