// @ts-check
// The conversation list of the sidebar: newest activity first, unread badges, the window countdown.

import { listConversations } from "./api.js";
import { $, el, textNode } from "./dom.js";
import { convName, shortWhen, windowLeft, windowText } from "./format.js";
import { refreshPreview } from "./send-plan.js";
import { state } from "./state.js";
import { openConversation, renderThreadHead } from "./thread.js";

/** @typedef {import("./types.js").Conversation} Conversation */

function sortedConversations() {
  return [...state.conversations.values()].sort((a, b) =>
    (b.lastMessageAt ?? b.createdAt ?? "").localeCompare(a.lastMessageAt ?? a.createdAt ?? ""),
  );
}

export function renderList() {
  const list = $("conversations");
  list.replaceChildren(
    ...sortedConversations().map((c) => {
      const unread = c.id === state.openId ? 0 : c.unreadCount;
      const preview = (c.lastMessageFrom === "recruiter" ? "You: " : "") + (c.lastMessagePreview ?? "");
      return el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            class: "conv",
            "data-id": c.id,
            "aria-current": c.id === state.openId ? "true" : "false",
            onclick: () => void openConversation(c.id),
          },
          textNode("span", convName(c), "conv-name"),
          el("span", { class: "conv-time", text: shortWhen(c.lastMessageAt) }),
          textNode("span", preview, "conv-preview"),
          el(
            "span",
            { class: "conv-meta" },
            el("span", {
              class: "window",
              "data-expires": c.windowExpiresAt ?? "",
              "data-open": String(!!windowLeft(c.windowExpiresAt)),
              text: windowText(c.windowExpiresAt),
            }),
            unread > 0 ? el("span", { class: "badge", "aria-label": `${unread} unread`, text: String(unread) }) : null,
          ),
        ),
      );
    }),
  );
  $("conv-empty").hidden = state.conversations.size > 0;
  $("conv-total").textContent = state.conversations.size ? `(${state.conversations.size})` : "";
}

/** Reads the list again (the truth after a reconnect or an unknown conversation's event). */
export async function loadConversations() {
  const data = await listConversations();
  state.conversations = new Map(data.conversations.map((c) => [c.id, c]));
  renderList();
  if (state.openId && state.conversations.has(state.openId)) renderThreadHead();
}

/**
 * A conversation changed: the list and, when it is the open one, its header and send plan follow.
 * @param {Conversation} c
 */
export function upsertConversation(c) {
  state.conversations.set(c.id, c);
  renderList();
  if (c.id === state.openId) {
    renderThreadHead();
    void refreshPreview();
  }
}
