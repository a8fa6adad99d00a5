import { Database, type ClientDoc, type TemplateDoc } from "@linkojob/db";
import { CLIENTS_CHANGED_CHANNEL, parseClientChanged } from "@linkojob/events";
import type { TemplateLookup } from "./send-plan.js";

/**
 * Pub/sub channel on which a process announces that a WABA's stored templates changed (a sync, a
 * `message_template_status_update`). Message: JSON `{ wabaId }`; anything unreadable means "all".
 */
export const TEMPLATES_CHANGED_CHANNEL = "templates:changed";

/** A connection to publish on (an ioredis client or cluster). */
export interface Publisher {
  publish(channel: string, message: string): Promise<unknown>;
}

/** A subscriber-mode connection (an ioredis client or cluster). */
export interface SubscriberConnection {
  on(event: "message", listener: (channel: string, message: string) => void): unknown;
  on(event: "ready" | "close", listener: () => void): unknown;
  off(event: "message", listener: (channel: string, message: string) => void): unknown;
  off(event: "ready" | "close", listener: () => void): unknown;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
}

/** Tells every process's SendCaches that a WABA's templates changed. A failed publish is not thrown. */
export async function publishTemplatesChanged(publisher: Publisher, wabaId: string): Promise<void> {
  await publisher.publish(TEMPLATES_CHANGED_CHANNEL, JSON.stringify({ wabaId })).catch(() => undefined);
}

interface Entry<T> {
  value: T;
  at: number;
}

/**
 * A read-through map whose entries a change announcement drops. A read that started before an
 * invalidation is not cached (the generation moved), so a change is never hidden by a read in flight;
 * concurrent misses of one key share one read. `ttlMs` bounds staleness when an announcement is lost.
 */
class ReadThrough<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly inFlight = new Map<string, Promise<T | null>>();
  private generation = 0;
  /** False while changes cannot be heard (not subscribed yet, connection lost): every get reads. */
  live = false;

  constructor(private readonly ttlMs: number) {}

  async get(key: string, read: () => Promise<T | null>): Promise<T | null> {
    if (!this.live) return read();
    const hit = this.entries.get(key);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value;
    const running = this.inFlight.get(key);
    if (running) return running;
    const generation = this.generation;
    const p = read().then(
      (value) => {
        this.inFlight.delete(key);
        // Only what exists is kept: a miss (not synced yet, unknown client) is read again next time.
        if (value !== null && generation === this.generation) this.entries.set(key, { value, at: Date.now() });
        return value;
      },
      (err: unknown) => {
        this.inFlight.delete(key);
        throw err;
      },
    );
    this.inFlight.set(key, p);
    return p;
  }

  drop(match?: (key: string) => boolean): void {
    this.generation++;
    this.inFlight.clear();
    if (!match) return this.entries.clear();
    for (const key of [...this.entries.keys()]) if (match(key)) this.entries.delete(key);
  }
}

/** Where SendCaches reads on a miss: MongoDB (the worker: the whole client, token included) or SendState (the send API). */
export interface SendCacheSource<C> {
  client(clientId: string): Promise<C | null>;
  template(wabaId: string, name: string, language: string): Promise<TemplateDoc | null>;
}

/** MongoDB as a cache source: the whole client document and the synced template. */
export const mongoCacheSource = (db: Database): SendCacheSource<ClientDoc> => ({
  client: (clientId) => db.clients.findById(clientId).lean<ClientDoc>(),
  template: (wabaId, name, language) =>
    db.templates.findOne({ wabaId, name, language }, { __v: 0 }).lean<TemplateDoc>(),
});

export interface SendCachesOptions {
  /** Longest an entry is used without a change announcement. Default 60,000 ms. */
  ttlMs?: number;
}

/**
 * What every send reads and what rarely changes, kept in process: the client (status, encrypted
 * token, WABA, number, default template) and its WABA's templates. Changes are noticed through
 * `clients:changed` (every client status change and (re)connect is announced there) and
 * `templates:changed`; `subscribe` wires both on a subscriber-mode connection, and a reconnect of
 * that connection drops everything (announcements may have been missed meanwhile).
 */
export class SendCaches<C = ClientDoc> {
  private readonly clients: ReadThrough<C>;
  private readonly templates: ReadThrough<TemplateDoc>;
  private subscriber: SubscriberConnection | null = null;
  private readonly onMessage = (channel: string, raw: string) => this.handle(channel, raw);
  private readonly onReady = () => void this.renew();
  private readonly onLost = () => this.setLive(false);

  private readonly source: SendCacheSource<C>;

  /** `source`: a Database reads MongoDB (the whole client); the send API passes its SendState. */
  constructor(source: Database | SendCacheSource<C>, options: SendCachesOptions = {}) {
    this.source = source instanceof Database ? (mongoCacheSource(source) as unknown as SendCacheSource<C>) : source;
    const ttl = options.ttlMs ?? 60_000;
    this.clients = new ReadThrough(ttl);
    this.templates = new ReadThrough(ttl);
  }

  /** The client's whole document (its token still encrypted), or null when there is none. */
  client(clientId: string): Promise<C | null> {
    return this.clients.get(clientId, () => this.source.client(clientId));
  }

  /** A fresh read of the client, bypassing (and refreshing) the cache. */
  async freshClient(clientId: string): Promise<C | null> {
    this.clients.drop((k) => k === clientId);
    return this.client(clientId);
  }

  /** The synced template of `wabaId` for (name, language), or null. */
  template(wabaId: string, name: string, language: string): Promise<TemplateDoc | null> {
    return this.templates.get(`${wabaId}\u0000${name}\u0000${language}`, () =>
      this.source.template(wabaId, name, language),
    );
  }

  /** planSend's template lookup for one WABA. */
  templatesOf(wabaId: string): TemplateLookup {
    return (name, language) => this.template(wabaId, name, language);
  }

  dropClient(clientId: string): void {
    this.clients.drop((k) => k === clientId);
  }

  dropTemplates(wabaId?: string): void {
    this.templates.drop(wabaId === undefined ? undefined : (k) => k.startsWith(`${wabaId}\u0000`));
  }

  dropAll(): void {
    this.clients.drop();
    this.templates.drop();
  }

  /** Announcements can be heard (or not): either way, what was cached may have missed some. */
  private setLive(live: boolean): void {
    this.dropAll();
    this.clients.live = live;
    this.templates.live = live;
  }

  /** Applies one pub/sub message; returns true when it was one of ours. */
  handle(channel: string, raw: string): boolean {
    if (channel === CLIENTS_CHANGED_CHANNEL) {
      const msg = parseClientChanged(channel, raw);
      // An unreadable announcement still means something changed.
      if (msg) this.dropClient(msg.clientId);
      else this.clients.drop();
      return true;
    }
    if (channel === TEMPLATES_CHANGED_CHANNEL) {
      let wabaId: string | undefined;
      try {
        const v = JSON.parse(raw) as { wabaId?: unknown } | null;
        if (typeof v?.wabaId === "string") wabaId = v.wabaId;
      } catch {
        // unreadable: drop every WABA's templates
      }
      this.dropTemplates(wabaId);
      return true;
    }
    return false;
  }

  /**
   * Listens on a subscriber-mode connection (shared with other listeners is fine). Until the
   * subscription is confirmed, and whenever the connection is lost, nothing is served from cache;
   * each time the connection is ready again the subscription is renewed, then the cache used again.
   */
  async subscribe(subscriber: SubscriberConnection): Promise<void> {
    this.subscriber = subscriber;
    subscriber.on("message", this.onMessage);
    subscriber.on("close", this.onLost);
    subscriber.on("ready", this.onReady);
    await this.renew();
  }

  private async renew(): Promise<void> {
    const s = this.subscriber;
    if (!s) return;
    try {
      await s.subscribe(CLIENTS_CHANGED_CHANNEL, TEMPLATES_CHANGED_CHANNEL);
      if (this.subscriber === s) this.setLive(true);
    } catch {
      // Not connected yet (a fail-fast connection refuses commands): "ready" renews it.
      this.setLive(false);
    }
  }

  /** Stops listening (does not close the connection: whoever opened it closes it). */
  async close(): Promise<void> {
    const s = this.subscriber;
    if (!s) return;
    this.subscriber = null;
    this.setLive(false);
    s.off("message", this.onMessage);
    s.off("ready", this.onReady);
    s.off("close", this.onLost);
    await s.unsubscribe(TEMPLATES_CHANGED_CHANNEL).catch(() => undefined);
  }
}
