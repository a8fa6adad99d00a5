import type { Types } from "mongoose";
import {
  activeScope,
  everyOptOut,
  type Database,
  type OptOutDoc,
  type OptOutScope,
  type OptOutScopeState,
} from "@linkojob/db";
import type { RedisClient } from "@linkojob/queues";
import { hashedKeyOf, type IdentifierHash } from "./hashed-identity.js";

const distinct = (identities: Array<string | null | undefined>) => [
  ...new Set(identities.filter((k): k is string => !!k)),
];

/** A scope in force, as the send path needs it: who set it, when, and who may lift it. */
export interface OptOutScopeView {
  source: string;
  at: string;
  owner: "candidate" | "tenant";
}

/**
 * A candidate's opt-out as the send path reads it: the strongest scope in force over every identity
 * the send names (`all` before `marketing`), and each scope's state. Null: no opt-out.
 */
export interface OptOutView {
  scope: OptOutScope;
  all: OptOutScopeView | null;
  marketing: OptOutScopeView | null;
}

/** What one identity's Redis key holds (absent: no opt-out in force). */
type StoredView = { all?: OptOutScopeView; marketing?: OptOutScopeView };

const viewOf = (s: OptOutScopeState | null | undefined): OptOutScopeView | undefined =>
  s?.active ? { source: s.source, at: new Date(s.at).toISOString(), owner: s.owner } : undefined;

function storedOf(doc: Pick<OptOutDoc, "all" | "marketing">): StoredView | null {
  if (!activeScope(doc)) return null;
  const all = viewOf(doc.all);
  const marketing = viewOf(doc.marketing);
  return { ...(all ? { all } : {}), ...(marketing ? { marketing } : {}) };
}

/** The strongest of several identities' states. */
function merge(views: StoredView[]): OptOutView | null {
  const all = views.find((v) => v.all)?.all ?? null;
  const marketing = views.find((v) => v.marketing)?.marketing ?? null;
  if (!all && !marketing) return null;
  return { scope: all ? "all" : "marketing", all, marketing };
}

export interface OptOutStateOptions {
  redis: RedisClient;
  /** The deployment's key prefix (QUEUE_PREFIX), as SendState's. */
  prefix: string;
  /** Read while the send state is not built, and by the rebuild. */
  db: Database;
  /**
   * The deployment's keyed hash (PERSONAL_DATA_HASH_KEY): each identity a send names is looked up in
   * clear and as its hash, which is all an erasure leaves of an opt-out. None: only in clear.
   */
  hasher?: IdentifierHash;
}

/**
 * The opt-out register's copy in Redis, part of the send state (SendState): one key per identity
 * with an opt-out in force, so that the send API decides with one MGET and no MongoDB request.
 * Whoever changes the register (OptOutRegister) writes it here after MongoDB; `rebuild` copies the
 * whole register again (SendState.rebuild, `cli:rebuild-send-state`). A key missing while the send
 * state's `built` marker is present means "no opt-out"; without the marker (Redis came back empty),
 * MongoDB is read and the result copied.
 */
export class OptOutState {
  private readonly redis: RedisClient;
  private readonly db: Database;
  private readonly base: string;
  /** The keyed hash identities are also looked up by (an erased candidate's opt-out). */
  readonly hasher: IdentifierHash | null;

  constructor(options: OptOutStateOptions) {
    this.redis = options.redis;
    this.db = options.db;
    this.base = `${options.prefix}:send-state`;
    this.hasher = options.hasher ?? null;
  }

  /**
   * The register keys to look a candidate up by: each identity in clear, then its keyed hash (an
   * HMAC computed here, no request), so that one MGET also finds an opt-out an erasure kept.
   */
  lookupKeys(identities: Array<string | null | undefined>): string[] {
    const clear = distinct(identities);
    const hasher = this.hasher;
    return hasher ? [...clear, ...clear.map((k) => hashedKeyOf(hasher, k))] : clear;
  }

  /** SendState's `built` marker. */
  get builtKey(): string {
    return `${this.base}:built`;
  }
  key(clientId: string, identity: string): string {
    return `${this.base}:opt-out:${clientId}:${identity}`;
  }

  /**
   * The opt-out in force for a candidate named by these identities (phone, user id), or null. One
   * Redis request; MongoDB only while the send state is not built.
   */
  async read(clientId: string, identities: Array<string | null | undefined>): Promise<OptOutView | null> {
    const keys = this.keysOf(clientId, identities);
    if (!keys.length) return null;
    const [built, ...raw] = await this.redis.mget(this.builtKey, ...keys);
    return this.resolve(clientId, identities, built ?? null, raw);
  }

  /** The Redis keys of these identities (in clear, then hashed), in order (for a caller that reads them with its own MGET). */
  keysOf(clientId: string, identities: Array<string | null | undefined>): string[] {
    return this.lookupKeys(identities).map((k) => this.key(clientId, k));
  }

  /**
   * The opt-out from what an MGET of `keysOf(identities)` answered (`raw`, in order) with the `built`
   * marker: MongoDB is read only when the state is not built and a key is missing.
   */
  async resolve(
    clientId: string,
    identities: Array<string | null | undefined>,
    built: string | null,
    raw: Array<string | null>,
  ): Promise<OptOutView | null> {
    const views = raw.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as StoredView);
    // As many keys as lookupKeys gives (each identity, then its hash), counted without the HMACs:
    // the caller computed them for its MGET, and only the MongoDB read below needs them again.
    const clear = distinct(identities).length;
    if (built || views.length === (this.hasher ? 2 * clear : clear)) return merge(views);
    const keys = this.lookupKeys(identities);
    const docs = await this.db.optOutsOf(clientId).find(keys);
    await this.write(clientId, docs);
    return merge(docs.map(storedOf).filter((v): v is StoredView => v !== null));
  }

  /** Copies these identities' register documents (after a change): set while in force, removed once lifted. */
  async write(
    clientId: string | Types.ObjectId,
    docs: Array<Pick<OptOutDoc, "key" | "all" | "marketing">>,
  ): Promise<void> {
    if (!docs.length) return;
    const id = typeof clientId === "string" ? clientId : clientId.toHexString();
    const p = this.redis.pipeline();
    for (const d of docs) {
      const v = storedOf(d);
      if (v) p.set(this.key(id, d.key), JSON.stringify(v));
      else p.del(this.key(id, d.key));
    }
    await p.exec();
  }

  /** Removes these identities' copies (their documents were deleted: an erasure, a hash restored in clear). */
  async remove(clientId: string | Types.ObjectId, keys: string[]): Promise<void> {
    const id = typeof clientId === "string" ? clientId : clientId.toHexString();
    // One key per DEL: on a Redis Cluster each may live in another slot.
    for (const k of keys) await this.redis.del(this.key(id, k));
  }

  /** Copies the whole register from MongoDB (every tenant), in pipelines of 500. Returns the identities in force. */
  async rebuild(): Promise<number> {
    let active = 0;
    let p = this.redis.pipeline();
    let queued = 0;
    for await (const d of everyOptOut(this.db.optOuts)) {
      const v = storedOf(d);
      const key = this.key(d.clientId.toHexString(), d.key);
      if (v) {
        p.set(key, JSON.stringify(v));
        active++;
      } else p.del(key);
      if (++queued === 500) {
        await p.exec();
        p = this.redis.pipeline();
        queued = 0;
      }
    }
    if (queued) await p.exec();
    return active;
  }
}
