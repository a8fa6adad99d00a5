import { z } from "zod";
import { SHIPPED_RATE_CARD, loadRateCard, normalizeCategory, rateFor, type RateCard } from "./rate-card.js";

export { normalizeCategory } from "./rate-card.js";

/**
 * Expected and reported cost of outbound messages, in MAD: Meta charges per delivered template by
 * category and recipient country, at the rate in force on the day (rate-card.ts); service
 * (non-template) messages are free; utility templates delivered inside an open customer-service
 * window are free. The business's own figure for the first-contact template is 0.40 MAD.
 */
export type PriceTable = RateCard;

/** The shipped rate card (rate-card.json); OUTBOUND_PRICE_TABLE replaces it. */
export const DEFAULT_PRICE_TABLE_MAD: PriceTable = SHIPPED_RATE_CARD;

export interface CostEstimate {
  /** MAD. */
  cost: number;
  category: string;
}

/** Whom and when a message is priced for: the recipient's country (null: the `*` rows) and the time. */
export interface PriceContext {
  country?: string | null;
  at?: Date;
}

const priceOf = (table: PriceTable, category: string, where: PriceContext) =>
  rateFor(table, category, where.country, where.at) ?? rateFor(table, "utility", where.country, where.at) ?? 0;

/** What a send is expected to cost, decided before Meta reports pricing. */
export function expectedCost(
  kind: "text" | "template",
  templateCategory: string | null | undefined,
  inWindow: boolean,
  table: PriceTable = DEFAULT_PRICE_TABLE_MAD,
  where: PriceContext = {},
): CostEstimate {
  if (kind === "text") return { cost: 0, category: "service" };
  const category = normalizeCategory(templateCategory);
  if (category === "utility" && inWindow) return { cost: 0, category };
  return { cost: priceOf(table, category, where), category };
}

/**
 * The cost of what Meta reported in a status's `pricing`: `type` first (`free_customer_service`,
 * `free_entry_point`: nothing; `regular`: the category's rate), then `billable` (being retired).
 */
export function reportedCost(
  pricing: { billable?: boolean; category?: string; type?: string },
  table: PriceTable = DEFAULT_PRICE_TABLE_MAD,
  where: PriceContext = {},
): CostEstimate & { billable: boolean } {
  const category = normalizeCategory(pricing.category ?? "service");
  const free = pricing.type ? pricing.type.startsWith("free") : pricing.billable === false;
  if (free || category === "service") return { cost: 0, category, billable: false };
  return { cost: rateFor(table, category, where.country, where.at) ?? 0, category, billable: true };
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
