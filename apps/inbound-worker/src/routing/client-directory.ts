import type { RedisClient } from "@linkojob/queues";
import type { Types } from "mongoose";
import type { Database } from "@linkojob/db";
import { CLIENTS_CHANGED_CHANNEL, parseClientChanged } from "@linkojob/events";

export interface RoutedClient {
  clientId: Types.ObjectId;
  status: string;
}

interface Entry {
  value: (RoutedClient & { wabaId: string | null }) | null;
  expiresAt: number;
}

export interface ClientDirectoryOptions {
  /** How long a known number stays cached. Default 60 s (changes are also pushed, see below). */
  ttlMs?: number;
  /** How long "no client has this number" stays cached. Default 5 s, so a fresh connect routes soon. */
  negativeTtlMs?: number;
}

/**
 * Routes a webhook's phone_number_id to its client through a small in-process cache. It notices
 * changes: every process that connects, disconnects or alters a client publishes on
 * CLIENTS_CHANGED_CHANNEL and the entry is dropped at once; the TTL bounds staleness if a message
 * is ever missed.
 */
export class ClientDirectory {
  private readonly cache = new Map<string, Entry>();
  private readonly ttl: number;
  private readonly negativeTtl: number;
  private subscribed = false;

  constructor(
    private readonly db: Database,
    /** A connection in subscriber mode, owned by the caller. */
    private readonly subscriber: RedisClient | null,
    options: ClientDirectoryOptions = {},
  ) {
    this.ttl = options.ttlMs ?? 60_000;
    this.negativeTtl = options.negativeTtlMs ?? 5_000;
  }

  async start(): Promise<void> {
    if (!this.subscriber || this.subscribed) return;
    this.subscribed = true;
    this.subscriber.on("message", (channel: string, raw: string) => {
      if (channel !== CLIENTS_CHANGED_CHANNEL) return;
      // An unreadable announcement still means something changed: drop everything.
      const phoneNumberId = parseClientChanged(channel, raw)?.phoneNumberId;
      if (phoneNumberId) this.cache.delete(phoneNumberId);
      else this.cache.clear();
    });
    await this.subscriber.subscribe(CLIENTS_CHANGED_CHANNEL);
  }

  /**
   * The client that owns `phoneNumberId`, when the delivery names that client's WABA as its
   * `entry.id` (or the client records no WABA, as the platform's document has none): a number routes only under its own WABA, so a delivery that pairs another WABA with
   * a tenant's number (signed by whoever holds the app secret: a simulator, a misrouted app) never
   * reaches that tenant.
   */
  async lookup(phoneNumberId: string, wabaId: string): Promise<RoutedClient | null> {
    const hit = this.cache.get(phoneNumberId);
    let value = hit && hit.expiresAt > Date.now() ? hit.value : undefined;
    if (value === undefined) {
      const doc = await this.db.clients.findOne({ phoneNumberId }, { _id: 1, status: 1, wabaId: 1 }).lean();
      value = doc ? { clientId: doc._id, status: doc.status, wabaId: doc.wabaId ?? null } : null;
      this.cache.set(phoneNumberId, { value, expiresAt: Date.now() + (value ? this.ttl : this.negativeTtl) });
    }
    // A client document written by the platform has no wabaId (the platform's clients collection does not
    // name one): its number routes alone. Every client connected through onboarding or the admin
    // connect records its WABA, and then only that WABA routes to it.
    if (!value || (value.wabaId !== null && value.wabaId !== wabaId)) return null;
    return { clientId: value.clientId, status: value.status };
  }

  invalidate(phoneNumberId?: string): void {
    if (phoneNumberId) this.cache.delete(phoneNumberId);
    else this.cache.clear();
  }
}
