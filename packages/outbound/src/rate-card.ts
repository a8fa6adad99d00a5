import { readFileSync } from "node:fs";
import { z } from "zod";
import shipped from "./rate-card.json" with { type: "json" };

/**
 * Meta bills per delivered template by category and recipient country, and its rates change on
 * published dates. A rate card holds one row per (country, category) from an effective date; the
 * price of a message is the row of its category for the recipient's country (else the `*` row)
 * with the latest `effectiveFrom` not after the message's time. Prices in MAD.
 */
export interface RateRow {
  /** ISO 3166 alpha-2 country of the recipient, or `*` for every other country. */
  country: string;
  /** marketing, utility, authentication, authentication_international, service (Meta's names, `-` read as `_`). */
  category: string;
  /** MAD per delivered message. */
  price: number;
  effectiveFrom: Date;
}

export interface RateCard {
  currency: "MAD";
  rates: RateRow[];
}

/** Meta spells some categories with a hyphen or in capitals (authentication-international, UTILITY). */
export const normalizeCategory = (category: string | null | undefined): string =>
  (category ?? "utility").toLowerCase().replace(/-/g, "_");

const rowSchema = z.object({
  country: z.string().regex(/^([A-Z]{2}|\*)$/, "an ISO country code such as MA, or *"),
  category: z.string().min(1),
  price: z.number().min(0),
  effectiveFrom: z.iso.date().or(z.iso.datetime({ offset: true })),
});
const cardSchema = z.object({ currency: z.literal("MAD"), rates: z.array(rowSchema).min(1) }).loose();
/** The flat table of earlier versions: MAD per category, every country, always. */
const flatSchema = z.record(z.string(), z.number().min(0));

/** Reads a rate card (or a flat `{ category: price }` table, every country from the epoch). */
export function parseRateCard(input: unknown): RateCard {
  const flat = flatSchema.safeParse(input);
  if (flat.success) {
    return {
      currency: "MAD",
      rates: Object.entries(flat.data).map(([category, price]) => ({
        country: "*",
        category: normalizeCategory(category),
        price,
        effectiveFrom: new Date(0),
      })),
    };
  }
  const card = cardSchema.parse(input);
  return {
    currency: "MAD",
    rates: card.rates.map((r) => ({
      country: r.country,
      category: normalizeCategory(r.category),
      price: r.price,
      effectiveFrom: new Date(r.effectiveFrom),
    })),
  };
}

/** The card shipped with the code (rate-card.json): this business's current figures. */
export const SHIPPED_RATE_CARD: RateCard = parseRateCard(shipped);

/**
 * The price of one message of `category` to `country` at `at`, or null when the card has no row
 * for that category (neither the country nor `*`) in force then.
 */
export function rateFor(
  card: RateCard,
  category: string,
  country: string | null | undefined,
  at: Date = new Date(),
): number | null {
  const cat = normalizeCategory(category);
  const t = at.getTime();
  let best: RateRow | null = null;
  for (const wanted of [country ?? "*", "*"]) {
    for (const r of card.rates) {
      if (r.category !== cat || r.country !== wanted || r.effectiveFrom.getTime() > t) continue;
      if (!best || r.effectiveFrom > best.effectiveFrom) best = r;
    }
    if (best) return best.price;
  }
  return null;
}

/** Reads OUTBOUND_PRICE_TABLE's value: JSON (a rate card or a flat table) or the path of a JSON file. */
export function loadRateCard(value: string): RateCard {
  const text = value.trim().startsWith("{") ? value : readFileSync(value.trim(), "utf8");
  return parseRateCard(JSON.parse(text));
}
