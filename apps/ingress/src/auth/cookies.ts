/**
 * One cookie's value from a Cookie header (no cookie library is needed for a few names). A value that
 * is not valid percent-encoding is treated as absent, so a malformed cookie is a 401, never a 500.
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export interface CookieAttributes {
  path: string;
  /** Seconds; 0 deletes the cookie. */
  maxAge: number;
  sameSite: "Strict" | "Lax";
  secure: boolean;
}

/** A Set-Cookie value: always HttpOnly (no script of any page can read these). */
export function serializeCookie(name: string, value: string, a: CookieAttributes): string {
  return [
    `${name}=${encodeURIComponent(value)}`,
    `Path=${a.path}`,
    `Max-Age=${Math.max(0, Math.floor(a.maxAge))}`,
    "HttpOnly",
    `SameSite=${a.sameSite}`,
    ...(a.secure ? ["Secure"] : []),
  ].join("; ");
}
