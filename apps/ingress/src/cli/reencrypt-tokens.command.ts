import type { ClientDoc, Database, EncryptedSecret } from "@linkojob/db";
import { VaultError, type TokenVault } from "@linkojob/vault";

export interface ReencryptReport {
  /** Clients holding at least one secret. */
  scanned: number;
  /** Secrets (tokens and registration PINs) rewritten under the current key. */
  reencrypted: number;
  /** Secrets already under the current key. */
  alreadyCurrent: number;
  /** Secrets that could not be decrypted (tampered, or their key is no longer configured): left as they are. */
  failed: Array<{ clientId: string; field: "accessToken" | "registrationPin"; error: string }>;
}

const FIELDS = ["accessToken", "registrationPin"] as const;

/**
 * Rewrites every stored secret under the vault's current key (run after putting a new key first in
 * TOKEN_ENCRYPTION_KEY, before removing the old one). Each write is guarded by the ciphertext it
 * replaces, so a client reconnected meanwhile keeps its new token. Safe to run again: secrets already
 * under the current key are left alone.
 */
export async function reencryptStoredTokens(db: Database, vault: TokenVault, options: { dryRun?: boolean } = {}): Promise<ReencryptReport> {
  const report: ReencryptReport = { scanned: 0, reencrypted: 0, alreadyCurrent: 0, failed: [] };
  const cursor = db.clients
    .find({ $or: [{ accessToken: { $ne: null } }, { registrationPin: { $ne: null } }] }, { _id: 1, accessToken: 1, registrationPin: 1 })
    .lean<Pick<ClientDoc, "_id" | "accessToken" | "registrationPin">[]>()
    .cursor();
  for await (const doc of cursor) {
    report.scanned++;
    for (const field of FIELDS) {
      const secret = doc[field] as EncryptedSecret | null | undefined;
      if (!secret) continue;
      if (!vault.needsReencryption(secret)) {
        report.alreadyCurrent++;
        continue;
      }
      let next: EncryptedSecret;
      try {
        next = vault.reencrypt(secret);
      } catch (err) {
        report.failed.push({ clientId: doc._id.toHexString(), field, error: err instanceof VaultError ? err.code : String(err) });
        continue;
      }
      if (options.dryRun) {
        report.reencrypted++;
        continue;
      }
      const res = await db.clients.updateOne(
        { _id: doc._id, [`${field}.keyId`]: secret.keyId, [`${field}.data`]: secret.data },
        { $set: { [field]: next } },
      );
      if (res.modifiedCount === 1) report.reencrypted++;
    }
  }
  return report;
}
