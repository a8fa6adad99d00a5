// @ts-check
// What a send from the composer would be, said before sending: free text or a template, and its
// cost, as the send preview API answers (the server's planSend: the same decision and price as the
// send API and the worker). The page does not decide it again.

import { sendPreview } from "./api.js";
import { $, button, field, textArea } from "./dom.js";
import { money, windowLeft } from "./format.js";
import { knownName, openConversationRecord, state } from "./state.js";
import { renderThread } from "./thread.js";

/** @typedef {import("./types.js").Conversation} Conversation */
/**
 * @typedef {{ kind: "text", cost: number, windowExpiresAt: string | null }
 *   | { kind: "template", cost: number | null, name: string, category?: string, body?: string | null, header?: "image" | "video" | "document" | null }
 *   | { kind: "refused", reason: string | undefined, optedOut?: true }} ComposerPlan
 */

/**
 * Who a send goes to: the phone when known, else the WhatsApp user id.
 * @param {Conversation} c
 * @returns {{ candidatePhone: string } | { candidateUserId: string }}
 */
export const candidateOf = (c) =>
  c.candidatePhone
    ? { candidatePhone: c.candidatePhone }
    : c.candidateUserId
      ? { candidateUserId: c.candidateUserId }
      : { candidatePhone: c.candidateKey };

/** Asks the send preview for the open conversation, learns its template's text, and redraws the composer. */
export async function refreshPreview() {
  const c = openConversationRecord();
  if (!c) return;
  try {
    const p = await sendPreview({ ...candidateOf(c), candidateName: knownName(c), jobTitle: c.jobTitle });
    const learnt = p.template.body && state.templateBodies.get(p.template.name) !== p.template.body;
    if (learnt && p.template.body) state.templateBodies.set(p.template.name, p.template.body);
    if (c.id === state.openId) {
      state.preview = p;
      if (learnt) renderThread(); // template messages can now show their text
    }
  } catch {
    state.preview = null;
  }
  renderComposer();
}

/**
 * What a send from the composer would be (null: no conversation open).
 * @returns {ComposerPlan | null}
 */
export function composerPlan() {
  const c = openConversationRecord();
  const p = state.preview;
  if (!c) return null;
  if (!p) return { kind: "template", cost: null, name: "application_received" }; // until the preview answers
  // The candidate opted out: what the send API would refuse (409 CANDIDATE_OPTED_OUT) is not offered.
  const optedOut = p.optOut?.[p.kind === "text" ? "text" : "template"];
  if (optedOut) return { kind: "refused", optedOut: true, reason: optedOut };
  if (p.kind === "text") return { kind: "text", cost: p.text.cost, windowExpiresAt: p.windowExpiresAt };
  // A media header (image, video, document) is the recruiter's to give: the composer asks for its link.
  const header = p.template.header?.media ?? null;
  if (!p.template.usable && !(header && p.template.header?.usableWithHeader))
    return { kind: "refused", reason: p.template.problem ?? undefined };
  return {
    kind: "template",
    cost: p.template.cost,
    name: p.template.name,
    category: p.template.category,
    body: p.template.body,
    header,
  };
}

/** The window the preview saw open has closed since: ask the preview again (at most every 5 s). */
let previewAskedAt = 0;
/** @param {ComposerPlan} plan */
function refreshPreviewIfWindowClosed(plan) {
  if (plan.kind !== "text" || windowLeft(plan.windowExpiresAt) || Date.now() - previewAskedAt < 5_000) return;
  previewAskedAt = Date.now();
  void refreshPreview();
}

/** The composer as the plan allows: the plan's line, the text box, the send button and the extras. */
export function renderComposer() {
  const plan = composerPlan();
  const planEl = $("composer-plan");
  const text = textArea("composer-text");
  const send = button("composer-send");
  const c = openConversationRecord();
  if (!plan || !c) return;
  refreshPreviewIfWindowClosed(plan);
  planEl.dataset.kind = plan.kind;
  if (plan.kind === "text") {
    planEl.textContent = `Free-form text · ${money(plan.cost)} (service message) — the candidate wrote in the last 24 hours; ${windowLeft(c.windowExpiresAt)} left.`;
    text.disabled = false;
    text.placeholder = "Write a message…";
    send.textContent = "Send";
  } else if (plan.kind === "template") {
    const why = c.lastInboundAt ? "the 24-hour window is closed" : "first contact: the candidate has not written yet";
    planEl.textContent = `Template “${plan.name}” · ${plan.cost === null ? "…" : money(plan.cost)} — ${why}, so WhatsApp only allows an approved template.${plan.body ? ` It reads: “${plan.body}”` : ""}${plan.header ? ` Its header is a${plan.header === "image" ? "n" : ""} ${plan.header}: give its link below.` : ""}`;
    text.disabled = true;
    text.value = "";
    text.placeholder = "Free text is possible once the candidate replies.";
    send.textContent = `Send template (${plan.cost === null ? "…" : money(plan.cost)})`;
  } else {
    planEl.textContent = plan.optedOut
      ? `Cannot send: ${plan.reason}`
      : `Cannot send: the window is closed and no usable template — ${plan.reason}.`;
    text.disabled = true;
    if (plan.optedOut) text.placeholder = "The candidate opted out: nothing can be sent now.";
    send.textContent = "Send";
  }
  // A blocked candidate cannot be messaged (Meta refuses): nothing to send until unblocked.
  if (c.blockedAt) {
    planEl.dataset.kind = "refused";
    planEl.textContent = "Cannot send: you blocked this candidate. Unblock them to write again.";
    text.disabled = true;
  }
  send.dataset.kind = plan.kind;
  send.disabled = plan.kind === "refused" || !!c.blockedAt;
  renderHeaderField(plan);
  // A form and a phone-number request are interactive messages: inside the window only.
  $("composer-extras").hidden = plan.kind !== "text" || !!c.blockedAt;
  $("ask-phone").hidden = plan.kind !== "text" || !!c.candidatePhone || !!c.blockedAt;
}

/** @type {Record<string, string>} */
const HEADER_WORD = { image: "image", video: "video", document: "document" };

/**
 * The link field of a template's media header: shown (and required) only when the template has one.
 * @param {ComposerPlan} plan
 */
function renderHeaderField(plan) {
  const box = $("composer-header");
  const input = field("composer-header-link");
  const kind = plan.kind === "template" ? plan.header : null;
  box.hidden = !kind;
  input.disabled = !kind;
  input.required = !!kind;
  if (kind) $("composer-header-label").textContent = `Header ${HEADER_WORD[kind] ?? kind} link (https)`;
  else input.removeAttribute("aria-invalid");
}
