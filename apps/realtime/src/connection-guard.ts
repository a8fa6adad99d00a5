import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { RedisClient } from "@linkojob/queues";

export interface ConnectionGuardOptions {
  /** Redis key prefix of the counters (the deployment's adapter key or QUEUE_PREFIX). */
  keyPrefix: string;
  /** Handshakes per window per token subject. Default 60. */
  handshakes?: number;
  /** Handshakes per window per client address (an office behind one NAT holds many users). Default 600. */
  handshakesPerAddress?: number;
  /** Events per window per token subject over all its sockets and reconnects: the socket budget's. */
  events?: number;
  /** Events per window per client address. Default 10 × `events`. */
  eventsPerAddress?: number;
  /** Window of both, seconds. Default 60. */
  windowSeconds?: number;
  /** Sockets one subject may hold open on one node. Default 50. */
  socketsPerSubject?: number;
}

export const DEFAULT_HANDSHAKES_PER_WINDOW = 60;
export const DEFAULT_HANDSHAKES_PER_ADDRESS = 600;
export const DEFAULT_SOCKETS_PER_SUBJECT = 50;

/**
 * Budgets that a reconnect does not reset: handshakes and events counted per token subject and per
 * client address in Redis (rate-limiter-flexible, shared by every node), and the sockets a subject
 * holds open. A socket's own event budget (SocketEventBudget) ended with the socket; a client that
 * reconnected after each disconnect started afresh.
 */
export class ConnectionGuard {
  private readonly handshakes: RateLimiterRedis;
  private readonly addressHandshakes: RateLimiterRedis;
  private readonly events: RateLimiterRedis;
  private readonly addressEvents: RateLimiterRedis;
  private readonly open = new Map<string, Set<string>>();
  readonly socketsPerSubject: number;
  readonly handshakeBudget: number;

  constructor(redis: RedisClient, options: ConnectionGuardOptions & { events: number }) {
    const duration = options.windowSeconds ?? 60;
    this.handshakeBudget = options.handshakes ?? DEFAULT_HANDSHAKES_PER_WINDOW;
    this.socketsPerSubject = options.socketsPerSubject ?? DEFAULT_SOCKETS_PER_SUBJECT;
    this.handshakes = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${options.keyPrefix}:rt-handshakes`,
      points: this.handshakeBudget,
      duration,
    });
    this.addressHandshakes = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${options.keyPrefix}:rt-handshakes-ip`,
      points: options.handshakesPerAddress ?? DEFAULT_HANDSHAKES_PER_ADDRESS,
      duration,
    });
    this.events = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${options.keyPrefix}:rt-events`,
      points: options.events,
      duration,
    });
    this.addressEvents = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${options.keyPrefix}:rt-events-ip`,
      points: options.eventsPerAddress ?? options.events * 10,
      duration,
    });
  }

  /** Spends one handshake of a client address; false when over budget. */
  admitAddress(address: string): Promise<boolean> {
    return consume(this.addressHandshakes, address);
  }

  /** Spends one handshake of a token subject; false when over budget. */
  admitSubject(subject: string): Promise<boolean> {
    return consume(this.handshakes, subject);
  }

  /** Spends one event of the subject and of the address; false when either is over budget. */
  async spendEvent(subject: string, address: string): Promise<boolean> {
    const [bySubject, byAddress] = await Promise.all([
      consume(this.events, subject),
      consume(this.addressEvents, address),
    ]);
    return bySubject && byAddress;
  }

  /** Records an open socket of `subject`; false (nothing recorded) when it holds the maximum already. */
  opened(subject: string, socketId: string): boolean {
    const set = this.open.get(subject) ?? new Set<string>();
    if (set.size >= this.socketsPerSubject) return false;
    set.add(socketId);
    this.open.set(subject, set);
    return true;
  }

  closed(subject: string, socketId: string): void {
    const set = this.open.get(subject);
    if (!set) return;
    set.delete(socketId);
    if (!set.size) this.open.delete(subject);
  }
}

async function consume(limiter: RateLimiterRedis, key: string): Promise<boolean> {
  try {
    await limiter.consume(key, 1);
    return true;
  } catch (err) {
    if (err instanceof RateLimiterRes) return false;
    throw err;
  }
}
