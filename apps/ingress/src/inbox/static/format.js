// @ts-check
// How the page words things: names, phones, times, the 24-hour window, prices, template text.

import { state } from "./state.js";

/** @typedef {import("./types.js").Conversation} Conversation */

/** @param {number} n */
export const money = (n) => `${Number(n).toFixed(2)} ${state.config.currency}`;

/** @param {string | null | undefined} p */
export const phoneLabel = (p) => (p && /^\d+$/.test(p) ? `+${p}` : (p ?? ""));

/**
 * How WhatsApp names the candidate: the phone, else (a username-only candidate) @username and user id.
 * @param {Conversation} c
 */
export const handleOf = (c) =>
  c.candidatePhone
    ? phoneLabel(c.candidatePhone)
    : [c.candidateUsername ? `@${c.candidateUsername.replace(/^@/, "")}` : null, c.candidateUserId]
        .filter(Boolean)
        .join(" · ") || phoneLabel(c.candidateKey);

/** @param {Conversation} c */
export const convName = (c) =>
  c.candidateName ||
  (c.candidatePhone
    ? phoneLabel(c.candidatePhone)
    : c.candidateUsername
      ? `@${c.candidateUsername.replace(/^@/, "")}`
      : handleOf(c));

/** @param {string} iso */
export const timeOf = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

/** @param {string | null | undefined} iso */
export function shortWhen(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toDateString() === new Date().toDateString()
    ? timeOf(iso)
    : d.toLocaleDateString([], { day: "numeric", month: "short" });
}

/**
 * Time left in the 24-hour window, or null when closed.
 * @param {string | null | undefined} expiresIso
 */
export function windowLeft(expiresIso, now = Date.now()) {
  if (!expiresIso) return null;
  const ms = new Date(expiresIso).getTime() - now;
  if (ms <= 0) return null;
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}m ${String(s % 60).padStart(2, "0")}s`;
}

/** @param {string | null | undefined} expiresIso */
export const windowText = (expiresIso) => {
  const left = windowLeft(expiresIso);
  return left ? `window ${left}` : "window closed";
};

/**
 * "Bonjour {{1}} …" with its variables: positional ({{1}}) or named ({{candidate_name}}, in order).
 * @param {string} body
 * @param {ReadonlyArray<string | null | undefined>} vars
 */
export function fillTemplate(body, vars) {
  let next = 0;
  return body.replace(
    /\{\{\s*([^}]+?)\s*\}\}/g,
    (whole, /** @type {string} */ key) => (/^\d+$/.test(key) ? vars[Number(key) - 1] : vars[next++]) ?? whole,
  );
}
