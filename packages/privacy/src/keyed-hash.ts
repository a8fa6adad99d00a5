import { createHash, createHmac, hkdfSync } from "node:crypto";

/**
 * Keyed hashes of a candidate's identifiers (HMAC-SHA256 under the deployment's PERSONAL_DATA_HASH_KEY).
 * A plain hash of a phone number is no protection: a billion numbers are hashed in minutes. With the
 * key kept in the environment (or the vault), what survives an erasure (an opt-out, the lookup of a
 * running erasure) can be matched against a number given later, and read by nobody who lacks the key.
 */
export class IdentifierHasher {
  constructor(private readonly key: Buffer) {
    if (key.length < 32) throw new Error("the personal-data hash key must be at least 32 bytes");
  }

  /** From 64 hex characters (PERSONAL_DATA_HASH_KEY). */
  static fromHex(hex: string): IdentifierHasher {
    return new IdentifierHasher(Buffer.from(hex, "hex"));
  }

  /** The keyed hash of one identifier, by kind (a phone number and a user id never collide). */
  identifier(kind: "phone" | "userId", value: string): string {
    return createHmac("sha256", this.key).update(`${kind}:${value}`).digest("hex");
  }

  /** The keyed hash of a request's subject: one person named by these identifiers, in these tenants. */
  subject(ids: { phones: string[]; userIds: string[] }, scope: string): string {
    const parts = [...ids.phones.map((p) => `phone:${p}`), ...ids.userIds.map((u) => `userId:${u}`)].sort();
    return createHmac("sha256", this.key)
      .update(`${scope}|${parts.join("|")}`)
      .digest("hex");
  }
}

/**
 * The deployment's hasher: PERSONAL_DATA_HASH_KEY when set, else a key derived (HKDF-SHA256) from the
 * first TOKEN_ENCRYPTION_KEY, a secret every process that erases already holds. Set
 * PERSONAL_DATA_HASH_KEY before rotating the token keys: the derived key would change with them, and
 * hashes kept under the old one would no longer match.
 */
export function deploymentHasher(personalDataHashKey: string | undefined, tokenEncryptionKeys: readonly string[]) {
  if (personalDataHashKey) return IdentifierHasher.fromHex(personalDataHashKey);
  const first = tokenEncryptionKeys[0];
  if (!first) throw new Error("PERSONAL_DATA_HASH_KEY or TOKEN_ENCRYPTION_KEY is required");
  const derived = hkdfSync("sha256", Buffer.from(first, "hex"), Buffer.alloc(0), "linkojob personal-data hash", 32);
  return new IdentifierHasher(Buffer.from(derived));
}

/**
 * The hasher of a process given none (tests, an app built without its main.ts): a key derived from
 * the deployment's key prefix, so that the ingress and both workers of one deployment agree. Not a
 * secret: every main.ts passes deploymentHasher (PERSONAL_DATA_HASH_KEY or TOKEN_ENCRYPTION_KEY).
 */
export function prefixHasher(prefix: string): IdentifierHasher {
  return new IdentifierHasher(createHash("sha256").update(`personal-data:${prefix}`).digest());
}
