import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Short-lived signed media URLs, for `<img src>` and download links, which cannot carry an
 * Authorization header. The signature is HMAC-SHA256 over (message id, tenant id, expiry) with a key
 * derived from JWT_SECRET for this purpose only, so it proves nothing else and the secret never
 * leaves the server. Bound to the tenant: a signature for one client's message fails for any other.
 */
export class MediaUrlSigner {
  private readonly key: Buffer;

  /** @param ttlSeconds lifetime of a signed URL. Default 300 (5 minutes). */
  constructor(
    jwtSecret: string,
    readonly ttlSeconds = 300,
  ) {
    this.key = createHmac("sha256", jwtSecret).update("linkojob/media-url/v1").digest();
  }

  private mac(messageId: string, clientId: string, exp: number): Buffer {
    return createHmac("sha256", this.key).update(`${messageId}.${clientId}.${exp}`).digest();
  }

  /** `{ sig, exp }` for a message of a tenant; exp in Unix seconds. */
  sign(messageId: string, clientId: string, nowMs = Date.now()): { sig: string; exp: number } {
    const exp = Math.floor(nowMs / 1000) + this.ttlSeconds;
    return { sig: this.mac(messageId, clientId, exp).toString("base64url"), exp };
  }

  /** True when `sig` was made by sign() for this message and tenant and `exp` has not passed. */
  verify(messageId: string, clientId: string, sig: string, exp: number, nowMs = Date.now()): boolean {
    if (!Number.isSafeInteger(exp) || exp * 1000 <= nowMs) return false;
    const given = Buffer.from(sig, "base64url");
    const expected = this.mac(messageId, clientId, exp);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
