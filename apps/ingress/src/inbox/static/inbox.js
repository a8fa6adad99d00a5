// @ts-check
// The recruiter inbox: plain ES modules over the public API (REST with a Bearer JWT, Socket.io
// events), type-checked against @linkojob/events (JSDoc, `// @ts-check`; tsconfig.json here) and
// linted like the rest of the workspace. Meant to be read and copied by the platform's front-end
// developers: no framework, no build step. This module starts the page and wires its controls.
//
// Data flow: REST gives the truth (list, thread pages); Socket.io events patch it live; on every
// (re)connect the list and the open thread are read again, so nothing missed while offline is lost.
// The modules call one another's functions only when the page runs (never while loading), so the
// order in which the browser loads them does not matter.

import { initiateWhatsApp, messageOf } from "./api.js";
import { askPhone, sendForm, sendFromComposer, sendTyping, setReplyTo } from "./composer.js";
import { loadConversations } from "./conversation-list.js";
import { demoAction } from "./demo.js";
import { $, form, field, textArea } from "./dom.js";
import { windowLeft, windowText } from "./format.js";
import { scheduleNewCandidatePlan, sendNewCandidate, showNewCandidateForm } from "./new-candidate.js";
import { startRealtime } from "./realtime.js";
import { readToken, rememberLogin, signOut } from "./session.js";
import { state } from "./state.js";
import { loadOlder, markRead, renderThreadHead, toggleBlock } from "./thread.js";

/** Every second: the window countdowns of the list and the thread (the composer switches when one closes). */
function tickCountdowns() {
  for (const node of document.querySelectorAll("[data-expires]")) {
    if (!(node instanceof HTMLElement)) continue;
    const iso = node.dataset.expires;
    const open = !!windowLeft(iso);
    if (node.classList.contains("window")) node.textContent = windowText(iso);
    if (node.dataset.open !== String(open)) {
      node.dataset.open = String(open);
      if (node.id === "thread-window") renderThreadHead(); // the window just closed: switch the composer
    } else if (node.id === "thread-window" && open) {
      node.textContent = `24-hour window: ${windowLeft(iso)} left`;
    }
  }
}

async function connectWhatsApp() {
  try {
    const { oauthUrl } = await initiateWhatsApp();
    location.assign(oauthUrl);
  } catch (err) {
    alert(`Could not start the WhatsApp connection: ${messageOf(err)}`);
  }
}

async function start() {
  readToken();
  const outcome = new URLSearchParams(location.search).get("whatsapp_status");
  if (!state.token) {
    $("login").hidden = false;
    return;
  }
  $("login").hidden = true;
  $("app").hidden = false;
  /** @type {unknown} */
  const config = await (await fetch("/inbox/config.json")).json();
  state.config = /** @type {import("./types.js").InboxConfig} */ (config);
  showNewCandidateForm();
  $("thread-empty-demo").hidden = false;
  if (outcome) {
    const banner = $("client-banner");
    banner.hidden = false;
    banner.textContent =
      outcome === "connected"
        ? "WhatsApp connected."
        : `WhatsApp connection failed: ${new URLSearchParams(location.search).get("whatsapp_error") ?? "error"}`;
  }
  try {
    await loadConversations();
  } catch (err) {
    if (/** @type {{ status?: number }} */ (err).status !== 401)
      $("conv-empty").textContent = `Could not load conversations: ${messageOf(err)}`;
    $("conv-empty").hidden = false;
    return;
  }
  await startRealtime();
}

form("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = textArea("login-token").value.trim();
  if (!token) return;
  rememberLogin(token, field("login-client").value.trim());
  textArea("login-token").value = "";
  void start();
});
$("sign-out").addEventListener("click", () => signOut());
$("connect-whatsapp").addEventListener("click", () => void connectWhatsApp());
form("composer").addEventListener("submit", (e) => void sendFromComposer(e));
textArea("composer-text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    form("composer").requestSubmit();
  }
});
$("composer-text").addEventListener("input", sendTyping);
$("composer-reply-cancel").addEventListener("click", () => setReplyTo(null));
$("load-older").addEventListener("click", () => void loadOlder());
$("block-toggle").addEventListener("click", () => void toggleBlock());
$("form-send").addEventListener("click", () => void sendForm());
$("ask-phone").addEventListener("click", askPhone);
form("new-candidate-form").addEventListener("submit", (e) => void sendNewCandidate(e));
for (const id of ["nc-phone", "nc-name", "nc-job"]) $(id).addEventListener("input", scheduleNewCandidatePlan);
for (const b of document.querySelectorAll("[data-demo]"))
  if (b instanceof HTMLElement) b.addEventListener("click", () => void demoAction(b.dataset.demo ?? ""));
document.addEventListener("visibilitychange", () => void markRead());
setInterval(tickCountdowns, 1000);
void start();
