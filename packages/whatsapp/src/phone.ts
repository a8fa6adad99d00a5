/**
 * Phone numbers are stored as digits with the country code and no "+" (Meta's `wa_id` form).
 * Moroccan local forms (06…, 07…, 05…) become 2126…, 2127…, 2125….
 */
export function normalizePhone(input: string, defaultCountryCode = "212"): string | null {
  const trimmed = input.trim();
  if (!/^[+\d\s().-]+$/.test(trimmed)) return null;
  let digits = trimmed.replace(/[^\d]/g, "");
  if (trimmed.startsWith("+")) {
    // already international
  } else if (digits.startsWith("00")) {
    digits = digits.slice(2);
  } else if (defaultCountryCode === "212" && /^0[5-7]\d{8}$/.test(digits)) {
    digits = "212" + digits.slice(1);
  } else if (digits.startsWith("0")) {
    return null; // a local number of a country we cannot guess
  }
  // Moroccan numbers written as +212 0 6… keep a trunk zero that must go.
  if (/^2120[5-7]\d{8}$/.test(digits)) digits = "212" + digits.slice(4);
  if (digits.startsWith("212") && digits.length !== 12) return null;
  // E.164: at most 15 digits; the shortest real international numbers have 8.
  if (digits.length < 8 || digits.length > 15) return null;
  return digits;
}
