import { Types } from "mongoose";
import type { ClientDoc, ConversationDoc, Database, TemplateDoc } from "@linkojob/db";
import type { RedisClient } from "@linkojob/queues";
import { OptOutState, type OptOutView } from "./opt-outs/opt-out-state.js";
import type { IdentifierHash } from "./opt-outs/hashed-identity.js";
import { ProtectionState } from "./sending-policy/protection-state.js";

/**
 * What the send API decides a send with, kept in Redis so that accepting a send makes no MongoDB
 * request: each client's sending state, each WABA's synced templates, each candidate's open 24-hour
 * window and the Idempotency-Keys already answered. MongoDB stays the source of truth: whoever
 * changes a client (ClientStatusAnnouncer), a WABA's templates (template sync, template status
 * webhooks) or a window (the inbound worker, when a candidate writes) writes its copy here too, and
 * `rebuild` copies everything again when Redis comes back empty (the `built` marker is gone).
 *
 * Reads on a miss: a client or a template not in Redis is read from MongoDB and copied (one read per
 * key, only for one never written or lost); a window not in Redis is closed once the state is built,
 * and read from MongoDB only while it is not (after a flush, before the rebuild).
 */

/** A client as the send API needs it: who owns it, whether it may send, its WABA and defaults. Never its token. */
export type SendClient = Pick<
  ClientDoc,
  "_id" | "status" | "statusReason" | "wabaId" | "phoneNumberId" | "defaultTemplate" | "companyName"
> & { userId: string };

/** What an Idempotency-Key answered: the message id chosen then, and whether its job is queued yet. */
export interface IdempotentAnswer<A> {
  state: "pending" | "queued";
  answer: A;
}

/** How long an Idempotency-Key is remembered in Redis (the messages' unique index remembers it for ever). */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

const CLIENT_FIELDS = {
  _id: 1,
  userId: 1,
  status: 1,
  statusReason: 1,
  wabaId: 1,
  phoneNumberId: 1,
  defaultTemplate: 1,
  companyName: 1,
} as const;

const TEMPLATE_FIELDS = {
  _id: 1,
  wabaId: 1,
  metaId: 1,
  name: 1,
  language: 1,
  status: 1,
  statusReason: 1,
  category: 1,
  components: 1,
  headerParams: 1,
  bodyParams: 1,
} as const;

const templateField = (name: string, language: string) => `${name}\u0000${language}`;

function clientJson(c: Pick<ClientDoc, keyof typeof CLIENT_FIELDS>): string {
  return JSON.stringify({
    _id: c._id.toHexString(),
    userId: String(c.userId),
    status: c.status,
    statusReason: c.statusReason ?? null,
    wabaId: c.wabaId,
    phoneNumberId: c.phoneNumberId,
    ...(c.defaultTemplate ? { defaultTemplate: c.defaultTemplate } : {}),
    companyName: c.companyName,
  });
}

function reviveClient(raw: string): SendClient {
  const v = JSON.parse(raw) as Omit<SendClient, "_id"> & { _id: string };
  return { ...v, _id: new Types.ObjectId(v._id) };
}

function templateJson(t: Pick<TemplateDoc, keyof typeof TEMPLATE_FIELDS>): string {
  return JSON.stringify({ ...t, _id: t._id.toHexString() });
}

/** The stored template as planning reads it (counters and dates are not copied: planning never reads them). */
function reviveTemplate(raw: string): TemplateDoc {
  const v = JSON.parse(raw) as Omit<TemplateDoc, "_id" | "usageCount" | "createdAt" | "updatedAt"> & { _id: string };
  return { ...v, _id: new Types.ObjectId(v._id), usageCount: 0, createdAt: new Date(0), updatedAt: new Date(0) };
}

export interface SendStateOptions {
  redis: RedisClient;
  /** The deployment's key prefix (QUEUE_PREFIX): every key below starts with it. */
  prefix: string;
  /** Read on a miss, and by the writers. */
  db: Database;
  /** The deployment's keyed hash (PERSONAL_DATA_HASH_KEY): opt-outs an erasure kept as hashes are found by it. */
  hasher?: IdentifierHash;
}

export class SendState {
  private readonly redis: RedisClient;
  private readonly db: Database;
  private readonly prefix: string;
  private readonly rootPrefix: string;

  constructor(options: SendStateOptions) {
    this.redis = options.redis;
    this.db = options.db;
    this.rootPrefix = options.prefix;
    this.prefix = `${options.prefix}:send-state`;
    this.optOuts = new OptOutState(options);
  }

  /** The candidates' opt-outs, part of this state (keys under the same prefix). */
  readonly optOuts: OptOutState;

  /** Set by `rebuild` once every client, template and open window is copied; gone after a flush. */
  get builtKey(): string {
    return `${this.prefix}:built`;
  }
  clientKey(clientId: string): string {
    return `${this.prefix}:client:${clientId}`;
  }
  templatesKey(wabaId: string): string {
    return `${this.prefix}:templates:${wabaId}`;
  }
  windowKey(clientId: string, candidateKey: string): string {
    return `${this.prefix}:window:${clientId}:${candidateKey}`;
  }
  idempotencyKey(clientId: string, key: string): string {
    return `${this.prefix}:idem:${clientId}:${key}`;
  }

  // -- reads (the send API) ------------------------------------------------------------------

  /** The client's sending state, or null when there is no such client. */
  async client(clientId: string): Promise<SendClient | null> {
    const raw = await this.redis.get(this.clientKey(clientId));
    if (raw !== null) return reviveClient(raw);
    if (!Types.ObjectId.isValid(clientId)) return null;
    return this.writeClient(clientId);
  }

  /** The synced template of `wabaId` for (name, language), or null. */
  async template(wabaId: string, name: string, language: string): Promise<TemplateDoc | null> {
    const raw = await this.redis.hget(this.templatesKey(wabaId), templateField(name, language));
    if (raw !== null) return reviveTemplate(raw);
    const doc = await this.db.templates
      .findOne({ wabaId, name, language }, TEMPLATE_FIELDS)
      .lean<Pick<TemplateDoc, keyof typeof TEMPLATE_FIELDS>>();
    if (!doc) return null;
    await this.redis.hset(this.templatesKey(wabaId), templateField(name, language), templateJson(doc));
    return reviveTemplate(templateJson(doc));
  }

  /**
   * When the candidate's 24-hour window closes, or null when it is not open. One Redis request (the
   * window and the `built` marker together); MongoDB only while the state is not built.
   */
  async windowExpiresAt(clientId: string, candidateKey: string, now = Date.now()): Promise<Date | null> {
    const key = this.windowKey(clientId, candidateKey);
    const [built, until] = await this.redis.mget(this.builtKey, key);
    return this.windowFrom(clientId, candidateKey, built ?? null, until ?? null, now);
  }

  /**
   * What the send API reads of a candidate, in one Redis request: their window (as windowExpiresAt)
   * and their opt-out over the identities the send names (OptOutState.read).
   */
  async candidate(
    clientId: string,
    candidateKey: string,
    identities: Array<string | null | undefined>,
    now = Date.now(),
    /** More keys read in the same MGET (the sending protections' `keysOf`); their values come back in `extra`. */
    extraKeys: readonly string[] = [],
  ): Promise<{ windowExpiresAt: Date | null; optOut: OptOutView | null; extra: Array<string | null> }> {
    const optOutKeys = this.optOuts.keysOf(clientId, identities);
    const [built, until, ...rest] = await this.redis.mget(
      this.builtKey,
      this.windowKey(clientId, candidateKey),
      ...optOutKeys,
      ...extraKeys,
    );
    const optOutRaw = rest.slice(0, optOutKeys.length);
    const [windowExpiresAt, optOut] = await Promise.all([
      this.windowFrom(clientId, candidateKey, built ?? null, until ?? null, now),
      optOutKeys.length ? this.optOuts.resolve(clientId, identities, built ?? null, optOutRaw) : null,
    ]);
    return { windowExpiresAt, optOut, extra: rest.slice(optOutKeys.length) };
  }

  private async windowFrom(
    clientId: string,
    candidateKey: string,
    built: string | null,
    until: string | null,
    now: number,
  ): Promise<Date | null> {
    const key = this.windowKey(clientId, candidateKey);
    if (until) return Number(until) > now ? new Date(Number(until)) : null;
    if (built) return null;
    // The conversation holding the key as a phone, a user id or its own key: one find on MongoDB,
    // one per field on FerretDB (whose `$or` reads the tenant's conversations).
    const tenant = new Types.ObjectId(clientId);
    const clauses = [{ candidatePhone: candidateKey }, { candidateUserId: candidateKey }, { candidateKey }];
    const [conv] = await this.db.batchWriter.findEach<Pick<ConversationDoc, "_id" | "windowExpiresAt">>(
      this.db.conversations.collection,
      { clientId: tenant, $or: clauses },
      clauses.map((c) => ({ clientId: tenant, ...c })),
      { projection: { windowExpiresAt: 1 }, limit: 1 },
    );
    const at = conv?.windowExpiresAt ? new Date(conv.windowExpiresAt) : null;
    if (!at || at.getTime() <= now) return null;
    await this.redis.set(key, String(at.getTime()), "PX", at.getTime() - now);
    return at;
  }

  // -- writes (whoever changes the state) ----------------------------------------------------

  /** Copies the client's state from MongoDB (after a change); removes it when the client is gone. */
  async writeClient(clientId: string | Types.ObjectId): Promise<SendClient | null> {
    const id = typeof clientId === "string" ? clientId : clientId.toHexString();
    const doc = await this.db.clients.findById(id, CLIENT_FIELDS).lean<Pick<ClientDoc, keyof typeof CLIENT_FIELDS>>();
    if (!doc) {
      await this.redis.del(this.clientKey(id));
      return null;
    }
    const json = clientJson(doc);
    await this.redis.set(this.clientKey(id), json);
    return reviveClient(json);
  }

  /** Copies every synced template of a WABA from MongoDB (after a sync or a status change). */
  async writeTemplates(wabaId: string): Promise<void> {
    const docs = await this.db.templates
      .find({ wabaId }, TEMPLATE_FIELDS)
      .lean<Array<Pick<TemplateDoc, keyof typeof TEMPLATE_FIELDS>>>();
    const key = this.templatesKey(wabaId);
    const tx = this.redis.multi().del(key);
    for (const t of docs) tx.hset(key, templateField(t.name, t.language), templateJson(t));
    await tx.exec();
  }

  /** Copies the templates of the client's WABA (after a sync for that client). */
  async writeTemplatesOfClient(clientId: string): Promise<void> {
    const c = await this.db.clients.findById(clientId, { wabaId: 1 }).lean<Pick<ClientDoc, "wabaId">>();
    if (c?.wabaId) await this.writeTemplates(c.wabaId);
  }

  /**
   * A candidate wrote: their window is open until `windowExpiresAt`, under each key a send may name
   * them by (phone, user id). The key expires with the window. A window only grows, so a stale
   * shorter value written by a slower process can only make the API expect a template where the
   * worker, deciding from MongoDB, then sends text.
   */
  async writeWindows(
    windows: Array<{
      clientId: Types.ObjectId;
      windowExpiresAt?: Date | null;
      candidatePhone?: string | null;
      candidateUserId?: string | null;
    }>,
    now = Date.now(),
  ): Promise<void> {
    const p = this.redis.pipeline();
    let n = 0;
    for (const w of windows) {
      const until = w.windowExpiresAt ? new Date(w.windowExpiresAt).getTime() : 0;
      if (until <= now) continue;
      for (const key of [w.candidatePhone, w.candidateUserId]) {
        if (!key) continue;
        p.set(this.windowKey(w.clientId.toHexString(), key), String(until), "PX", until - now);
        n++;
      }
    }
    if (n) await p.exec();
  }

  /**
   * Copies every client, every WABA's templates, every open window and every opt-out from MongoDB, then sets the
   * `built` marker. Run when Redis comes back empty (the outbound worker does at start and whenever
   * it finds the marker gone; `cli:rebuild-send-state` does on demand). Returns what it copied.
   */
  async rebuild(now = Date.now()): Promise<{ clients: number; templates: number; windows: number; optOuts: number }> {
    const clients = await this.db.clients
      .find({}, CLIENT_FIELDS)
      .lean<Array<Pick<ClientDoc, keyof typeof CLIENT_FIELDS>>>();
    const p = this.redis.pipeline();
    for (const c of clients) p.set(this.clientKey(c._id.toHexString()), clientJson(c));
    const templates = await this.db.templates
      .find({}, TEMPLATE_FIELDS)
      .lean<Array<Pick<TemplateDoc, keyof typeof TEMPLATE_FIELDS>>>();
    for (const t of templates) p.hset(this.templatesKey(t.wabaId), templateField(t.name, t.language), templateJson(t));
    await p.exec();
    const open = await this.db.conversations
      .find(
        { windowExpiresAt: { $gt: new Date(now) } },
        { clientId: 1, windowExpiresAt: 1, candidatePhone: 1, candidateUserId: 1 },
      )
      .lean<Array<Pick<ConversationDoc, "clientId" | "windowExpiresAt" | "candidatePhone" | "candidateUserId">>>();
    await this.writeWindows(open, now);
    // The candidates' opt-outs (opt-outs/opt-out-state.ts): the send API refuses from them.
    const optOuts = await this.optOuts.rebuild();
    // The sending protections (policies, portfolio limits, number quality): read by the same send path.
    await new ProtectionState(this.redis, this.rootPrefix, this.db).rebuild();
    await this.redis.set(this.builtKey, String(now));
    return { clients: clients.length, templates: templates.length, windows: open.length, optOuts };
  }

  /** Rebuilds when the marker is gone (Redis came back empty). Returns whether it rebuilt. */
  async ensureBuilt(): Promise<boolean> {
    if (await this.redis.exists(this.builtKey)) return false;
    await this.rebuild();
    return true;
  }

  // -- Idempotency-Key ------------------------------------------------------------------------

  /**
   * Claims an Idempotency-Key for `answer` (pending until `confirmIdempotent`). Returns null when
   * this call claimed it, else what the first request with that key answered: once its job is
   * queued (waited for up to `waitMs` while it is being queued), or still pending after that.
   */
  async claimIdempotent<A>(
    clientId: string,
    key: string,
    answer: A,
    waitMs = 2_000,
  ): Promise<IdempotentAnswer<A> | null> {
    const k = this.idempotencyKey(clientId, key);
    const mine = JSON.stringify({ state: "pending", answer } satisfies IdempotentAnswer<A>);
    const until = Date.now() + waitMs;
    for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
      const ok = await this.redis.set(k, mine, "PX", IDEMPOTENCY_TTL_MS, "NX");
      if (ok === "OK") return null;
      const raw = await this.redis.get(k);
      // Released meanwhile (the first request's enqueue failed): claimed again on the next turn.
      const first = raw === null ? null : (JSON.parse(raw) as IdempotentAnswer<A>);
      if (first?.state === "queued" || (first && Date.now() >= until)) return first;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  /** The claimed key's job is queued: later requests with it answer the same. */
  async confirmIdempotent<A>(clientId: string, key: string, answer: A): Promise<void> {
    const value: IdempotentAnswer<A> = { state: "queued", answer };
    await this.redis.set(this.idempotencyKey(clientId, key), JSON.stringify(value), "PX", IDEMPOTENCY_TTL_MS, "XX");
  }

  /** The claimed key's job could not be queued: a retry with it starts afresh. */
  async releaseIdempotent(clientId: string, key: string): Promise<void> {
    await this.redis.del(this.idempotencyKey(clientId, key));
  }
}
