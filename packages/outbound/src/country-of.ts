/**
 * The recipient's country, for pricing: from a business-scoped user id's prefix (`MA.1234…`), else
 * from the phone number's calling code (longest match). The table holds the countries this business
 * reaches and their neighbours; any other number prices at the rate card's `*` rows.
 */
const CALLING_CODES: Record<string, string> = {
  "212": "MA",
  "213": "DZ",
  "216": "TN",
  "218": "LY",
  "20": "EG",
  "221": "SN",
  "225": "CI",
  "222": "MR",
  "33": "FR",
  "34": "ES",
  "32": "BE",
  "41": "CH",
  "39": "IT",
  "49": "DE",
  "31": "NL",
  "44": "GB",
  "351": "PT",
  "1": "US",
  "971": "AE",
  "966": "SA",
  "974": "QA",
  "965": "KW",
  "90": "TR",
};
const MAX_CODE = Math.max(...Object.keys(CALLING_CODES).map((k) => k.length));

export function countryOfPhone(phone: string | null | undefined): string | null {
  const digits = (phone ?? "").replace(/\D/g, "");
  for (let n = Math.min(MAX_CODE, digits.length); n >= 1; n--) {
    const hit = CALLING_CODES[digits.slice(0, n)];
    if (hit) return hit;
  }
  return null;
}

/** A user id looks like `US.13491208655302741918`: its ISO country code, a dot, alphanumerics. */
export function countryOfUserId(userId: string | null | undefined): string | null {
  const m = /^([A-Z]{2})\./.exec(userId ?? "");
  return m ? m[1]! : null;
}

export const recipientCountry = (r: {
  candidatePhone?: string | null;
  candidateUserId?: string | null;
}): string | null => countryOfPhone(r.candidatePhone) ?? countryOfUserId(r.candidateUserId);
