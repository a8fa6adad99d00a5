import { serializeCookie } from "../auth/cookies.js";

/** Where the cookie is sent over plain http (development): the callback only. */
export const OAUTH_COOKIE_PATH = "/api/auth/whatsapp/callback";

/**
 * The name of the cookie that binds one connect attempt to its browser, derived from the state's
 * public nonce: two attempts in two tabs each keep their own cookie. On https it carries the
 * `__Host-` prefix: a browser accepts such a cookie only from this very host, Secure, with `Path=/`
 * and no Domain, so a sibling subdomain (`evil.linkojob.com`) cannot toss its own secret into the
 * victim's browser under this name and have the callback connect the victim's number to the
 * attacker's attempt. (Plain http cannot carry the prefix: browsers refuse it without Secure.)
 */
export const oauthCookieName = (nonce: string, secure: boolean) =>
  `${secure ? "__Host-" : ""}lj_oauth_${nonce.replace(/[^A-Za-z0-9_-]/g, "").slice(0, 16)}`;

/** `Path=/` is part of the `__Host-` contract; over http the cookie stays scoped to the callback. */
const pathOf = (secure: boolean) => (secure ? "/" : OAUTH_COOKIE_PATH);

/**
 * Set by initiate, required by the callback: HttpOnly, SameSite=Lax (sent on the top-level redirect
 * back from Meta's dialog, not on cross-site subrequests), `__Host-`-prefixed and Secure when
 * BASE_URL is https, living as long as the state.
 */
export function oauthCookie(nonce: string, browserSecret: string, opts: { maxAge: number; secure: boolean }): string {
  return serializeCookie(oauthCookieName(nonce, opts.secure), browserSecret, {
    path: pathOf(opts.secure),
    maxAge: opts.maxAge,
    sameSite: "Lax",
    secure: opts.secure,
  });
}

/** Deletes the attempt's cookie (the callback's answer, whatever the outcome). */
export function clearedOauthCookie(nonce: string, secure: boolean): string {
  return serializeCookie(oauthCookieName(nonce, secure), "", {
    path: pathOf(secure),
    maxAge: 0,
    sameSite: "Lax",
    secure,
  });
}
