// @ts-check
// The open conversation: its header (who, the 24-hour window, opt-out and block), its messages
// (pages of the REST API, patched live), reading (blue ticks) and blocking.

import { markConversationRead, messageOf, setBlocked, threadPage } from "./api.js";
import { react, setReplyTo } from "./composer.js";
import { renderList, upsertConversation } from "./conversation-list.js";
import { $, button, el, textArea, textNode } from "./dom.js";
import { convName, handleOf, windowLeft } from "./format.js";
import { blockBadge, optOutBadge } from "./inbox-live.js";
import { renderMessage, reactionOf } from "./message-view.js";
import { loadOptOut } from "./opt-outs.js";
import { refreshPreview, renderComposer } from "./send-plan.js";
import { mergeMessage, openConversationRecord, state } from "./state.js";

/** @typedef {import("./types.js").Message} Message */

/** @type {import("./message-view.js").MessageActions} */
const actions = { reply: setReplyTo, react: (m, emoji) => void react(m, emoji) };

/** @param {string} id */
export async function openConversation(id) {
  if (state.openId !== id) {
    state.openId = id;
    state.messages = new Map();
    state.nextCursor = null;
    state.preview = null;
    $("messages").replaceChildren();
    textArea("composer-text").value = "";
    $("composer-error").textContent = "";
    $("demo-error").textContent = "";
    setReplyTo(null);
  }
  $("thread-empty").hidden = true;
  $("thread-body").hidden = false;
  renderList();
  renderThreadHead();
  await loadThread({ scrollToEnd: true });
  await loadOptOut(id);
  await refreshPreview();
  await markRead();
}

/**
 * Blocks or unblocks the open conversation's candidate (POST / DELETE /api/clients/:clientId/blocks):
 * Meta's Block Users API, which blocks only candidates who wrote in the last 24 hours; its refusal
 * is shown as the API words it.
 */
export async function toggleBlock() {
  const c = openConversationRecord();
  if (!c) return;
  const toggle = button("block-toggle");
  $("block-error").textContent = "";
  toggle.disabled = true;
  try {
    const answer = await setBlocked(c.clientId, c.id, !c.blockedAt);
    upsertConversation({ ...c, ...answer.conversation });
  } catch (err) {
    $("block-error").textContent = messageOf(err);
  } finally {
    toggle.disabled = false;
  }
}

/** Reads the newest page of the open conversation (older pages loaded stay). */
export async function loadThread({ scrollToEnd = false } = {}) {
  const id = state.openId;
  if (!id) return;
  const data = await threadPage(id);
  if (id !== state.openId) return;
  state.conversations.set(id, data.conversation);
  for (const m of data.messages) mergeMessage(m);
  // Keep the older-pages cursor if older pages were already loaded.
  if (state.nextCursor === null || scrollToEnd) state.nextCursor = data.nextCursor;
  renderThread({ scrollToEnd });
  renderThreadHead();
  renderList();
}

export async function loadOlder() {
  if (!state.openId || !state.nextCursor) return;
  const scroller = $("messages-scroll");
  const fromBottom = scroller.scrollHeight - scroller.scrollTop;
  const data = await threadPage(state.openId, state.nextCursor);
  for (const m of data.messages) mergeMessage(m);
  state.nextCursor = data.nextCursor;
  renderThread();
  scroller.scrollTop = scroller.scrollHeight - fromBottom; // stay where the reader was
}

/** The id of the candidate's latest loaded message in the open conversation, or null. */
function latestInboundId() {
  /** @type {Message | null} */
  let latest = null;
  for (const m of state.messages.values()) {
    if (m.direction === "inbound" && m.type !== "reaction" && (!latest || m.timestamp > latest.timestamp)) latest = m;
  }
  return latest?.id ?? null;
}

/**
 * Reading: unread count to zero, and the candidate's latest message marked read at WhatsApp (blue
 * ticks; the server asks Meta once per message). Asked when the conversation opens, becomes visible,
 * gets a new candidate message while open, or after the recruiter replies.
 */
export async function markRead() {
  const c = openConversationRecord();
  if (!c || document.visibilityState !== "visible") return;
  const latest = latestInboundId();
  if (c.unreadCount > 0 || (latest && state.readMarked.get(c.id) !== latest)) {
    await markConversationRead(c.id).catch(() => undefined);
    if (latest) state.readMarked.set(c.id, latest);
  }
  c.unreadCount = 0;
  renderList();
}

export function renderThreadHead() {
  const c = openConversationRecord();
  if (!c) return;
  $("thread-name").textContent = convName(c);
  $("thread-name").dir = "auto";
  $("thread-sub").textContent = [handleOf(c), c.candidatePhone ? null : "no phone number shared", c.jobTitle]
    .filter(Boolean)
    .join(" · ");
  const pill = $("thread-window");
  pill.dataset.expires = c.windowExpiresAt ?? "";
  pill.dataset.open = String(!!windowLeft(c.windowExpiresAt));
  pill.textContent = windowLeft(c.windowExpiresAt)
    ? `24-hour window: ${windowLeft(c.windowExpiresAt)} left`
    : c.lastInboundAt
      ? "24-hour window closed"
      : "No reply yet: template only";
  const badge = optOutBadge(state.optOuts.get(c.id) ?? { scope: null });
  const optOutPill = $("thread-opt-out");
  optOutPill.hidden = badge.hidden;
  optOutPill.textContent = badge.text;
  optOutPill.dataset.scope = badge.scope;
  const blocked = blockBadge(c);
  $("thread-blocked").hidden = blocked.hidden;
  $("thread-blocked").textContent = blocked.text;
  $("block-toggle").textContent = blocked.action;
  $("block-toggle").dataset.blocked = String(!blocked.hidden);
  $("demo-controls").hidden = !state.config.demo;
  renderComposer();
}

/** The messages of the open conversation, by day; reactions shown on the message they react to. */
export function renderThread({ scrollToEnd = false } = {}) {
  const scroller = $("messages-scroll");
  const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 60;
  const all = [...state.messages.values()].sort(
    (a, b) => a.timestamp.localeCompare(b.timestamp) || a.id.localeCompare(b.id),
  );
  // Reactions are shown on the message they react to (and as a line when that one is not loaded).
  /** @type {Map<string, Message>} */
  const byWamid = new Map();
  for (const m of all) if (m.wamid) byWamid.set(m.wamid, m);
  state.byWamid = byWamid;
  /** @type {Map<string, string>} */
  const reactionsOn = new Map();
  for (const m of all) {
    const r = reactionOf(m);
    if (r?.target && byWamid.has(r.target)) reactionsOn.set(r.target, r.emoji);
  }
  /** @type {HTMLElement[]} */
  const items = [];
  let day = "";
  for (const m of all) {
    const r = reactionOf(m);
    if (r?.target && byWamid.has(r.target)) {
      const who = m.direction === "outbound" ? "You" : "Candidate";
      items.push(
        el(
          "li",
          { class: "msg msg-system", "data-id": m.id, "data-type": "reaction" },
          textNode("span", r.emoji ? `${who} reacted ${r.emoji}` : `${who} removed a reaction`),
        ),
      );
      continue;
    }
    const d = new Date(m.timestamp).toDateString();
    if (d !== day) {
      day = d;
      items.push(
        el("li", {
          class: "day",
          "aria-hidden": "true",
          text: new Date(m.timestamp).toLocaleDateString([], { weekday: "short", day: "numeric", month: "long" }),
        }),
      );
    }
    items.push(renderMessage(m, m.wamid ? reactionsOn.get(m.wamid) : undefined, actions));
  }
  $("messages").replaceChildren(...items);
  $("load-older").hidden = !state.nextCursor;
  if (scrollToEnd || atBottom) scroller.scrollTop = scroller.scrollHeight;
}
