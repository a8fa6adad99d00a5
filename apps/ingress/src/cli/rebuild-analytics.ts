/**
 * pnpm --filter @linkojob/ingress cli:rebuild-analytics [--client <id>] [--reprice-since 2026-10-01 | --no-reprice]
 *
 * The analytics backfill: reprices the outbound messages sent since the given day (default
 * 2026-10-01, when Meta began billing service messages) with OUTBOUND_PRICE_TABLE, then recomputes
 * each client's analytics counters from its stored messages. Run it once after upgrading, and
 * whenever counters are in doubt; with the tenant's traffic quiet, or once more afterwards (an
 * event counted live during a client's rebuild may be dropped). Needs MONGODB_URI (and
 * OUTBOUND_PRICE_TABLE when not the shipped card). Prints one JSON line per client.
 */
import { EnvError } from "@linkojob/config";
import { Database } from "@linkojob/db";
import { DEFAULT_PRICE_TABLE_MAD } from "@linkojob/outbound";
import { loadRebuildAnalyticsEnv } from "./env.js";
import { UsageError } from "./connect.command.js";
import { parseRebuildAnalyticsArgs, rebuildAnalytics } from "./rebuild-analytics.command.js";

let env;
let args;
try {
  env = loadRebuildAnalyticsEnv();
  args = parseRebuildAnalyticsArgs(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof EnvError) && !(err instanceof UsageError)) throw err;
  console.error(err.message);
  process.exit(2);
}
const db = await Database.connect(env.MONGODB_URI, { maxPoolSize: 4 });
try {
  await rebuildAnalytics(db, args, env.OUTBOUND_PRICE_TABLE ?? DEFAULT_PRICE_TABLE_MAD, (line) =>
    console.log(JSON.stringify(line)),
  );
} finally {
  await db.close();
}
