import type { Database } from "@linkojob/db";
import { objectIdSchema } from "@linkojob/db";
import { repriceStoredMessages, type PriceTable } from "@linkojob/outbound";
import { Types } from "mongoose";
import { UsageError } from "./connect.command.js";

/** Meta began billing service messages on this day: the default start of the repricing. */
export const SERVICE_BILLING_START = "2026-10-01";

export interface RebuildAnalyticsArgs {
  /** One client (hex id); default every client. */
  clientId: string | null;
  /** Reprice outbound messages sent from this day (UTC) first; null: no repricing. */
  repriceSince: string | null;
}

export function parseRebuildAnalyticsArgs(argv: string[]): RebuildAnalyticsArgs {
  const out: RebuildAnalyticsArgs = { clientId: null, repriceSince: SERVICE_BILLING_START };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === "--client") {
      const v = value();
      if (!objectIdSchema.safeParse(v).success) throw new UsageError(`--client must be a client id (24 hex): ${v}`);
      out.clientId = v;
    } else if (a === "--reprice-since") {
      const v = value();
      if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`)))
        throw new UsageError(`--reprice-since must be a day, YYYY-MM-DD: ${v}`);
      out.repriceSince = v;
    } else if (a === "--no-reprice") out.repriceSince = null;
    else throw new UsageError(`unknown argument ${a} (use --client <id>, --reprice-since YYYY-MM-DD, --no-reprice)`);
  }
  return out;
}

/**
 * The analytics backfill: for each client (or the one named), reprices its outbound messages sent
 * since `repriceSince` with the rate card (the rows in force at each send), then recomputes its
 * analytics counters from its stored messages and reported outcomes. Returns what it did, by client.
 */
export async function rebuildAnalytics(
  db: Database,
  args: RebuildAnalyticsArgs,
  prices: PriceTable,
  log: (line: Record<string, unknown>) => void = () => undefined,
) {
  const ids = args.clientId
    ? [new Types.ObjectId(args.clientId)]
    : (await db.clients.find({}, { _id: 1 }).lean()).map((c) => c._id);
  const projector = db.analytics();
  const results = [];
  for (const clientId of ids) {
    const repriced = args.repriceSince
      ? await repriceStoredMessages(db, clientId, new Date(`${args.repriceSince}T00:00:00Z`), prices)
      : null;
    const counted = await projector.rebuild(clientId);
    const result = { clientId: clientId.toHexString(), repriced, ...counted };
    log(result);
    results.push(result);
  }
  return results;
}
