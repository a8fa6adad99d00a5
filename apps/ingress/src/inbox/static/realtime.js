// @ts-check
// Live updates: Socket.io over websocket (the realtime server's own client script), reconnecting,
// with a catch-up read on every connect so that nothing missed while offline is lost. Each event
// patches what the page holds, by the readings of inbox-live.js (typed by @linkojob/events).

import { $, el } from "./dom.js";
import { loadConversations, upsertConversation } from "./conversation-list.js";
import {
  clientBanner,
  conversationAfterBlock,
  conversationAfterUpdate,
  listen,
  messageAfterStatus,
} from "./inbox-live.js";
import { openAwaited } from "./new-candidate.js";
import { applyOptOutEvent } from "./opt-outs.js";
import { refreshPreview } from "./send-plan.js";
import { setLive, signOut } from "./session.js";
import { mergeMessage, state, STATUS_RANK } from "./state.js";
import { loadThread, markRead, renderThread } from "./thread.js";

/**
 * The part of the Socket.io client the page uses (the realtime server serves the client script).
 * @typedef {{ on(event: string, listener: (...args: any[]) => void): unknown, close(): void }} Socket
 * @typedef {(url: string, options: object) => Socket} SocketIo
 */

/** @param {string} src */
function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = el("script", { src });
    s.onload = resolve;
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(s);
  });
}

export async function startRealtime() {
  const url = state.config.realtimeUrl;
  if (!url) return setLive("off", "live updates off (no realtime URL configured)");
  setLive("connecting", "connecting…");
  const global = /** @type {{ io?: SocketIo }} */ (/** @type {unknown} */ (window));
  try {
    if (!global.io) await loadScript(`${url}/socket.io/socket.io.min.js`);
  } catch {
    return setLive("off", "realtime server unreachable");
  }
  const io = /** @type {SocketIo} */ (global.io);
  const socket = io(url, {
    transports: ["websocket"],
    auth: { token: state.token, ...(state.clientId ? { clientId: state.clientId } : {}) },
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
  });
  state.socket = socket;
  // Rooms are joined once auth:session arrives: catch up from then on, so nothing falls in between.
  socket.on("auth:session", () => {
    setLive("live", "live");
    void catchUp();
  });
  socket.on("disconnect", (/** @type {string} */ reason) =>
    setLive("connecting", reason === "io client disconnect" ? "offline" : "reconnecting…"),
  );
  socket.on("connect_error", (/** @type {{ data?: { code?: unknown } } | undefined} */ err) => {
    const code = err?.data?.code;
    if (typeof code === "string" && code.startsWith("AUTH")) {
      socket.close();
      return signOut("The realtime server refused the token: sign in again.");
    }
    setLive("connecting", "reconnecting…");
  });
  socket.on("auth:expired", () => signOut("Your session expired: sign in again."));

  listen(socket, liveHandlers());
}

/**
 * What each dashboard event changes on the page, typed by the contract of @linkojob/events (see
 * inbox-live.js).
 * @returns {Partial<import("@linkojob/events").ServerToClientEvents>}
 */
function liveHandlers() {
  return {
    "conversation:updated": (event) => {
      if (state.awaitingPhone) void openAwaited();
      const conversation = conversationAfterUpdate(state.conversations.get(event.conversationId), event);
      if (!conversation) return void loadConversations().catch(() => undefined); // not in the list yet
      upsertConversation(conversation);
      // The recruiter is looking at this thread: what just arrived is read.
      if (conversation.id === state.openId && conversation.unreadCount > 0) void markRead();
    },
    "message:received": ({ conversationId, message }) => {
      if (conversationId !== state.openId) return;
      mergeMessage(message);
      renderThread();
    },
    "message:sent": ({ conversationId, message }) => {
      if (conversationId !== state.openId) return;
      mergeMessage(message);
      renderThread();
    },
    // messageId is our id (the send API's answer), wamid WhatsApp's: the page keys messages by ours.
    "message:status": (event) => {
      if (event.conversationId !== state.openId) return;
      const m = state.messages.get(event.messageId);
      if (!m) return void loadThread(); // not loaded yet (e.g. a fallback the worker created)
      const next = messageAfterStatus(m, event, STATUS_RANK);
      if (!next) return;
      state.messages.set(event.messageId, next);
      renderThread();
    },
    "message:media": ({ conversationId, messageId }) => {
      state.mediaUrls.delete(messageId);
      if (conversationId === state.openId) renderThread();
    },
    // The candidate was blocked or unblocked (from this page or another): the pill and button follow.
    "conversation:blocked": (event) => {
      const known = state.conversations.get(event.conversationId);
      if (known) upsertConversation(conversationAfterBlock(known, event));
    },
    // A candidate stopped or resumed: the conversation's badge says so at once.
    "candidate:opt_out": applyOptOutEvent,
    "client:status": (event) => {
      const banner = $("client-banner");
      const { hidden, text } = clientBanner(event);
      banner.hidden = hidden;
      banner.textContent = text;
    },
  };
}

/** After every (re)connect: the list and the open thread read again. */
async function catchUp() {
  try {
    await loadConversations();
    if (state.openId) {
      await loadThread();
      await refreshPreview();
      await markRead();
    }
  } catch {
    /* the next reconnect tries again */
  }
}
