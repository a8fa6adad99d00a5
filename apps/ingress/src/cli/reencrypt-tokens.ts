/**
 * pnpm --filter @linkojob/ingress cli:reencrypt-tokens [--dry-run]
 *
 * Re-encrypts every stored token and registration PIN under the current key (the first of
 * TOKEN_ENCRYPTION_KEY), bound to its client; the proof of concept's `ivHex:tagHex:ciphertextHex`
 * tokens are upgraded to that form too (`upgradedLegacy` in the report). Rotation: put the new key first, keep the old one after it, deploy, run
 * this, then remove the old key. Needs MONGODB_URI and TOKEN_ENCRYPTION_KEY. Exit code 1 when a
 * secret could not be decrypted (listed by client id; no secret is ever printed).
 */
import { parseArgs } from "node:util";
import { EnvError } from "@linkojob/config";
import { Database } from "@linkojob/db";
import { TokenVault } from "@linkojob/vault";
import { loadReencryptEnv } from "./env.js";
import { reencryptStoredTokens } from "./reencrypt-tokens.command.js";

const { values } = parseArgs({ options: { "dry-run": { type: "boolean", default: false } } });
let env;
try {
  env = loadReencryptEnv();
} catch (err) {
  if (!(err instanceof EnvError)) throw err;
  console.error(err.message);
  process.exit(2);
}
const vault = new TokenVault(env.TOKEN_ENCRYPTION_KEY);
const db = await Database.connect(env.MONGODB_URI, { maxPoolSize: 2 });
try {
  const report = await reencryptStoredTokens(db, vault, { dryRun: values["dry-run"] });
  console.log(JSON.stringify({ currentKeyId: vault.currentKeyId, dryRun: values["dry-run"], ...report }, null, 2));
  process.exitCode = report.failed.length > 0 ? 1 : 0;
} finally {
  await db.close();
}
