// @ts-check
// Sending from the open conversation: the composer's text or template (with a media header's link),
// a reply to a message, a reaction, "typing…", and the extras (a form, a phone-number request).
// Each send goes through the send API and shows `queued` until its progress arrives live.

import { messageOf, sendMessage, sendTypingIndicator } from "./api.js";
import { $, button, details, field, textArea } from "./dom.js";
import { summaryOf } from "./message-view.js";
import { candidateOf, composerPlan, renderComposer } from "./send-plan.js";
import { knownName, mergeMessage, openConversationRecord, state } from "./state.js";
import { loadThread, markRead } from "./thread.js";

/** @typedef {import("./types.js").Message} Message */
/** @typedef {import("./types.js").SendBody} SendBody */

/**
 * The message as the send API's answer knows it, shown `queued` until the worker stores it and its
 * `message:sent` / `message:status` events (keyed by the same id) replace it.
 * @param {import("./types.js").SendAnswer} answer
 * @param {SendBody} body
 * @returns {Message}
 */
const pendingMessage = (answer, body) => ({
  id: answer.messageId,
  direction: "outbound",
  type: answer.kind,
  kind: answer.kind,
  status: answer.status,
  error: null,
  cost: answer.cost,
  text: answer.kind === "text" ? (body.message ?? null) : null,
  content: answer.kind === "text" ? { body: body.message } : {},
  request: /** @type {import("./types.js").StoredRequest} */ (body),
  timestamp: new Date().toISOString(),
});

/**
 * The composer replies to this message (null: to none).
 * @param {Message | null} m
 */
export function setReplyTo(m) {
  state.replyTo = m;
  $("composer-reply").hidden = !m;
  $("composer-reply-text").textContent = m ? `↪ Replying to: ${summaryOf(m)}` : "";
  if (m) textArea("composer-text").focus();
}

/**
 * Reacts to a candidate's message (an empty emoji removes the reaction).
 * @param {Message} m
 * @param {string} emoji
 */
export async function react(m, emoji) {
  const c = openConversationRecord();
  if (!c) return;
  state.pickerFor = null;
  $("composer-error").textContent = "";
  try {
    await sendMessage({ ...candidateOf(c), reaction: { messageId: m.id, emoji } });
    await loadThread();
  } catch (err) {
    $("composer-error").textContent = `Reaction not sent: ${messageOf(err)}`;
  }
}

/** "typing…" for the candidate while the recruiter writes (the server limits it to once per 20 s). */
export function sendTyping() {
  const c = openConversationRecord();
  if (!c || composerPlan()?.kind !== "text" || !textArea("composer-text").value.trim()) return;
  if (Date.now() - (state.typingAt.get(c.id) ?? 0) < 20_000) return;
  state.typingAt.set(c.id, Date.now());
  void sendTypingIndicator(c.id).catch(() => undefined);
}

/**
 * The send's templateHeader from the link field, or an error message.
 * @param {string} kind image, video or document
 * @returns {{ header: { type: string, link: string }, error?: undefined } | { error: string }}
 */
function headerFromField(kind) {
  const input = field("composer-header-link");
  const link = input.value.trim();
  if (!URL.canParse(link) || new URL(link).protocol !== "https:") {
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return { error: `The template has a${kind === "image" ? "n" : ""} ${kind} header: give its https link.` };
  }
  input.removeAttribute("aria-invalid");
  return { header: { type: kind, link } };
}

/** @param {SubmitEvent} event */
export async function sendFromComposer(event) {
  event.preventDefault();
  const c = openConversationRecord();
  const plan = composerPlan();
  if (!c || !plan || plan.kind === "refused") return;
  const message = textArea("composer-text").value.trim();
  if (plan.kind === "text" && !message) return void ($("composer-error").textContent = "Write a message first.");
  /** @type {SendBody} */
  const body = { ...candidateOf(c) };
  if (plan.kind === "template" && plan.header) {
    const got = headerFromField(plan.header);
    if (got.error !== undefined) return void ($("composer-error").textContent = got.error);
    body.templateHeader = got.header;
  }
  if (plan.kind === "text") body.message = message;
  if (plan.kind === "text" && state.replyTo) body.replyTo = state.replyTo.id;
  else {
    const name = knownName(c);
    if (name) body.candidateName = name;
    if (c.jobTitle) body.jobTitle = c.jobTitle;
  }
  button("composer-send").disabled = true;
  $("composer-error").textContent = "";
  try {
    const answer = await sendMessage(body);
    mergeMessage(pendingMessage(answer, body));
    textArea("composer-text").value = "";
    field("composer-header-link").value = "";
    setReplyTo(null);
    await loadThread({ scrollToEnd: true }); // the queued message; its progress arrives live
    await markRead(); // replying reads the candidate's latest message
  } catch (err) {
    $("composer-error").textContent = `Not sent: ${messageOf(err)}`;
  } finally {
    renderComposer();
  }
}

/**
 * Sends an interactive message from the composer's extras (a form, a phone-number request) through
 * the send API, and shows it queued until its progress arrives live.
 * @param {NonNullable<SendBody["interactive"]>} interactive
 * @param {HTMLButtonElement} sender the button, disabled meanwhile
 */
async function sendInteractive(interactive, sender) {
  const c = openConversationRecord();
  if (!c) return false;
  $("extras-error").textContent = "";
  sender.disabled = true;
  /** @type {SendBody} */
  const body = { ...candidateOf(c), interactive };
  try {
    const answer = await sendMessage(body);
    mergeMessage(pendingMessage(answer, body));
    await loadThread({ scrollToEnd: true });
    return true;
  } catch (err) {
    $("extras-error").textContent = `Not sent: ${messageOf(err)}`;
    return false;
  } finally {
    sender.disabled = false;
  }
}

/** "Send form": a published WhatsApp Flow (by Meta id, digits, or by name) opened at its first screen. */
export async function sendForm() {
  const flow = field("form-flow").value.trim();
  const screen = field("form-screen").value.trim();
  if (!flow || !screen)
    return void ($("extras-error").textContent = "Give the flow (id or name) and its first screen.");
  const sent = await sendInteractive(
    {
      type: "flow",
      body: field("form-body").value.trim() || "Merci de compléter ce formulaire.",
      cta: field("form-cta").value.trim() || "Remplir",
      ...(/^\d+$/.test(flow) ? { flowId: flow } : { flowName: flow }),
      action: "navigate",
      screen,
    },
    button("form-send"),
  );
  if (sent) details("send-form").open = false;
}

/** "Ask for phone number": Meta's contact-information request, for a candidate known by username only. */
export function askPhone() {
  void sendInteractive(
    {
      type: "request_contact_info",
      body: "Pourriez-vous partager votre numéro de téléphone pour la suite de votre candidature ?",
    },
    button("ask-phone"),
  );
}
