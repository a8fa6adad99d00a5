import { FlowEndpointRepository, type ClientDoc, type Database, type EncryptedSecret } from "@linkojob/db";
import { VaultError, type TokenVault } from "@linkojob/vault";

export interface ReencryptReport {
  /** Clients holding at least one secret. */
  scanned: number;
  /** Secrets (tokens and registration PINs) rewritten under the current key, bound to their client. */
  reencrypted: number;
  /** Of those, proof-of-concept `ivHex:tagHex:ciphertextHex` tokens upgraded to the vault's form. */
  upgradedLegacy: number;
  /** Secrets already under the current key and bound to their client. */
  alreadyCurrent: number;
  /** Secrets that could not be decrypted (tampered, or their key is no longer configured): left as they are. */
  failed: Array<{ clientId: string; field: "accessToken" | "registrationPin" | "flowPrivateKey"; error: string }>;
  /** The numbers' WhatsApp Flows private keys (flow_endpoints), counted apart from the tokens. */
  flowPrivateKeys: { reencrypted: number; alreadyCurrent: number };
}

const FIELDS = ["accessToken", "registrationPin"] as const;

/**
 * Rewrites every stored secret under the vault's current key, bound to its client (run after putting
 * a new key first in TOKEN_ENCRYPTION_KEY, before removing the old one, and once to bind the secrets
 * written before client binding and to upgrade the proof of concept's `ivHex:tagHex:ciphertextHex`
 * strings). Each write is guarded by the ciphertext it replaces, so a client
 * reconnected meanwhile keeps its new token. Safe to run again: secrets already current and bound are
 * left alone.
 */
export async function reencryptStoredTokens(
  db: Database,
  vault: TokenVault,
  options: { dryRun?: boolean } = {},
): Promise<ReencryptReport> {
  const report: ReencryptReport = {
    scanned: 0,
    reencrypted: 0,
    upgradedLegacy: 0,
    alreadyCurrent: 0,
    failed: [],
    flowPrivateKeys: { reencrypted: 0, alreadyCurrent: 0 },
  };
  const cursor = db.clients
    .find(
      { $or: [{ accessToken: { $ne: null } }, { registrationPin: { $ne: null } }] },
      { _id: 1, accessToken: 1, registrationPin: 1 },
    )
    .lean<Pick<ClientDoc, "_id" | "accessToken" | "registrationPin">[]>()
    .cursor();
  for await (const doc of cursor) {
    report.scanned++;
    for (const field of FIELDS) {
      const secret = doc[field];
      if (!secret) continue;
      const clientId = doc._id.toHexString();
      let stale: boolean;
      try {
        stale = vault.needsReencryption(secret, clientId);
      } catch (err) {
        report.failed.push({ clientId, field, error: err instanceof VaultError ? err.code : String(err) });
        continue;
      }
      if (!stale) {
        report.alreadyCurrent++;
        continue;
      }
      let next: EncryptedSecret;
      try {
        next = vault.reencrypt(secret, clientId);
      } catch (err) {
        report.failed.push({ clientId, field, error: err instanceof VaultError ? err.code : String(err) });
        continue;
      }
      const legacy = typeof secret === "string";
      if (options.dryRun) {
        report.reencrypted++;
        if (legacy) report.upgradedLegacy++;
        continue;
      }
      const guard = legacy ? { [field]: secret } : { [`${field}.keyId`]: secret.keyId, [`${field}.data`]: secret.data };
      const res = await db.clients.updateOne({ _id: doc._id, ...guard }, { $set: { [field]: next } });
      if (res.modifiedCount === 1) {
        report.reencrypted++;
        if (legacy) report.upgradedLegacy++;
      }
    }
  }
  await reencryptFlowKeys(db, vault, report, options);
  return report;
}

/**
 * The flows' private keys, like the tokens: each document rewritten whole (its keys array), guarded by
 * its `updatedAt` so that a key rotated meanwhile is not overwritten with the older list.
 */
async function reencryptFlowKeys(
  db: Database,
  vault: TokenVault,
  report: ReencryptReport,
  options: { dryRun?: boolean },
): Promise<void> {
  const endpoints = new FlowEndpointRepository(db.connection);
  for await (const doc of endpoints.model.find({}, { clientId: 1, keys: 1, updatedAt: 1 }).lean().cursor()) {
    const clientId = doc.clientId.toHexString();
    let changed = 0;
    const keys = (doc.keys ?? []).map((k) => {
      try {
        if (!vault.needsReencryption(k.privateKey, clientId)) {
          report.flowPrivateKeys.alreadyCurrent++;
          return k;
        }
        const next = vault.reencrypt(k.privateKey, clientId);
        changed++;
        return { ...k, privateKey: next };
      } catch (err) {
        report.failed.push({
          clientId,
          field: "flowPrivateKey",
          error: err instanceof VaultError ? err.code : String(err),
        });
        return k;
      }
    });
    if (changed === 0) continue;
    if (options.dryRun) {
      report.flowPrivateKeys.reencrypted += changed;
      continue;
    }
    const res = await endpoints.model.updateOne({ _id: doc._id, updatedAt: doc.updatedAt }, { $set: { keys } });
    if (res.modifiedCount === 1) report.flowPrivateKeys.reencrypted += changed;
  }
}
