// @ts-check
// Under the New candidate form: the portfolio's budget of first contacts (used / limit, next free
// slot) from GET /api/clients/:clientId/sending-policy, and, after a send, why it waits.

import { sendingPolicy } from "./api.js";
import { $ } from "./dom.js";
import { state } from "./state.js";

/** @type {Record<string, string>} */
const SCHEDULE_REASONS = {
  MESSAGING_LIMIT: "the daily limit of new candidates for your WhatsApp account is reached",
  QUIET_HOURS: "it is night for the candidate (quiet hours)",
  QUALITY_PAUSED: "Meta flagged the number's quality: marketing first contacts are paused",
};

/** @typedef {{ status?: string, scheduledFor?: string, reason?: string }} FirstContactAnswer */

/** @type {FirstContactAnswer | null} */
let lastFirstContact = null;

/** @param {FirstContactAnswer | null} [answer] the last first contact's send answer (default: the one before) */
export async function refreshSendingBudget(answer = lastFirstContact) {
  lastFirstContact = answer ?? null;
  const line = $("nc-budget");
  const waits =
    answer && (answer.status === "scheduled" || answer.reason === "QUALITY_PAUSED")
      ? `Last first contact ${answer.scheduledFor ? `scheduled for ${new Date(answer.scheduledFor).toLocaleString()}` : "held"}: ${(answer.reason && SCHEDULE_REASONS[answer.reason]) ?? answer.reason}. `
      : "";
  if (!state.clientId) return void (line.textContent = waits);
  try {
    const p = await sendingPolicy(state.clientId);
    const m = p.messagingLimit;
    const budget =
      m.limit === null || m.limit < 0
        ? ""
        : `New candidates in the last 24 h: ${m.used} of ${m.limit}${m.scheduled ? `, ${m.scheduled} scheduled` : ""}${m.used + m.scheduled >= m.limit && m.nextFreeAt ? ` · next free slot ${new Date(m.nextFreeAt).toLocaleString()}` : ""}.`;
    line.textContent = `${waits}${budget}`;
  } catch {
    line.textContent = waits;
  }
}
