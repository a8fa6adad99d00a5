import { z } from "zod";

/**
 * Expected and reported cost of outbound messages, in MAD (meta-cloud-api.md §8): Meta charges per
 * delivered template by category; service (non-template) messages are free; utility templates
 * delivered inside an open customer-service window are free. The business's own figure for the
 * first-contact template is 0.40 MAD. The table is configuration: pass another one to change prices.
 */
export type PriceTable = Record<string, number>;

export const DEFAULT_PRICE_TABLE_MAD: PriceTable = {
  marketing: 0.4,
  marketing_lite: 0.4,
  utility: 0.4,
  authentication: 0.4,
  authentication_international: 0.4,
  service: 0,
  referral_conversion: 0,
};

/** Meta spells some categories with a hyphen or in capitals (authentication-international, UTILITY). */
export const normalizeCategory = (category: string | null | undefined): string =>
  (category ?? "utility").toLowerCase().replace(/-/g, "_");

export interface CostEstimate {
  /** MAD. */
  cost: number;
  category: string;
}

/** What a send is expected to cost, decided before Meta reports pricing. */
export function expectedCost(
  kind: "text" | "template",
  templateCategory: string | null | undefined,
  inWindow: boolean,
  table: PriceTable = DEFAULT_PRICE_TABLE_MAD,
): CostEstimate {
  if (kind === "text") return { cost: 0, category: "service" };
  const category = normalizeCategory(templateCategory);
  if (category === "utility" && inWindow) return { cost: 0, category };
  return { cost: table[category] ?? table.utility ?? 0, category };
}

/** The cost of what Meta reported in a status's `pricing` (billable or not, by category). */
export function reportedCost(
  pricing: { billable?: boolean; category?: string; type?: string },
  table: PriceTable = DEFAULT_PRICE_TABLE_MAD,
): CostEstimate {
  const category = normalizeCategory(pricing.category ?? "service");
  if (pricing.billable === false || (pricing.type && pricing.type.startsWith("free"))) return { cost: 0, category };
  return { cost: table[category] ?? 0, category };
}

/**
 * `OUTBOUND_PRICE_TABLE`: prices in MAD per pricing category, JSON (default: DEFAULT_PRICE_TABLE_MAD).
 * Read by every process that prices (the send API and preview, the outbound worker, the inbound
 * worker's status hook), so that they all price alike.
 */
export const outboundPriceTableVar = z
  .string()
  .optional()
  .transform((s, ctx): PriceTable | undefined => {
    if (!s) return undefined;
    try {
      return z.record(z.string(), z.number().min(0)).parse(JSON.parse(s));
    } catch {
      ctx.addIssue({ code: "custom", message: 'must be JSON such as {"utility":0.4,"marketing":0.4,"service":0}' });
      return z.NEVER;
    }
  });
