import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** Name of the cookie that carries an operator's Bull Board session. */
export const BOARD_COOKIE = "lj_board";

/**
 * Bull Board's browser session. A browser cannot put a JWT in an Authorization header when it opens
 * a page, so the admin JWT is presented once (`?token=`) and exchanged for this cookie value:
 * `<sub>.<exp>.<hmac>`, signed with a key derived from JWT_SECRET for this purpose only. It is not a
 * JWT, so a stolen cookie cannot be replayed against the API, and it lives at most as long as the
 * JWT it came from (and never more than `maxTtlSeconds`).
 */
export class BoardSession {
  private readonly key: Buffer;

  constructor(
    jwtSecret: string,
    /** Longest session, seconds. Default 8 h (a working day). */
    readonly maxTtlSeconds = 8 * 3600,
  ) {
    this.key = createHash("sha256").update(`bull-board-session\0${jwtSecret}`).digest();
  }

  /** A cookie value for `sub`, expiring at the JWT's expiry or after maxTtlSeconds, whichever is first. */
  issue(sub: string, jwtExpiresAt?: number, now = Math.floor(Date.now() / 1000)): { value: string; maxAge: number } {
    const exp = Math.min(jwtExpiresAt ?? Number.POSITIVE_INFINITY, now + this.maxTtlSeconds);
    const payload = `${Buffer.from(sub).toString("base64url")}.${exp}`;
    return { value: `${payload}.${this.sign(payload)}`, maxAge: Math.max(0, exp - now) };
  }

  /** The operator's id when `value` is a valid, unexpired session; null otherwise. */
  verify(value: string | undefined, now = Math.floor(Date.now() / 1000)): string | null {
    if (!value) return null;
    const parts = value.split(".");
    if (parts.length !== 3) return null;
    const [sub, exp, mac] = parts as [string, string, string];
    const expected = Buffer.from(this.sign(`${sub}.${exp}`));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    if (!/^\d+$/.test(exp) || Number(exp) <= now) return null;
    return Buffer.from(sub, "base64url").toString();
  }

  private sign(payload: string): string {
    return createHmac("sha256", this.key).update(payload).digest("base64url");
  }
}

export { readCookie } from "../auth/cookies.js";
