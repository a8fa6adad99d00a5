import { createCipheriv, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  TokenVault,
  VaultError,
  isLegacySecret,
  keyFingerprint,
  vaultFromEnv,
  type EncryptedSecret,
} from "./token-vault.js";

const keyA = randomBytes(32).toString("hex");
const keyB = randomBytes(32).toString("hex");
const token = "EAAGm0PX4ZCpsBA-a-business-token-with-éàü-and-🔑";

const expectVaultError = (fn: () => unknown, code: VaultError["code"]) => {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(VaultError);
  expect((caught as VaultError).code).toBe(code);
};

/** Flips one bit of a base64 field. */
const flip = (b64: string, byte = 0) => {
  const buf = Buffer.from(b64, "base64");
  buf[byte] = buf[byte]! ^ 0x01;
  return buf.toString("base64");
};

describe("TokenVault", () => {
  it("round-trips, with a fresh IV each time and no plaintext in the stored form", () => {
    const vault = new TokenVault([keyA]);
    const a = vault.encrypt(token);
    const b = vault.encrypt(token);
    expect(vault.decrypt(a)).toBe(token);
    expect(vault.decrypt(b)).toBe(token);
    expect(a.iv).not.toBe(b.iv);
    expect(a.data).not.toBe(b.data);
    expect(Buffer.from(a.iv, "base64")).toHaveLength(12);
    expect(Buffer.from(a.tag, "base64")).toHaveLength(16);
    expect(JSON.stringify(a)).not.toContain("EAAG");
    expect(a.keyId).toBe(keyFingerprint(Buffer.from(keyA, "hex")));
    expect(a.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(keyA).not.toContain(a.keyId);
  });

  it("names its key: after rotation new writes use the new key and old ciphertexts still decrypt", () => {
    const before = new TokenVault([keyA]);
    const old = before.encrypt(token);

    const rotated = TokenVault.fromEnvValue(`${keyB}, ${keyA}`);
    expect(rotated.currentKeyId).not.toBe(before.currentKeyId);
    expect(rotated.decrypt(old)).toBe(token);
    const fresh = rotated.encrypt(token);
    expect(fresh.keyId).toBe(rotated.currentKeyId);
    expect(rotated.needsReencryption(old)).toBe(true);
    expect(rotated.needsReencryption(fresh)).toBe(false);

    const moved = rotated.reencrypt(old);
    expect(moved.keyId).toBe(rotated.currentKeyId);
    expect(rotated.decrypt(moved)).toBe(token);

    // Once the old key is dropped, what was re-encrypted still opens and what was not is refused clearly.
    const onlyNew = new TokenVault([keyB]);
    expect(onlyNew.decrypt(moved)).toBe(token);
    expectVaultError(() => onlyNew.decrypt(old), "VAULT_ERR_UNKNOWN_KEY");
  });

  it("refuses a tampered ciphertext, tag or IV instead of returning garbage", () => {
    const vault = new TokenVault([keyA]);
    const s = vault.encrypt(token);
    expectVaultError(() => vault.decrypt({ ...s, data: flip(s.data, 5) }), "VAULT_ERR_TAMPERED");
    expectVaultError(() => vault.decrypt({ ...s, tag: flip(s.tag) }), "VAULT_ERR_TAMPERED");
    expectVaultError(() => vault.decrypt({ ...s, iv: flip(s.iv) }), "VAULT_ERR_TAMPERED");
  });

  it("refuses a truncated ciphertext or tag", () => {
    const vault = new TokenVault([keyA]);
    const s = vault.encrypt(token);
    const data = Buffer.from(s.data, "base64");
    expectVaultError(
      () => vault.decrypt({ ...s, data: data.subarray(0, data.length - 3).toString("base64") }),
      "VAULT_ERR_TAMPERED",
    );
    expectVaultError(() => vault.decrypt({ ...s, data: "" }), "VAULT_ERR_TAMPERED");
    const tag = Buffer.from(s.tag, "base64");
    expectVaultError(() => vault.decrypt({ ...s, tag: tag.subarray(0, 8).toString("base64") }), "VAULT_ERR_MALFORMED");
  });

  it("refuses a ciphertext relabelled with another key id, or a missing or malformed one", () => {
    const vault = new TokenVault([keyA, keyB]);
    const s = vault.encrypt(token);
    const other = vault.keyIds[1]!;
    expectVaultError(() => vault.decrypt({ ...s, keyId: other }), "VAULT_ERR_TAMPERED");
    expectVaultError(() => vault.decrypt(null), "VAULT_ERR_MALFORMED");
    expectVaultError(() => vault.decrypt({ ...s, iv: "not base64!" }), "VAULT_ERR_MALFORMED");
    expectVaultError(() => vault.decrypt({ keyId: s.keyId } as unknown as EncryptedSecret), "VAULT_ERR_MALFORMED");
  });

  it("refuses wrong-length or non-hex keys with a clear message", () => {
    expectVaultError(() => new TokenVault(["abcd"]), "VAULT_ERR_INVALID_KEY");
    expectVaultError(() => new TokenVault(["z".repeat(64)]), "VAULT_ERR_INVALID_KEY");
    expectVaultError(() => new TokenVault([]), "VAULT_ERR_INVALID_KEY");
    expect(() => TokenVault.fromEnvValue(`${keyA},${"0".repeat(63)}`)).toThrow(/64 hex characters/);
    expect(() => TokenVault.fromEnvValue("")).toThrow(/TOKEN_ENCRYPTION_KEY/);
  });

  it("holds a key listed twice once", () => {
    expect(new TokenVault([keyA, keyA.toUpperCase(), keyB]).keyIds).toHaveLength(2);
  });

  it("binds a ciphertext to its client: moved into another client's document it does not decrypt", () => {
    const vault = new TokenVault([keyA]);
    const clientA = "65a1b2c3d4e5f60718293a4b";
    const clientB = "65a1b2c3d4e5f60718293a4c";
    const bound = vault.encrypt(token, clientA);
    expect(vault.decrypt(bound, clientA)).toBe(token);
    expectVaultError(() => vault.decrypt(bound, clientB), "VAULT_ERR_TAMPERED");
    expectVaultError(() => vault.decrypt(bound), "VAULT_ERR_TAMPERED");
    expect(vault.isBoundTo(bound, clientA)).toBe(true);
    expect(vault.isBoundTo(bound, clientB)).toBe(false);
    expect(vault.needsReencryption(bound, clientA)).toBe(false);
  });

  it("still reads an unbound ciphertext (AAD = key id only), which reencrypt binds to its client", () => {
    const vault = new TokenVault([keyA]);
    const clientA = "65a1b2c3d4e5f60718293a4b";
    const legacy = vault.encrypt(token);
    expect(vault.decrypt(legacy, clientA)).toBe(token);
    expect(vault.needsReencryption(legacy)).toBe(false);
    expect(vault.needsReencryption(legacy, clientA)).toBe(true);
    const upgraded = vault.reencrypt(legacy, clientA);
    expect(vault.isBoundTo(upgraded, clientA)).toBe(true);
    expect(vault.needsReencryption(upgraded, clientA)).toBe(false);
    // Once every ciphertext is bound, unbound ones can be refused.
    const strict = new TokenVault([keyA], { acceptUnbound: false });
    expectVaultError(() => strict.decrypt(legacy, clientA), "VAULT_ERR_TAMPERED");
    expect(strict.decrypt(upgraded, clientA)).toBe(token);
  });
});

/** The proof of concept's `encrypt`, as written there: `ivHex:tagHex:ciphertextHex`. */
function pocEncrypt(text: string, hexKey: string): string {
  const key = Buffer.from(hexKey, "hex");
  const iv = randomBytes(16);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  let encrypted = cipher.update(text, "utf8", "hex");
  encrypted += cipher.final("hex");
  const authTag = cipher.getAuthTag();
  return iv.toString("hex") + ":" + authTag.toString("hex") + ":" + encrypted;
}

/** Flips one bit of the hex part `index` (0 iv, 1 tag, 2 ciphertext) of a legacy string. */
const flipLegacy = (legacy: string, index: number) => {
  const parts = legacy.split(":");
  const buf = Buffer.from(parts[index]!, "hex");
  buf[buf.length - 1] = buf[buf.length - 1]! ^ 0x01;
  parts[index] = buf.toString("hex");
  return parts.join(":");
};

describe("TokenVault: the proof of concept's ivHex:tagHex:ciphertextHex tokens", () => {
  const clientA = "65a1b2c3d4e5f60718293a4b";

  it("reads a token encrypted by the proof of concept's encrypt, for its client, with any configured key", () => {
    const legacy = pocEncrypt(token, keyA);
    expect(isLegacySecret(legacy)).toBe(true);
    expect(new TokenVault([keyA]).decrypt(legacy, clientA)).toBe(token);
    expect(new TokenVault([keyA]).decrypt(legacy)).toBe(token);
    // After a rotation the old key, now second, still opens it.
    expect(new TokenVault([keyB, keyA]).decrypt(legacy, clientA)).toBe(token);
    // Upper-case hex is the same bytes.
    expect(new TokenVault([keyA]).decrypt(legacy.toUpperCase(), clientA)).toBe(token);
  });

  it("refuses a tampered legacy token (ciphertext, tag or IV) and one under a key not configured", () => {
    const vault = new TokenVault([keyA]);
    const legacy = pocEncrypt(token, keyA);
    for (const part of [0, 1, 2])
      expectVaultError(() => vault.decrypt(flipLegacy(legacy, part), clientA), "VAULT_ERR_TAMPERED");
    const [iv, tag, data] = legacy.split(":");
    expectVaultError(() => vault.decrypt(`${iv}:${tag}:${data!.slice(0, -2)}`, clientA), "VAULT_ERR_TAMPERED");
    expectVaultError(() => new TokenVault([keyB]).decrypt(legacy, clientA), "VAULT_ERR_TAMPERED");
  });

  it("detects the form precisely: anything else that is a string is malformed, not tried", () => {
    const vault = new TokenVault([keyA]);
    const legacy = pocEncrypt(token, keyA);
    const [iv, tag, data] = legacy.split(":");
    const malformed = [
      "",
      "EAAG-a-token-in-clear",
      `${iv}:${tag}`, // two parts
      `${iv}:${tag}:${data}:00`, // four parts
      `${iv!.slice(2)}:${tag}:${data}`, // 15-byte IV
      `${iv}:${tag!.slice(2)}:${data}`, // 15-byte tag
      `${iv}:${tag}:${data}0`, // half a byte
      `${iv}:${tag}:`, // no ciphertext
      `${iv}:${tag}:zz${data!.slice(2)}`, // not hex
    ];
    for (const m of malformed) {
      expect(isLegacySecret(m)).toBe(false);
      expectVaultError(() => vault.decrypt(m, clientA), "VAULT_ERR_MALFORMED");
    }
    expect(isLegacySecret({ keyId: "x", iv: "", tag: "", data: "" })).toBe(false);
  });

  it("always needs re-encryption, which upgrades it to the vault's form bound to its client", () => {
    const vault = new TokenVault([keyA]);
    const legacy = pocEncrypt(token, keyA);
    expect(vault.needsReencryption(legacy)).toBe(true);
    expect(vault.needsReencryption(legacy, clientA)).toBe(true);
    expect(vault.isBoundTo(legacy, clientA)).toBe(false);
    const upgraded = vault.reencrypt(legacy, clientA);
    expect(Object.keys(upgraded).sort()).toEqual(["data", "iv", "keyId", "tag"]);
    expect(vault.isBoundTo(upgraded, clientA)).toBe(true);
    expect(vault.needsReencryption(upgraded, clientA)).toBe(false);
    expect(vault.decrypt(upgraded, clientA)).toBe(token);
    expectVaultError(() => vault.decrypt(upgraded, "65a1b2c3d4e5f60718293a4c"), "VAULT_ERR_TAMPERED");
    expectVaultError(() => vault.reencrypt(flipLegacy(legacy, 2), clientA), "VAULT_ERR_TAMPERED");
  });

  it("is refused once unbound ciphertexts are (acceptUnbound: false)", () => {
    const legacy = pocEncrypt(token, keyA);
    expectVaultError(
      () => new TokenVault([keyA], { acceptUnbound: false }).decrypt(legacy, clientA),
      "VAULT_ERR_TAMPERED",
    );
  });
});

describe("a process's vault (VAULT_REQUIRE_BOUND)", () => {
  it("an unbound ciphertext copied into another client's document decrypts there until VAULT_REQUIRE_BOUND=true, which refuses it; bound ones still decrypt", () => {
    const victimsUnbound = new TokenVault([keyA]).encrypt(token); // written before client binding
    const other = "65a1b2c3d4e5f60718293a4d";
    // The attack: the victim's pre-binding ciphertext pasted into another client's document.
    expect(
      vaultFromEnv({ TOKEN_ENCRYPTION_KEY: [keyA], VAULT_REQUIRE_BOUND: false }).decrypt(victimsUnbound, other),
    ).toBe(token);
    const strict = vaultFromEnv({ TOKEN_ENCRYPTION_KEY: [keyA], VAULT_REQUIRE_BOUND: true });
    expectVaultError(() => strict.decrypt(victimsUnbound, other), "VAULT_ERR_TAMPERED");
    expectVaultError(() => strict.decrypt(pocEncrypt(token, keyA), other), "VAULT_ERR_TAMPERED");
    expect(strict.decrypt(strict.encrypt(token, other), other)).toBe(token);
  });
});
