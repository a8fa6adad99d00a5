import { describe, expect, it } from "vitest";
import { candidateZone, delayBucket, isOptOut, localWeekdayHour } from "./analytics-events.js";
import { histogramQuantile, periodOf } from "./analytics-report.js";

describe("analytics figures' building blocks", () => {
  it("places a candidate in its number's zone through Intl, daylight saving included, else Casablanca", () => {
    expect(candidateZone("212612345678")).toBe("Africa/Casablanca");
    expect(candidateZone("33612345678")).toBe("Europe/Paris");
    expect(candidateZone(null)).toBe("Africa/Casablanca");
    expect(candidateZone("999")).toBe("Africa/Casablanca");
    // 12:00 UTC: 14:00 in Paris in summer (UTC+2), 13:00 in winter (UTC+1).
    expect(localWeekdayHour(new Date("2026-07-06T12:00:00Z"), "Europe/Paris")).toEqual({ weekday: 0, hour: 14 });
    expect(localWeekdayHour(new Date("2026-12-07T12:00:00Z"), "Europe/Paris")).toEqual({ weekday: 0, hour: 13 });
    // Sunday 23:30 UTC is Monday 00:30 in Casablanca (UTC+1).
    expect(localWeekdayHour(new Date("2026-12-06T23:30:00Z"), "Africa/Casablanca")).toEqual({ weekday: 0, hour: 0 });
  });

  it("takes only a whole opt-out message as one, never a sentence containing the word", () => {
    for (const t of ["STOP", "stop!", " Arrêt ", "توقف", "Unsubscribe."]) expect(isOptOut(t)).toBe(true);
    for (const t of ["stop, I'm coming", "Je ne veux pas arrêter", "", null]) expect(isOptOut(t)).toBe(false);
  });

  it("reads medians and p90 from a delay histogram, exact to the bucket", () => {
    expect(histogramQuantile([], 0.5)).toBeNull();
    const h: number[] = [];
    for (const min of [0.5, 3, 3, 10, 200]) h[delayBucket(min * 60_000)] = (h[delayBucket(min * 60_000)] ?? 0) + 1;
    const median = histogramQuantile(h, 0.5)!;
    expect(median).toBeGreaterThan(1);
    expect(median).toBeLessThanOrEqual(5);
    const p90 = histogramQuantile(h, 0.9)!;
    expect(p90).toBeGreaterThan(120);
    expect(p90).toBeLessThanOrEqual(240);
    expect(periodOf("2026-10-01", "week")).toBe("2026-09-28");
    expect(periodOf("2026-10-01", "month")).toBe("2026-10");
  });
});
