import type { OptOutKeyType } from "@linkojob/db";

/**
 * The deployment's keyed hash of a candidate's identifier (HMAC-SHA256 under PERSONAL_DATA_HASH_KEY:
 * @linkojob/privacy's IdentifierHasher). Every process that reads or writes the opt-out register
 * holds the same key, so that an opt-out kept as a hash by an erasure is found again from the number
 * or user id a later send names.
 */
export interface IdentifierHash {
  identifier(kind: "phone" | "userId", value: string): string;
}

/** How a register key that stands for an erased candidate's identifier starts. */
export const HASHED_KEY_PREFIX = "hmac:";

export const isHashedKey = (key: string): boolean => key.startsWith(HASHED_KEY_PREFIX);

/** Phone numbers are digits; anything else (a `CC.xxxx` business-scoped id) is a user id. */
export const isPhoneKey = (key: string): boolean => /^\d+$/.test(key);

/** The register key of an identity's keyed hash: `hmac:` and HMAC-SHA256 of `phone:<n>` or `userId:<id>`. */
export function hashedKeyOf(hash: IdentifierHash, identity: string): string {
  return `${HASHED_KEY_PREFIX}${hash.identifier(isPhoneKey(identity) ? "phone" : "userId", identity)}`;
}

/** The key type of an identity's hash (from the identity in clear). */
export const hashedKeyTypeOf = (identity: string): OptOutKeyType =>
  isPhoneKey(identity) ? "phone_hash" : "user_id_hash";
