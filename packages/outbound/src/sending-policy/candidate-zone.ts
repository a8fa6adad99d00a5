import { parsePhoneNumberFromString } from "libphonenumber-js/min";

/**
 * The candidate's IANA time zones, for quiet hours: the country of their phone number (libphonenumber's
 * metadata) or of their business-scoped user id's prefix (`MA.1234…`), then the country's zones from
 * Node's ICU (`Intl.Locale#getTimeZones`). A country with several zones gives them all (quiet hours
 * then hold wherever it is night); an unknown country gives none (the tenant's zone applies).
 */
export function countryOfCandidate(r: {
  candidatePhone?: string | null;
  candidateUserId?: string | null;
}): string | null {
  const digits = (r.candidatePhone ?? "").replace(/\D/g, "");
  if (digits) {
    const country = parsePhoneNumberFromString(`+${digits}`)?.country;
    if (country) return country;
  }
  const m = /^([A-Z]{2})\./.exec(r.candidateUserId ?? "");
  return m ? m[1]! : null;
}

const zonesByCountry = new Map<string, readonly string[]>();

/** The IANA zones ICU lists for an ISO 3166 country code (empty when none). */
export function zonesOfCountry(country: string): readonly string[] {
  let zones = zonesByCountry.get(country);
  if (!zones) {
    try {
      const locale = new Intl.Locale(`und-${country}`) as Intl.Locale & {
        getTimeZones?: () => string[];
        timeZones?: string[];
      };
      zones = locale.getTimeZones?.() ?? locale.timeZones ?? [];
    } catch {
      zones = [];
    }
    zonesByCountry.set(country, zones);
  }
  return zones;
}

/** The zones quiet hours are computed in for this candidate: theirs, else `[fallbackZone]`. */
export function candidateZones(
  r: { candidatePhone?: string | null; candidateUserId?: string | null },
  fallbackZone: string,
): readonly string[] {
  const country = countryOfCandidate(r);
  const zones = country ? zonesOfCountry(country) : [];
  return zones.length ? zones : [fallbackZone];
}
