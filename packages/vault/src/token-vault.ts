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

/**
 * A token encrypted by the proof of concept (its `encrypt`): `ivHex:tagHex:ciphertextHex`,
 * AES-256-GCM with a 16-byte IV and a 16-byte tag, no additional authenticated data, under the raw
 * TOKEN_ENCRYPTION_KEY. Read, never written: `cli:reencrypt-tokens` upgrades it.
 */
export type LegacySecret = string;

/** What a stored token field may hold. */
export type StoredSecret = EncryptedSecret | LegacySecret;

/** Exactly the legacy form: 32 hex (IV), 32 hex (tag), and whole bytes of hex ciphertext. */
const LEGACY = /^([0-9a-fA-F]{32}):([0-9a-fA-F]{32}):((?:[0-9a-fA-F]{2})+)$/;

/** True for a string in the proof of concept's `ivHex:tagHex:ciphertextHex` form. */
export function isLegacySecret(value: unknown): value is LegacySecret {
  return typeof value === "string" && LEGACY.test(value);
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
  if (typeof field !== "string" || !BASE64.test(field))
    throw new VaultError("VAULT_ERR_MALFORMED", `the stored secret's ${name} is not base64`);
  return Buffer.from(field, "base64");
}

/**
 * AES-256-GCM encryption of access tokens at rest. Every encryption uses a fresh random IV; the
 * authentication tag is checked on decryption, so a changed or truncated ciphertext is an error,
 * never garbage. Several keys may be held for rotation: the first encrypts, all decrypt.
 *
 * The additional authenticated data binds the ciphertext to its key id and to the client (tenant) it
 * belongs to: `<keyId>\0client:<clientId>`. Relabelling a ciphertext fails, and so does copying one
 * into another client's document. Ciphertexts written before that binding (their AAD is the key id
 * alone) still decrypt, for any client, until `cli:reencrypt-tokens` rewrites them bound; pass
 * `{ acceptUnbound: false }` once it has run to refuse them.
 */
export interface TokenVaultOptions {
  /**
   * Decrypt ciphertexts not bound to their client: the vault's own written before client binding
   * (AAD = key id alone) and the proof of concept's `ivHex:tagHex:ciphertextHex` strings. Default true.
   */
  acceptUnbound?: boolean;
}

/** The AAD of a ciphertext: its key id, and the client it belongs to when bound. */
const aadOf = (keyId: string, clientId: string | undefined) =>
  Buffer.from(clientId ? `${keyId}\0client:${clientId}` : keyId, "utf8");

export class TokenVault {
  private readonly keys: VaultKey[];
  private readonly byId = new Map<string, VaultKey>();
  private readonly acceptUnbound: boolean;

  /** @param hexKeys 64-hex-character keys; the first is the current one. */
  constructor(hexKeys: readonly string[], options: TokenVaultOptions = {}) {
    this.acceptUnbound = options.acceptUnbound ?? true;
    if (hexKeys.length === 0) throw new VaultError("VAULT_ERR_INVALID_KEY", "the token vault needs at least one key");
    this.keys = [];
    for (const [i, hex] of hexKeys.entries()) {
      if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
        throw new VaultError(
          "VAULT_ERR_INVALID_KEY",
          `TOKEN_ENCRYPTION_KEY #${i + 1} must be 64 hex characters (32 bytes)`,
        );
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
  static fromEnvValue(raw: string, options: TokenVaultOptions = {}): TokenVault {
    const parsed = envVars.tokenEncryptionKey.safeParse(raw);
    if (!parsed.success) {
      throw new VaultError(
        "VAULT_ERR_INVALID_KEY",
        `TOKEN_ENCRYPTION_KEY: ${parsed.error.issues.map((i) => i.message).join("; ")}`,
      );
    }
    return new TokenVault(parsed.data, options);
  }

  /** The id of the key new encryptions use. */
  get currentKeyId(): string {
    return this.keys[0]!.id;
  }

  /** Ids of every key the vault can decrypt with, current first. */
  get keyIds(): string[] {
    return this.keys.map((k) => k.id);
  }

  /**
   * Encrypts under the current key, bound to `clientId` (the client document's id, hex). Without a
   * client id the ciphertext is unbound (AAD = key id): only for data that belongs to no client.
   */
  encrypt(plaintext: string, clientId?: string): EncryptedSecret {
    const { id, key } = this.keys[0]!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aadOf(id, clientId));
    const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return {
      keyId: id,
      iv: iv.toString("base64"),
      tag: cipher.getAuthTag().toString("base64"),
      data: data.toString("base64"),
    };
  }

  /**
   * Decrypts a secret of `clientId`. A ciphertext bound to another client fails (VAULT_ERR_TAMPERED);
   * an unbound one (written before binding, or a proof-of-concept string) is accepted unless
   * `acceptUnbound` is false.
   */
  decrypt(secret: StoredSecret | null | undefined, clientId?: string): string {
    if (typeof secret === "string") return this.decryptLegacy(secret);
    const parts = this.parts(secret);
    if (clientId) {
      const bound = this.open(parts, clientId);
      if (bound !== null) return bound;
      if (!this.acceptUnbound)
        throw new VaultError(
          "VAULT_ERR_TAMPERED",
          "the stored secret failed authentication for this client (changed, moved from another client, or wrong key)",
        );
    }
    const unbound = this.open(parts, undefined);
    if (unbound !== null) return unbound;
    throw new VaultError(
      "VAULT_ERR_TAMPERED",
      "the stored secret failed authentication (changed, truncated, moved from another client, or wrong key)",
    );
  }

  /** True when the secret decrypts bound to `clientId` (false for an unbound, legacy or foreign one). */
  isBoundTo(secret: StoredSecret, clientId: string): boolean {
    if (typeof secret === "string") {
      this.decryptLegacy(secret); // a malformed or tampered one is an error, as for the stored form
      return false;
    }
    return this.open(this.parts(secret), clientId) !== null;
  }

  /**
   * The proof of concept's `ivHex:tagHex:ciphertextHex` (its `decrypt`): tried with every
   * configured key, since it names none. Authentication fails (VAULT_ERR_TAMPERED) when it was
   * changed or no configured key encrypted it.
   */
  private decryptLegacy(secret: string): string {
    const m = LEGACY.exec(secret);
    if (!m)
      throw new VaultError(
        "VAULT_ERR_MALFORMED",
        "the stored secret is a string but not the ivHex:tagHex:ciphertextHex form",
      );
    if (!this.acceptUnbound)
      throw new VaultError(
        "VAULT_ERR_TAMPERED",
        "the stored secret is a legacy ciphertext not bound to its client (run cli:reencrypt-tokens)",
      );
    const iv = Buffer.from(m[1]!, "hex");
    const tag = Buffer.from(m[2]!, "hex");
    const data = Buffer.from(m[3]!, "hex");
    for (const k of this.keys) {
      try {
        const decipher = createDecipheriv(ALGORITHM, k.key, iv, { authTagLength: TAG_BYTES });
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(data), decipher.final()]).toString("utf8");
      } catch {
        // another key, or changed
      }
    }
    throw new VaultError(
      "VAULT_ERR_TAMPERED",
      "the legacy stored secret failed authentication (changed, truncated, or encrypted with a key not configured)",
    );
  }

  private parts(secret: EncryptedSecret | null | undefined) {
    if (!secret || typeof secret !== "object") throw new VaultError("VAULT_ERR_MALFORMED", "no stored secret");
    if (typeof secret.keyId !== "string") throw new VaultError("VAULT_ERR_MALFORMED", "the stored secret names no key");
    const k = this.byId.get(secret.keyId);
    if (!k)
      throw new VaultError(
        "VAULT_ERR_UNKNOWN_KEY",
        `no key with id ${secret.keyId} is configured (was it removed from TOKEN_ENCRYPTION_KEY?)`,
      );
    const iv = decode(secret.iv, "iv");
    const tag = decode(secret.tag, "tag");
    const data = decode(secret.data, "data");
    if (iv.length !== IV_BYTES)
      throw new VaultError("VAULT_ERR_MALFORMED", "the stored secret's IV has the wrong length");
    if (tag.length !== TAG_BYTES)
      throw new VaultError("VAULT_ERR_MALFORMED", "the stored secret's tag has the wrong length");
    return { k, iv, tag, data };
  }

  /** The plaintext, or null when authentication fails with this AAD. */
  private open(p: { k: VaultKey; iv: Buffer; tag: Buffer; data: Buffer }, clientId: string | undefined): string | null {
    try {
      const decipher = createDecipheriv(ALGORITHM, p.k.key, p.iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aadOf(p.k.id, clientId));
      decipher.setAuthTag(p.tag);
      return Buffer.concat([decipher.update(p.data), decipher.final()]).toString("utf8");
    } catch {
      return null;
    }
  }

  /**
   * True when the secret must be rewritten: a proof-of-concept string, encrypted with a key other than
   * the current one, or (given its client) not bound to that client yet.
   */
  needsReencryption(secret: StoredSecret, clientId?: string): boolean {
    if (typeof secret === "string") return true;
    if (secret.keyId !== this.currentKeyId) return true;
    return clientId !== undefined && !this.isBoundTo(secret, clientId);
  }

  /** Decrypts and encrypts again under the current key (fresh IV), bound to `clientId` when given. */
  reencrypt(secret: StoredSecret, clientId?: string): EncryptedSecret {
    return this.encrypt(this.decrypt(secret, clientId), clientId);
  }
}

/**
 * The vault of a process, from its parsed environment: TOKEN_ENCRYPTION_KEY, and VAULT_REQUIRE_BOUND
 * (true once `cli:reencrypt-tokens` has run: an unbound ciphertext is then refused instead of
 * decrypting for whichever client's document it was copied into).
 */
export function vaultFromEnv(env: {
  TOKEN_ENCRYPTION_KEY: readonly string[];
  VAULT_REQUIRE_BOUND: boolean;
}): TokenVault {
  return new TokenVault(env.TOKEN_ENCRYPTION_KEY, { acceptUnbound: !env.VAULT_REQUIRE_BOUND });
}
