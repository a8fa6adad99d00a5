import { describe, expect, it } from "vitest";
import { candidateZones, countryOfCandidate } from "./candidate-zone.js";
import { inQuietHours, isTimeZone, minutesOfHhMm, nextAllowedAt, quietHoursEnd } from "./quiet-hours.js";
import { sendingPolicyUpdateSchema } from "./sending-policy.js";

const NIGHT = { start: "21:00", end: "09:00" };
const at = (iso: string) => new Date(iso).getTime();
const iso = (ms: number) => new Date(ms).toISOString();

describe("quiet hours in Africa/Casablanca (tzdata, not a fixed offset)", () => {
  const zone = "Africa/Casablanca";

  it("outside Ramadan Morocco is GMT+1: 20:30 UTC is 21:30 local, inside the quiet hours until 09:00 local (08:00 UTC)", () => {
    expect(inQuietHours(at("2026-04-01T20:30:00Z"), NIGHT, zone)).toBe(true);
    expect(iso(quietHoursEnd(at("2026-04-01T20:30:00Z"), NIGHT, zone))).toBe("2026-04-02T08:00:00.000Z");
  });

  it("during Ramadan Morocco is on GMT: 20:30 UTC is 20:30 local, not quiet; 21:30 UTC is, until 09:00 UTC", () => {
    expect(inQuietHours(at("2026-03-01T20:30:00Z"), NIGHT, zone)).toBe(false);
    expect(quietHoursEnd(at("2026-03-01T20:30:00Z"), NIGHT, zone)).toBe(at("2026-03-01T20:30:00Z"));
    expect(iso(quietHoursEnd(at("2026-03-01T21:30:00Z"), NIGHT, zone))).toBe("2026-03-02T09:00:00.000Z");
  });

  it("a quiet night across the switch back to GMT+1 (22 March 2026) ends at 09:00 local = 08:00 UTC", () => {
    expect(iso(quietHoursEnd(at("2026-03-21T22:00:00Z"), NIGHT, zone))).toBe("2026-03-22T08:00:00.000Z");
  });

  it("a quiet night across the switch to GMT (15 February 2026) ends at 09:00 local = 09:00 UTC", () => {
    expect(iso(quietHoursEnd(at("2026-02-14T21:00:00Z"), NIGHT, zone))).toBe("2026-02-15T09:00:00.000Z");
  });
});

describe("quiet hours in a DST zone (Europe/Paris)", () => {
  const zone = "Europe/Paris";

  it("the night of the spring change (29 March 2026) ends at 09:00 CEST = 07:00 UTC", () => {
    expect(iso(quietHoursEnd(at("2026-03-28T21:00:00Z"), NIGHT, zone))).toBe("2026-03-29T07:00:00.000Z");
  });

  it("the night of the autumn change (25 October 2026) ends at 09:00 CET = 08:00 UTC", () => {
    expect(iso(quietHoursEnd(at("2026-10-24T20:00:00Z"), NIGHT, zone))).toBe("2026-10-25T08:00:00.000Z");
  });

  it("an end inside the spring gap (02:30 does not exist) ends at the first minute after the gap", () => {
    const q = { start: "23:00", end: "02:30" };
    expect(iso(quietHoursEnd(at("2026-03-28T23:00:00Z"), q, zone))).toBe("2026-03-29T01:00:00.000Z");
  });
});

describe("windows", () => {
  const zone = "UTC";

  it("a window crossing midnight holds on both sides of it and ends at its end", () => {
    expect(inQuietHours(at("2026-06-01T23:59:00Z"), NIGHT, zone)).toBe(true);
    expect(inQuietHours(at("2026-06-02T00:00:00Z"), NIGHT, zone)).toBe(true);
    expect(inQuietHours(at("2026-06-02T08:59:00Z"), NIGHT, zone)).toBe(true);
    expect(inQuietHours(at("2026-06-02T09:00:00Z"), NIGHT, zone)).toBe(false);
    expect(inQuietHours(at("2026-06-02T20:59:00Z"), NIGHT, zone)).toBe(false);
    expect(inQuietHours(at("2026-06-02T21:00:00Z"), NIGHT, zone)).toBe(true);
    expect(iso(quietHoursEnd(at("2026-06-01T23:59:30Z"), NIGHT, zone))).toBe("2026-06-02T09:00:00.000Z");
  });

  it("a daytime window (12:00–14:00) holds only inside it", () => {
    const lunch = { start: "12:00", end: "14:00" };
    expect(inQuietHours(at("2026-06-01T11:59:00Z"), lunch, zone)).toBe(false);
    expect(inQuietHours(at("2026-06-01T13:10:00Z"), lunch, zone)).toBe(true);
    expect(iso(quietHoursEnd(at("2026-06-01T13:10:00Z"), lunch, zone))).toBe("2026-06-01T14:00:00.000Z");
  });

  it("no quiet hours (null): every minute is allowed", () => {
    expect(nextAllowedAt(at("2026-06-01T03:00:00Z"), null, [zone])).toBe(at("2026-06-01T03:00:00Z"));
  });

  it("several zones of one country: allowed only once it is allowed in each", () => {
    // 09:00 in Los Angeles (PDT, UTC-7) is 16:00 UTC, after 09:00 in New York (13:00 UTC).
    const t = nextAllowedAt(at("2026-06-01T10:00:00Z"), NIGHT, ["America/New_York", "America/Los_Angeles"]);
    expect(iso(t)).toBe("2026-06-01T16:00:00.000Z");
  });
});

describe("the candidate's zone", () => {
  it("from the phone's country code (Morocco, France), else the user id's prefix, else the tenant's zone", () => {
    expect(countryOfCandidate({ candidatePhone: "212612345678" })).toBe("MA");
    expect(candidateZones({ candidatePhone: "212612345678" }, "Europe/Paris")).toEqual(["Africa/Casablanca"]);
    expect(candidateZones({ candidatePhone: "33612345678" }, "Africa/Casablanca")).toEqual(["Europe/Paris"]);
    expect(candidateZones({ candidateUserId: "SN.123456789" }, "Africa/Casablanca")).toEqual(["Africa/Dakar"]);
    expect(candidateZones({ candidatePhone: "999" }, "Africa/Casablanca")).toEqual(["Africa/Casablanca"]);
    expect(candidateZones({ candidatePhone: "12125550123" }, "Africa/Casablanca").length).toBeGreaterThan(3);
  });
});

describe("the policy's validation", () => {
  it("accepts HH:MM times, IANA zones and null; refuses anything else with a message", () => {
    expect(minutesOfHhMm("09:30")).toBe(570);
    expect(minutesOfHhMm("24:00")).toBeNull();
    expect(isTimeZone("Africa/Casablanca")).toBe(true);
    expect(isTimeZone("Mars/Olympus")).toBe(false);
    expect(sendingPolicyUpdateSchema.safeParse({ quietHours: null }).success).toBe(true);
    expect(sendingPolicyUpdateSchema.safeParse({ quietHours: NIGHT, timeZone: "Europe/Paris" }).success).toBe(true);
    const bad = sendingPolicyUpdateSchema.safeParse({
      quietHours: { start: "9:00", end: "25:00" },
      timeZone: "GMT+1x",
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join("."))).toEqual(["quietHours.start", "quietHours.end", "timeZone"]);
    expect(sendingPolicyUpdateSchema.safeParse({ quietHours: { start: "10:00", end: "10:00" } }).success).toBe(false);
  });
});
