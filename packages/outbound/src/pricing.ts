import { z } from "zod";
import { SHIPPED_RATE_CARD, loadRateCard, normalizeCategory, rateFor, type RateCard } from "./rate-card.js";

export { normalizeCategory } from "./rate-card.js";

/**
 * Expected and reported cost of outbound messages, in MAD: Meta charges per delivered message by
 * category and recipient country, at the rate in force on the day (rate-card.ts). Which messages an
 * open customer-service window makes free is Meta's dated rule (FREE_IN_SERVICE_WINDOW): from
 * 2025-07-01 service (non-template) messages and utility templates inside the window were free; from
 * 2026-10-01 both are billed (service at the market's utility rate). A free entry-point window (a chat
 * from an ad) stays free; only Meta's status pricing tells it. The business's own figure for the
 * first-contact template is 0.40 MAD.
 */
export type PriceTable = RateCard;

/** The shipped rate card (rate-card.json); OUTBOUND_PRICE_TABLE replaces it. */
export const DEFAULT_PRICE_TABLE_MAD: PriceTable = SHIPPED_RATE_CARD;

/**
 * The categories an open customer-service window makes free, by effective date (Meta's pricing page:
 * per-message pricing from 2025-07-01 with free service messages and in-window utility templates;
 * service messages and in-window utility templates billed from 2026-10-01, announced 2026-07-01).
 * Dates at 00:00 UTC (Meta switches at midnight in each WABA's time zone: a message within hours of
 * the switch may be priced by the other row until Meta's status pricing arrives).
 */
export const FREE_IN_SERVICE_WINDOW: ReadonlyArray<{ effectiveFrom: Date; categories: readonly string[] }> = [
  { effectiveFrom: new Date("2025-07-01T00:00:00Z"), categories: ["service", "utility"] },
  { effectiveFrom: new Date("2026-10-01T00:00:00Z"), categories: [] },
];

/** Whether a message of `category` sent at `at` inside an open customer-service window costs nothing. */
export function freeInServiceWindow(category: string, at: Date = new Date()): boolean {
  let rule = FREE_IN_SERVICE_WINDOW[0]!;
  for (const r of FREE_IN_SERVICE_WINDOW) if (r.effectiveFrom.getTime() <= at.getTime()) rule = r;
  return rule.categories.includes(normalizeCategory(category));
}

export interface CostEstimate {
  /** MAD. */
  cost: number;
  category: string;
}

/** Whom and when a message is priced for: the recipient's country (null: the `*` rows) and the time (default now). */
export interface PriceContext {
  country?: string | null;
  at?: Date;
}

/** A category without a row of its own is priced as utility (Meta bills service at the utility rate). */
const priceOf = (table: PriceTable, category: string, where: PriceContext) =>
  rateFor(table, category, where.country, where.at) ?? rateFor(table, "utility", where.country, where.at) ?? 0;

/**
 * What a send is expected to cost, decided before Meta reports pricing: a text (service message) or
 * a template of its category, free only where the window rule in force at `where.at` says so.
 */
export function expectedCost(
  kind: "text" | "template",
  templateCategory: string | null | undefined,
  inWindow: boolean,
  table: PriceTable = DEFAULT_PRICE_TABLE_MAD,
  where: PriceContext = {},
): CostEstimate {
  const category = kind === "text" ? "service" : normalizeCategory(templateCategory);
  if (inWindow && freeInServiceWindow(category, where.at)) return { cost: 0, category };
  return { cost: priceOf(table, category, where), category };
}

/**
 * The cost of what Meta reported in a status's `pricing`: `type` first (`free_customer_service`,
 * `free_entry_point`: nothing; `regular`: the category's rate, service included since Meta bills it),
 * then `billable` (being retired).
 */
export function reportedCost(
  pricing: { billable?: boolean; category?: string; type?: string },
  table: PriceTable = DEFAULT_PRICE_TABLE_MAD,
  where: PriceContext = {},
): CostEstimate & { billable: boolean } {
  const category = normalizeCategory(pricing.category ?? "service");
  const free = pricing.type ? pricing.type.startsWith("free") : pricing.billable === false;
  if (free) return { cost: 0, category, billable: false };
  return { cost: priceOf(table, category, where), category, billable: true };
}

/**
 * `OUTBOUND_PRICE_TABLE`: the rate card, as JSON or as the path of a JSON file: `{ currency: "MAD",
 * rates: [{ country: "MA" | "*", category, price, effectiveFrom: "2025-07-01" }] }`, or a flat
 * `{ "utility": 0.4, … }` (every country, always). Default: rate-card.json. Read by every process
 * that prices (the send API and preview, the outbound worker, the inbound worker's status hook).
 */
export const outboundPriceTableVar = z
  .string()
  .optional()
  .transform((s, ctx): PriceTable | undefined => {
    if (!s) return undefined;
    try {
      return loadRateCard(s);
    } catch (err) {
      ctx.addIssue({
        code: "custom",
        message: `must be a rate card (JSON or a .json path: {"currency":"MAD","rates":[{"country":"MA","category":"utility","price":0.4,"effectiveFrom":"2025-07-01"}]}) or {"utility":0.4,…}: ${(err as Error).message}`,
      });
      return z.NEVER;
    }
  });
