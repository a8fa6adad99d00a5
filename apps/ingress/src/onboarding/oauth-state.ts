import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { RedisClient } from "@linkojob/queues";
import { OnboardingError } from "./onboarding-error.js";

/**
 * What a state carries: the user it was issued to, a single-use nonce, its expiry (Unix seconds), and
 * the SHA-256 of the browser secret that only the browser which asked for it holds (in a cookie).
 */
export interface OAuthStatePayload {
  userId: string;
  nonce: string;
  expiresAt: number;
  browserHash: string;
}

/** A new state and the secret its browser keeps in a cookie (never in a URL). */
export interface IssuedState {
  state: string;
  nonce: string;
  browserSecret: string;
  expiresAt: number;
}

export interface OAuthStateOptions {
  /** Secret the HMAC key is derived from (JWT_SECRET: one secret less to manage, a separate key). */
  secret: string;
  /** Prefix of the Redis keys that mark used nonces (the deployment's QUEUE_PREFIX). */
  keyPrefix: string;
  /** Lifetime of a state. Default 600 s: the dialog takes a minute or two, not more. */
  ttlSeconds?: number;
}

const b64url = (buf: Buffer) => buf.toString("base64url");
const browserHash = (secret: string) => b64url(createHash("sha256").update(secret, "utf8").digest());

/**
 * The OAuth `state` of the Embedded Signup redirect flow: `base64url(payload).base64url(hmac)`. It is
 * signed (a forged or altered one is refused), expires within minutes, names the user it was issued
 * to (the callback carries no JWT, so the state is what binds the connection to that recruiter), is
 * bound to the browser that asked for it (the hash of a secret that browser holds in an HttpOnly
 * cookie: a link forwarded to someone else does not connect their number to the sender), and works
 * once: consuming it SETs its nonce in Redis with NX and a TTL covering its lifetime, so a replay is
 * refused even by another ingress node. Redis keeps the TTL (FerretDB has no TTL index).
 */
export class OAuthStateStore {
  private readonly key: Buffer;
  private readonly ttlSeconds: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: OAuthStateOptions,
  ) {
    this.key = createHmac("sha256", options.secret).update("linkojob/oauth-state/v1").digest();
    this.ttlSeconds = options.ttlSeconds ?? 600;
  }

  issue(userId: string, now = Date.now()): IssuedState {
    const nonce = b64url(randomBytes(16));
    const browserSecret = b64url(randomBytes(32));
    const expiresAt = Math.floor(now / 1000) + this.ttlSeconds;
    const body = b64url(
      Buffer.from(JSON.stringify({ u: userId, n: nonce, e: expiresAt, b: browserHash(browserSecret) }), "utf8"),
    );
    return { state: `${body}.${this.sign(body)}`, nonce, browserSecret, expiresAt };
  }

  /** Checks signature and expiry without consuming (no Redis). Throws OnboardingError. */
  verify(state: string | undefined, now = Date.now()): OAuthStatePayload {
    if (!state || state.length > 1024) throw new OnboardingError("STATE_INVALID");
    const dot = state.indexOf(".");
    if (dot <= 0) throw new OnboardingError("STATE_INVALID");
    const body = state.slice(0, dot);
    const given = Buffer.from(state.slice(dot + 1), "base64url");
    const expected = Buffer.from(this.sign(body), "base64url");
    // timingSafeEqual throws on unequal lengths: compare lengths first.
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new OnboardingError("STATE_INVALID");
    let raw: { u?: unknown; n?: unknown; e?: unknown; b?: unknown };
    try {
      raw = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as typeof raw;
    } catch {
      throw new OnboardingError("STATE_INVALID");
    }
    if (
      typeof raw.u !== "string" ||
      typeof raw.n !== "string" ||
      typeof raw.e !== "number" ||
      typeof raw.b !== "string"
    ) {
      throw new OnboardingError("STATE_INVALID");
    }
    if (raw.e * 1000 <= now) throw new OnboardingError("STATE_EXPIRED");
    return { userId: raw.u, nonce: raw.n, expiresAt: raw.e, browserHash: raw.b };
  }

  /**
   * Verifies the state, marks it used, then checks that `browserSecret` (the cookie of the browser
   * that came back) is the one it was issued with. A second consumption is STATE_REPLAYED; another
   * browser is STATE_BROWSER_MISMATCH, and the state is spent all the same, so that whoever sent the
   * link cannot finish it afterwards in their own browser.
   */
  async consume(
    state: string | undefined,
    browserSecret: string | undefined,
    now = Date.now(),
  ): Promise<OAuthStatePayload> {
    const payload = this.verify(state, now);
    const ttl = Math.max(1, payload.expiresAt - Math.floor(now / 1000)) + 60;
    let set: string | null;
    try {
      set = await this.redis.set(`${this.options.keyPrefix}:oauth-state:${payload.nonce}`, "1", "EX", ttl, "NX");
    } catch {
      throw new OnboardingError("SERVICE_UNAVAILABLE");
    }
    if (set !== "OK") throw new OnboardingError("STATE_REPLAYED");
    const given = Buffer.from(browserSecret ? browserHash(browserSecret) : "", "utf8");
    const expected = Buffer.from(payload.browserHash, "utf8");
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new OnboardingError("STATE_BROWSER_MISMATCH");
    return payload;
  }

  private sign(body: string): string {
    return b64url(createHmac("sha256", this.key).update(body).digest());
  }
}
