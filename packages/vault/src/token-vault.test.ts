import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TokenVault, VaultError, keyFingerprint, type EncryptedSecret } from "./token-vault";

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
    expectVaultError(() => vault.decrypt({ ...s, data: data.subarray(0, data.length - 3).toString("base64") }), "VAULT_ERR_TAMPERED");
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
