// @ts-check
// The demo's candidate controls (only when the ingress runs with the simulator): make the open
// conversation's candidate reply, send a CV or react, through the simulator's webhooks.

import { demoCandidate, messageOf } from "./api.js";
import { $ } from "./dom.js";
import { knownName, openConversationRecord } from "./state.js";

/** @param {string} action reply, document or reaction */
export async function demoAction(action) {
  const c = openConversationRecord();
  if (!c) return;
  $("demo-error").textContent = "";
  const name = knownName(c);
  try {
    await demoCandidate({ conversationId: c.id, action, ...(name ? { name } : {}) });
  } catch (err) {
    $("demo-error").textContent = messageOf(err);
  }
}
