import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { envVars } from "@linkojob/config";

/**
 * A secret encrypted by the vault, as stored in MongoDB (same shape as @linkojob/db's EncryptedSecret).
 * `keyId` names the key that encrypted it, so that keys can rotate.
 */
export interface EncryptedSecret {
  keyId: string;
  /** 12-byte IV, base64. */
  iv: string;
  /** 16-byte GCM authentication tag, base64. */
  tag: string;
  /** Ciphertext, base64. */
  data: string;
}

export type VaultErrorCode =
  | "VAULT_ERR_INVALID_KEY" // a key is not 64 hex characters
  | "VAULT_ERR_UNKNOWN_KEY" // the ciphertext names a key the vault does not hold
  | "VAULT_ERR_MALFORMED" // not the stored shape (missing field, wrong IV or tag length, not base64)
  | "VAULT_ERR_TAMPERED"; // the authentication tag does not match: changed, truncated or wrong key

export class VaultError extends Error {
  constructor(
    readonly code: VaultErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "VaultError";
  }
}

const ALGORITHM = "aes-256-gcm";
const IV_BYTES = 12; // NIST SP 800-38D: 96-bit IVs for GCM
const TAG_BYTES = 16;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

interface VaultKey {
  id: string;
  key: Buffer;
}

/**
 * A short public fingerprint of a key: 16 hex characters of HMAC-SHA256(key, label). It names the key
 * in stored ciphertexts without revealing anything about it.
 */
export function keyFingerprint(key: Buffer): string {
  return createHmac("sha256", key).update("linkojob-token-vault/key-id/v1").digest("hex").slice(0, 16);
}

function decode(field: unknown, name: string): Buffer {
  if (typeof field !== "string" || !BASE64.test(field)) throw new VaultError("VAULT_ERR_MALFORMED", `the stored secret's ${name} is not base64`);
  return Buffer.from(field, "base64");
}

/**
 * AES-256-GCM encryption of access tokens at rest. Every encryption uses a fresh random IV; the
 * authentication tag is checked on decryption, so a changed or truncated ciphertext is an error,
 * never garbage. Several keys may be held for rotation: the first encrypts, all decrypt. The key id is
 * bound to the ciphertext as additional authenticated data, so relabelling a ciphertext fails too.
 */
export class TokenVault {
  private readonly keys: VaultKey[];
  private readonly byId = new Map<string, VaultKey>();

  /** @param hexKeys 64-hex-character keys; the first is the current one. */
  constructor(hexKeys: readonly string[]) {
    if (hexKeys.length === 0) throw new VaultError("VAULT_ERR_INVALID_KEY", "the token vault needs at least one key");
    this.keys = [];
    for (const [i, hex] of hexKeys.entries()) {
      if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
        throw new VaultError("VAULT_ERR_INVALID_KEY", `TOKEN_ENCRYPTION_KEY #${i + 1} must be 64 hex characters (32 bytes)`);
      }
      const key = Buffer.from(hex, "hex");
      const id = keyFingerprint(key);
      if (this.byId.has(id)) continue; // the same key listed twice
      const k = { id, key };
      this.keys.push(k);
      this.byId.set(id, k);
    }
  }

  /**
   * Builds a vault from the raw TOKEN_ENCRYPTION_KEY value (comma-separated keys, current first),
   * with the same validation as the apps' environment schema.
   */
  static fromEnvValue(raw: string): TokenVault {
    const parsed = envVars.tokenEncryptionKey.safeParse(raw);
    if (!parsed.success) {
      throw new VaultError("VAULT_ERR_INVALID_KEY", `TOKEN_ENCRYPTION_KEY: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
    }
    return new TokenVault(parsed.data);
  }

  /** The id of the key new encryptions use. */
  get currentKeyId(): string {
    return this.keys[0]!.id;
  }

  /** Ids of every key the vault can decrypt with, current first. */
  get keyIds(): string[] {
    return this.keys.map((k) => k.id);
  }

  encrypt(plaintext: string): EncryptedSecret {
    const { id, key } = this.keys[0]!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(id, "utf8"));
    const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return { keyId: id, iv: iv.toString("base64"), tag: cipher.getAuthTag().toString("base64"), data: data.toString("base64") };
  }

  decrypt(secret: EncryptedSecret | null | undefined): string {
    if (!secret || typeof secret !== "object") throw new VaultError("VAULT_ERR_MALFORMED", "no stored secret");
    if (typeof secret.keyId !== "string") throw new VaultError("VAULT_ERR_MALFORMED", "the stored secret names no key");
    const k = this.byId.get(secret.keyId);
    if (!k) throw new VaultError("VAULT_ERR_UNKNOWN_KEY", `no key with id ${secret.keyId} is configured (was it removed from TOKEN_ENCRYPTION_KEY?)`);
    const iv = decode(secret.iv, "iv");
    const tag = decode(secret.tag, "tag");
    const data = decode(secret.data, "data");
    if (iv.length !== IV_BYTES) throw new VaultError("VAULT_ERR_MALFORMED", "the stored secret's IV has the wrong length");
    if (tag.length !== TAG_BYTES) throw new VaultError("VAULT_ERR_MALFORMED", "the stored secret's tag has the wrong length");
    try {
      const decipher = createDecipheriv(ALGORITHM, k.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(k.id, "utf8"));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(data), decipher.final()]).toString("utf8");
    } catch {
      throw new VaultError("VAULT_ERR_TAMPERED", "the stored secret failed authentication (changed, truncated or wrong key)");
    }
  }

  /** True when the secret was encrypted with a key other than the current one. */
  needsReencryption(secret: EncryptedSecret): boolean {
    return secret.keyId !== this.currentKeyId;
  }

  /** Decrypts with whichever key it names and encrypts again under the current key (fresh IV). */
  reencrypt(secret: EncryptedSecret): EncryptedSecret {
    return this.encrypt(this.decrypt(secret));
  }
}
