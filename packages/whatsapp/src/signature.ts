import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from "node:crypto";

const PREFIX = "sha256=";
const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/** `sha256=<hex>` as Meta puts it in X-Hub-Signature-256: an HMAC-SHA256 of the raw bytes. */
export function signWebhookBody(rawBody: Buffer | string, appSecret: string): string {
  return PREFIX + createHmac("sha256", appSecret).update(rawBody).digest("hex");
}

/**
 * Checks X-Hub-Signature-256 against the raw request bytes (never a re-serialisation of the parsed
 * JSON, which differs for non-ASCII text as Meta escapes it). Constant time; the length is checked
 * first because timingSafeEqual throws on unequal lengths.
 */
export function verifyWebhookSignature(
  rawBody: Buffer,
  header: string | string[] | undefined,
  appSecret: string | KeyObject,
): boolean {
  if (typeof header !== "string" || !header.startsWith(PREFIX)) return false;
  const hex = header.slice(PREFIX.length);
  if (!HEX_SHA256.test(hex)) return false;
  const given = Buffer.from(hex, "hex");
  const expected = createHmac("sha256", appSecret).update(rawBody).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The app secret as a KeyObject, for the webhook hot path: HMAC with a string key re-imports the key
 * on every call.
 */
export const webhookSigningKey = (appSecret: string): KeyObject => createSecretKey(Buffer.from(appSecret, "utf8"));
