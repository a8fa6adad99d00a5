// @ts-check
// The candidate's opt-out as the page shows it: read from the register when a conversation opens,
// then kept by the `candidate:opt_out` events.

import { optOutsOf } from "./api.js";
import { refreshPreview } from "./send-plan.js";
import { state } from "./state.js";
import { renderThreadHead } from "./thread.js";

/**
 * The candidate's opt-out, from the register (GET /api/clients/:clientId/opt-outs?candidate…).
 * @param {string} id the conversation's
 */
export async function loadOptOut(id) {
  const c = state.conversations.get(id);
  if (!c) return;
  const query = c.candidatePhone ? { candidatePhone: c.candidatePhone } : { candidateUserId: c.candidateUserId };
  const data = await optOutsOf(c.clientId, query).catch(() => null);
  if (!data) return;
  const scope = data.scope;
  const entry = data.optOuts.find((o) => o.scope === scope);
  const scopeState = entry && scope ? entry[scope] : null;
  state.optOuts.set(id, { scope, source: scopeState?.source ?? null, at: scopeState?.at ?? null });
  if (id === state.openId) renderThreadHead();
}

/**
 * A candidate stopped or resumed: the conversation's badge says so at once, and the composer what
 * the send API would refuse.
 * @param {import("@linkojob/events").CandidateOptOutPayload} event
 */
export function applyOptOutEvent(event) {
  if (!event.conversationId) return;
  state.optOuts.set(event.conversationId, {
    scope: event.scope,
    source: event.scope ? event.change.source : null,
    at: event.scope ? event.change.at : null,
  });
  if (event.conversationId === state.openId) {
    renderThreadHead();
    void refreshPreview();
  }
}
