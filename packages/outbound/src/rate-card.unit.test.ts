import { describe, expect, it } from "vitest";
import { countryOfPhone, countryOfUserId } from "./country-of.js";
import { expectedCost, freeInServiceWindow, reportedCost, outboundPriceTableVar } from "./pricing.js";
import shippedJson from "./rate-card.json" with { type: "json" };
import { SHIPPED_RATE_CARD, parseRateCard, rateFor } from "./rate-card.js";

describe("rate card", () => {
  it("ships this business's figure for the first-contact template: 0.40 MAD (utility, Morocco)", () => {
    expect(SHIPPED_RATE_CARD.currency).toBe("MAD");
    expect(rateFor(SHIPPED_RATE_CARD, "UTILITY", "MA")).toBe(0.4);
    for (const c of ["marketing", "utility", "authentication", "authentication-international", "service"]) {
      expect(rateFor(SHIPPED_RATE_CARD, c, "MA"), c).not.toBeNull();
      expect(rateFor(SHIPPED_RATE_CARD, c, "*"), c).not.toBeNull();
    }
  });

  it("takes the recipient's country row, else the * row, in force at the message's time", () => {
    const card = parseRateCard({
      currency: "MAD",
      rates: [
        { country: "MA", category: "marketing", price: 0.7, effectiveFrom: "2025-07-01" },
        { country: "MA", category: "marketing", price: 0.8, effectiveFrom: "2026-10-01" },
        { country: "*", category: "marketing", price: 1.2, effectiveFrom: "2025-07-01" },
      ],
    });
    expect(rateFor(card, "marketing", "MA", new Date("2026-09-30T23:00:00Z"))).toBe(0.7);
    expect(rateFor(card, "marketing", "MA", new Date("2026-10-01T00:00:00Z"))).toBe(0.8);
    expect(rateFor(card, "marketing", "BR", new Date("2026-10-01T00:00:00Z"))).toBe(1.2);
    expect(rateFor(card, "marketing", "MA", new Date("2025-01-01T00:00:00Z"))).toBeNull();
    expect(expectedCost("template", "MARKETING", false, card, { country: "MA", at: new Date("2026-11-01") })).toEqual({
      cost: 0.8,
      category: "marketing",
    });
  });

  it("prices what Meta reported: type first (free_* cost nothing), then billable", () => {
    expect(
      reportedCost({ type: "regular", category: "marketing", billable: true }, SHIPPED_RATE_CARD, { country: "FR" }),
    ).toMatchObject({ cost: 1.45, billable: true });
    expect(
      reportedCost({ type: "free_customer_service", category: "utility", billable: false }, SHIPPED_RATE_CARD, {
        country: "MA",
      }),
    ).toMatchObject({ cost: 0, billable: false });
    expect(
      reportedCost({ type: "free_entry_point", category: "marketing" }, SHIPPED_RATE_CARD, { country: "MA" }),
    ).toMatchObject({ cost: 0, billable: false });
    expect(
      reportedCost({ billable: true, category: "authentication-international" }, SHIPPED_RATE_CARD, { country: "MA" }),
    ).toMatchObject({ cost: 0.9, category: "authentication_international" });
  });

  it("bills service messages from 2026-10-01 at the market's utility rate, Meta's pricing deciding", () => {
    const sept = new Date("2026-09-30T23:59:00Z");
    const oct = new Date("2026-10-01T00:00:00Z");
    expect(rateFor(SHIPPED_RATE_CARD, "service", "MA", sept)).toBe(0);
    expect(rateFor(SHIPPED_RATE_CARD, "service", "MA", oct)).toBe(rateFor(SHIPPED_RATE_CARD, "utility", "MA", oct));
    expect(rateFor(SHIPPED_RATE_CARD, "service", "FR", oct)).toBe(rateFor(SHIPPED_RATE_CARD, "utility", "FR", oct));
    expect(freeInServiceWindow("service", sept)).toBe(true);
    expect(freeInServiceWindow("UTILITY", sept)).toBe(true);
    expect(freeInServiceWindow("service", oct)).toBe(false);
    expect(freeInServiceWindow("utility", oct)).toBe(false);
    expect(freeInServiceWindow("marketing", sept)).toBe(false);
    expect(
      reportedCost({ type: "regular", category: "service" }, SHIPPED_RATE_CARD, { country: "MA", at: oct }),
    ).toMatchObject({ cost: 0.4, billable: true, category: "service" });
    expect(
      reportedCost({ type: "free_customer_service", category: "service" }, SHIPPED_RATE_CARD, {
        country: "MA",
        at: oct,
      }),
    ).toMatchObject({ cost: 0, billable: false });
    // A card without service rows prices them as utility (Meta's rule).
    const flat = parseRateCard({ utility: 0.5 });
    expect(expectedCost("text", null, true, flat, { at: oct })).toEqual({ cost: 0.5, category: "service" });
    expect(expectedCost("text", null, true, flat, { at: sept })).toEqual({ cost: 0, category: "service" });
  });

  it("keeps the source of every figure: only Morocco's utility row is the business's own", () => {
    const rows = (shippedJson as { rates: Array<{ country: string; category: string; source: string }> }).rates;
    expect(rows.filter((r) => r.source === "business")).toEqual([
      expect.objectContaining({ country: "MA", category: "utility" }),
    ]);
    for (const r of rows) expect(["business", "placeholder", "meta-rule"]).toContain(r.source);
  });

  it("reads OUTBOUND_PRICE_TABLE as a rate card, a flat table, and refuses anything else naming the shape", () => {
    const card = outboundPriceTableVar.parse(
      '{"currency":"MAD","rates":[{"country":"MA","category":"utility","price":0.5,"effectiveFrom":"2026-01-01"}]}',
    );
    expect(rateFor(card!, "utility", "MA")).toBe(0.5);
    expect(rateFor(outboundPriceTableVar.parse('{"utility":0.55}')!, "utility", "MA")).toBe(0.55);
    const bad = outboundPriceTableVar.safeParse('{"currency":"EUR","rates":[]}');
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error)).toMatch(/rate card/);
  });

  it("finds the country from the calling code or the user id", () => {
    expect(countryOfPhone("212612345678")).toBe("MA");
    expect(countryOfPhone("33612345678")).toBe("FR");
    expect(countryOfPhone("15551234567")).toBe("US");
    expect(countryOfPhone("999")).toBeNull();
    expect(countryOfUserId("US.13491208655302741918")).toBe("US");
    expect(countryOfUserId("212612345678")).toBeNull();
  });
});
