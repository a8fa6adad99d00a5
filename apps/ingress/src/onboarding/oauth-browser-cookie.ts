import { serializeCookie } from "../auth/cookies.js";

/** Where the cookie is sent: the callback only (and nothing else of the API). */
export const OAUTH_COOKIE_PATH = "/api/auth/whatsapp/callback";

/**
 * The name of the cookie that binds one connect attempt to its browser, derived from the state's
 * public nonce: two attempts in two tabs each keep their own cookie.
 */
export const oauthCookieName = (nonce: string) => `lj_oauth_${nonce.replace(/[^A-Za-z0-9_-]/g, "").slice(0, 16)}`;

/**
 * Set by initiate, required by the callback: HttpOnly, SameSite=Lax (sent on the top-level redirect
 * back from Meta's dialog, not on cross-site subrequests), Secure when BASE_URL is https, scoped to
 * the callback path, living as long as the state.
 */
export function oauthCookie(nonce: string, browserSecret: string, opts: { maxAge: number; secure: boolean }): string {
  return serializeCookie(oauthCookieName(nonce), browserSecret, {
    path: OAUTH_COOKIE_PATH,
    maxAge: opts.maxAge,
    sameSite: "Lax",
    secure: opts.secure,
  });
}

/** Deletes the attempt's cookie (the callback's answer, whatever the outcome). */
export function clearedOauthCookie(nonce: string, secure: boolean): string {
  return serializeCookie(oauthCookieName(nonce), "", { path: OAUTH_COOKIE_PATH, maxAge: 0, sameSite: "Lax", secure });
}
