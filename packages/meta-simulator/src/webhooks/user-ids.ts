import { createHash, randomInt } from "node:crypto";

/**
 * Business-scoped user ids (BSUIDs), as Meta writes them since 2026: an ISO 3166 alpha-2 country
 * code, a dot, then up to 128 alphanumerics, e.g. `US.13491208655302741918`. They are opaque: never
 * a phone number, never normalised like one.
 *
 * At Meta a user has one BSUID per business portfolio. The simulator derives one per phone number
 * (`userIdForPhone`), the same for every business it plays, so that a candidate written as a phone
 * number in a test gets the same user id in every message and status.
 */

export const USER_ID_PATTERN = /^[A-Z]{2}\.[A-Za-z0-9]{1,128}$/;

export const isUserId = (value: string): boolean => USER_ID_PATTERN.test(value);

/** Calling code → ISO country code, for the countries this project's candidates write from. */
const COUNTRY_BY_CALLING_CODE: ReadonlyArray<[string, string]> = [
  ["212", "MA"],
  ["213", "DZ"],
  ["216", "TN"],
  ["221", "SN"],
  ["225", "CI"],
  ["971", "AE"],
  ["966", "SA"],
  ["33", "FR"],
  ["34", "ES"],
  ["32", "BE"],
  ["39", "IT"],
  ["44", "GB"],
  ["49", "DE"],
  ["1", "US"],
];

/** The country code part of a user id for a phone number (MA when the calling code is not listed). */
export function countryOfPhone(waId: string): string {
  return COUNTRY_BY_CALLING_CODE.find(([prefix]) => waId.startsWith(prefix))?.[1] ?? "MA";
}

/** A fresh user id, e.g. for a candidate who only ever shows a username. */
export function newUserId(country = "MA"): string {
  let digits = String(randomInt(1, 10));
  while (digits.length < 20) digits += String(randomInt(0, 10));
  return `${country}.${digits}`;
}

/** The simulator's stable user id for a phone number: the same number always gets the same id. */
export function userIdForPhone(waId: string): string {
  const hash = createHash("sha256").update(`bsuid:${waId}`).digest();
  // 20 decimal digits from the first 8 bytes (2^64 < 9 × 10^19), like Meta's examples.
  const digits = hash.readBigUInt64BE(0) + 10_000_000_000_000_000_000n;
  return `${countryOfPhone(waId)}.${digits}`;
}
