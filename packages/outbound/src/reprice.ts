import type { Database } from "@linkojob/db";
import type { Types } from "mongoose";
import { DEFAULT_PRICE_TABLE_MAD, expectedCost, reportedCost, type PriceTable } from "./pricing.js";
import { recipientCountry } from "./country-of.js";

interface StoredOutbound {
  _id: Types.ObjectId;
  kind?: string;
  type: string;
  timestamp: Date;
  status: string;
  statusAt?: Record<string, Date>;
  template?: { category?: string | null } | null;
  pricing?: { billable?: boolean; category?: string; type?: string } | null;
  request?: { candidatePhone?: string | null; candidateUserId?: string | null } | null;
  planContext?: { windowExpiresAt?: Date | null } | null;
  cost?: number;
  costExpected?: number;
  costCategory?: string;
  costSource?: string;
}

/**
 * Prices again a tenant's outbound messages sent since `since` with the rate card in force at each
 * one's send time: the planned cost (`costExpected`; a text, media or interactive message is a
 * service message, billed since 2026-10-01; a template inside the window its acceptance saw is free
 * only where the window rule then said so) and, where Meta's pricing is stored, the billed cost
 * (`cost`, `costSource: "meta"`). The backfill for messages stored while the gateway still planned
 * service messages as free. Writes only the messages whose figures change; returns how many.
 */
export async function repriceStoredMessages(
  db: Database,
  clientId: Types.ObjectId,
  since: Date,
  table: PriceTable = DEFAULT_PRICE_TABLE_MAD,
): Promise<{ examined: number; repriced: number }> {
  const cursor = db.messages.collection.find(
    { clientId, direction: "outbound", timestamp: { $gte: since } },
    {
      projection: {
        kind: 1,
        type: 1,
        timestamp: 1,
        status: 1,
        statusAt: 1,
        template: 1,
        pricing: 1,
        request: 1,
        planContext: 1,
        cost: 1,
        costExpected: 1,
        costCategory: 1,
        costSource: 1,
      },
      batchSize: 1_000,
    },
  );
  let examined = 0;
  const outbound = db.forTenant(clientId).outbound;
  let ops: Parameters<typeof outbound.setCosts>[0] = [];
  let repriced = 0;
  const flush = async () => {
    if (!ops.length) return;
    await outbound.setCosts(ops);
    repriced += ops.length;
    ops = [];
  };
  for await (const raw of cursor) {
    const m = raw as unknown as StoredOutbound;
    examined++;
    const at = new Date(m.timestamp);
    const country = recipientCountry(m.request ?? {});
    const kind = (m.kind ?? m.type) === "template" ? "template" : "text";
    const windowEnd = m.planContext?.windowExpiresAt ? new Date(m.planContext.windowExpiresAt) : null;
    const inWindow = kind === "text" || Boolean(windowEnd && windowEnd > at);
    const planned = expectedCost(kind, m.template?.category, inWindow, table, { country, at });
    const set: (typeof ops)[number]["set"] = {};
    if (m.costExpected !== planned.cost) set.costExpected = planned.cost;
    if (m.pricing) {
      const billedAt = m.statusAt?.sent ? new Date(m.statusAt.sent) : at;
      const billed = reportedCost(m.pricing, table, { country, at: billedAt });
      if (m.cost !== billed.cost) set.cost = billed.cost;
      if (m.costCategory !== billed.category) set.costCategory = billed.category;
      if (m.costSource !== "meta") set.costSource = "meta";
    } else {
      if (m.cost !== planned.cost) set.cost = planned.cost;
      if (!m.costCategory) set.costCategory = planned.category;
    }
    if (!Object.keys(set).length) continue;
    ops.push({ id: m._id, set });
    if (ops.length >= 500) await flush();
  }
  await flush();
  return { examined, repriced };
}
