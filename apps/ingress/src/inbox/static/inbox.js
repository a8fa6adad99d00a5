// The recruiter inbox: plain ES module over the public API (REST with a Bearer JWT, Socket.io events).
// Meant to be read and copied by the platform's front-end developers: no framework, no build step.
//
// Data flow: REST gives the truth (list, thread pages); Socket.io events patch it live; on every
// (re)connect the list and the open thread are read again, so nothing missed while offline is lost.

import {
  blockBadge,
  clientBanner,
  conversationAfterBlock,
  conversationAfterUpdate,
  listen,
  messageAfterStatus,
  optOutBadge,
} from "./inbox-live.js";

const TOKEN_KEY = "linkojob.inbox.token";
const CLIENT_KEY = "linkojob.inbox.clientId";
const STATUS_RANK = {
  queued: 0,
  held: 0,
  sending: 1,
  sent: 2,
  delivered: 3,
  read: 4,
  played: 4,
  failed: 5,
  suppressed: 5,
};
const $ = (id) => document.getElementById(id);

const state = {
  token: null,
  clientId: null,
  config: { realtimeUrl: null, demo: false, prices: {}, currency: "MAD" },
  conversations: new Map(), // id → ConversationJson
  openId: null,
  messages: new Map(), // id → MessageJson of the open conversation
  nextCursor: null,
  preview: null, // send preview of the open conversation
  socket: null,
  mediaUrls: new Map(), // messageId → object URL
  templateBodies: new Map(), // template name → BODY text, learnt from the send preview
  byWamid: new Map(), // wamid → MessageJson of the open conversation (replies and reactions point at wamids)
  replyTo: null, // the message the composer replies to (MessageJson), or null
  pickerFor: null, // id of the message whose reaction picker is open (kept across live re-renders)
  readMarked: new Map(), // conversation id → id of the latest candidate message already marked read
  typingAt: new Map(), // conversation id → when "typing…" was last sent (ms)
  awaitingPhone: null, // a new candidate's number as typed: its conversation opens once the worker stores it
  optOuts: new Map(), // conversation id → { scope, source, at } of the candidate's opt-out (scope null: none)
};

/**
 * The message as the send API's answer knows it, shown `queued` until the worker stores it and its
 * `message:sent` / `message:status` events (keyed by the same id) replace it.
 */
const pendingMessage = (answer, body) => ({
  id: answer.messageId,
  direction: "outbound",
  type: answer.kind,
  kind: answer.kind,
  status: answer.status,
  cost: answer.cost,
  text: answer.kind === "text" ? (body.message ?? null) : null,
  content: answer.kind === "text" ? { body: body.message } : {},
  request: body,
  timestamp: new Date().toISOString(),
});

/** Who a send goes to: the phone when known, else the WhatsApp user id. */
const candidateOf = (c) =>
  c.candidatePhone
    ? { candidatePhone: c.candidatePhone }
    : c.candidateUserId
      ? { candidateUserId: c.candidateUserId }
      : { candidatePhone: c.candidateKey };
const REACTIONS = ["👍", "❤️", "😂", "😮", "🙏"];

/** "Bonjour {{1}} …" with its variables: positional ({{1}}) or named ({{candidate_name}}, in order). */
function fillTemplate(body, vars) {
  let next = 0;
  return body.replace(
    /\{\{\s*([^}]+?)\s*\}\}/g,
    (whole, key) => (/^\d+$/.test(key) ? vars[Number(key) - 1] : vars[next++]) ?? whole,
  );
}

// ---------------------------------------------------------------------------------------------
// Token: from the URL fragment (#token=…, never sent to a server) or the login box; kept per tab.
// ---------------------------------------------------------------------------------------------
function readToken() {
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("token")) {
    sessionStorage.setItem(TOKEN_KEY, hash.get("token"));
    if (hash.get("clientId")) sessionStorage.setItem(CLIENT_KEY, hash.get("clientId"));
    // Out of the address bar, history and bookmarks.
    history.replaceState(null, "", location.pathname + location.search);
  }
  state.token = sessionStorage.getItem(TOKEN_KEY);
  state.clientId = sessionStorage.getItem(CLIENT_KEY);
}

function signOut(message = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(CLIENT_KEY);
  state.token = null;
  state.socket?.close();
  state.socket = null;
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  setLive("off", "signed out");
}

// ---------------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

async function api(path, { method = "GET", body, query = {} } = {}) {
  const url = new URL(path, location.origin);
  if (state.clientId) url.searchParams.set("clientId", state.clientId);
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${state.token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.status === 401) {
    signOut("Your session has expired or the token is invalid: sign in again.");
    throw new ApiError(401, data);
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
};
/** Text that may be Arabic (or any script): the browser picks the direction per node. */
const textNode = (tag, text, cls) => el(tag, { class: cls, dir: "auto", text: text ?? "" });

const money = (n) => `${Number(n).toFixed(2)} ${state.config.currency}`;
const phoneLabel = (p) => (p && /^\d+$/.test(p) ? `+${p}` : (p ?? ""));
/** How WhatsApp names the candidate: the phone, else (a username-only candidate) @username and user id. */
const handleOf = (c) =>
  c.candidatePhone
    ? phoneLabel(c.candidatePhone)
    : [c.candidateUsername ? `@${c.candidateUsername.replace(/^@/, "")}` : null, c.candidateUserId]
        .filter(Boolean)
        .join(" · ") || phoneLabel(c.candidateKey);
const convName = (c) =>
  c.candidateName ||
  (c.candidatePhone
    ? phoneLabel(c.candidatePhone)
    : c.candidateUsername
      ? `@${c.candidateUsername.replace(/^@/, "")}`
      : handleOf(c));
const timeOf = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
function shortWhen(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toDateString() === new Date().toDateString()
    ? timeOf(iso)
    : d.toLocaleDateString([], { day: "numeric", month: "short" });
}
/** Time left in the 24-hour window, or null when closed. */
function windowLeft(expiresIso, now = Date.now()) {
  if (!expiresIso) return null;
  const ms = new Date(expiresIso).getTime() - now;
  if (ms <= 0) return null;
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}m ${String(s % 60).padStart(2, "0")}s`;
}
const windowText = (expiresIso) => {
  const left = windowLeft(expiresIso);
  return left ? `window ${left}` : "window closed";
};

// ---------------------------------------------------------------------------------------------
// Conversation list
// ---------------------------------------------------------------------------------------------
function sortedConversations() {
  return [...state.conversations.values()].sort((a, b) =>
    (b.lastMessageAt ?? b.createdAt ?? "").localeCompare(a.lastMessageAt ?? a.createdAt ?? ""),
  );
}

function renderList() {
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
            onclick: () => openConversation(c.id),
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

async function loadConversations() {
  const data = await api("/api/messages/conversations", { query: { limit: 100 } });
  state.conversations = new Map(data.conversations.map((c) => [c.id, c]));
  renderList();
  if (state.openId && state.conversations.has(state.openId)) renderThreadHead();
}

function upsertConversation(c) {
  state.conversations.set(c.id, c);
  renderList();
  if (c.id === state.openId) {
    renderThreadHead();
    void refreshPreview();
  }
}

// ---------------------------------------------------------------------------------------------
// Thread
// ---------------------------------------------------------------------------------------------
async function openConversation(id) {
  if (state.openId !== id) {
    state.openId = id;
    state.messages = new Map();
    state.nextCursor = null;
    state.preview = null;
    $("messages").replaceChildren();
    $("composer-text").value = "";
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

/** The candidate's opt-out, from the register (GET /api/clients/:clientId/opt-outs?candidate…). */
async function loadOptOut(id) {
  const c = state.conversations.get(id);
  if (!c) return;
  const query = c.candidatePhone ? { candidatePhone: c.candidatePhone } : { candidateUserId: c.candidateUserId };
  const data = await api(`/api/clients/${c.clientId}/opt-outs`, { query }).catch(() => null);
  if (!data) return;
  const entry = data.optOuts.find((o) => o.scope === data.scope);
  const scopeState = entry && data.scope ? entry[data.scope] : null;
  state.optOuts.set(id, { scope: data.scope, source: scopeState?.source ?? null, at: scopeState?.at ?? null });
  if (id === state.openId) renderThreadHead();
}

/**
 * Blocks or unblocks the open conversation's candidate (POST / DELETE /api/clients/:clientId/blocks):
 * Meta's Block Users API, which blocks only candidates who wrote in the last 24 hours; its refusal
 * is shown as the API words it.
 */
async function toggleBlock() {
  const c = state.conversations.get(state.openId);
  if (!c) return;
  const button = $("block-toggle");
  $("block-error").textContent = "";
  button.disabled = true;
  try {
    const answer = await api(`/api/clients/${c.clientId}/blocks`, {
      method: c.blockedAt ? "DELETE" : "POST",
      body: { conversationId: c.id },
    });
    upsertConversation({ ...c, ...answer.conversation });
  } catch (err) {
    $("block-error").textContent = err.message;
  } finally {
    button.disabled = false;
  }
}

async function loadThread({ scrollToEnd = false } = {}) {
  const id = state.openId;
  if (!id) return;
  const data = await api(`/api/messages/conversation/${id}`, { query: { limit: 50 } });
  if (id !== state.openId) return;
  state.conversations.set(id, data.conversation);
  for (const m of data.messages) mergeMessage(m);
  // Keep the older-pages cursor if older pages were already loaded.
  if (state.nextCursor === null || scrollToEnd) state.nextCursor = data.nextCursor;
  renderThread({ scrollToEnd });
  renderThreadHead();
  renderList();
}

async function loadOlder() {
  if (!state.openId || !state.nextCursor) return;
  const scroller = $("messages-scroll");
  const fromBottom = scroller.scrollHeight - scroller.scrollTop;
  const data = await api(`/api/messages/conversation/${state.openId}`, {
    query: { limit: 50, cursor: state.nextCursor },
  });
  for (const m of data.messages) mergeMessage(m);
  state.nextCursor = data.nextCursor;
  renderThread();
  scroller.scrollTop = scroller.scrollHeight - fromBottom; // stay where the reader was
}

/** Never lets a late or replayed copy move a message's status backwards. */
function mergeMessage(m) {
  const old = state.messages.get(m.id);
  if (old && (STATUS_RANK[old.status] ?? 0) > (STATUS_RANK[m.status] ?? 0))
    m = { ...m, status: old.status, error: old.error ?? m.error };
  state.messages.set(m.id, m);
}

/** The id of the candidate's latest loaded message in the open conversation, or null. */
function latestInboundId() {
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
async function markRead() {
  const c = state.conversations.get(state.openId);
  if (!c || document.visibilityState !== "visible") return;
  const latest = latestInboundId();
  if (c.unreadCount > 0 || (latest && state.readMarked.get(c.id) !== latest)) {
    await api(`/api/messages/conversation/${c.id}/read`, { method: "PATCH" }).catch(() => undefined);
    if (latest) state.readMarked.set(c.id, latest);
  }
  c.unreadCount = 0;
  renderList();
}

function renderThreadHead() {
  const c = state.conversations.get(state.openId);
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

function renderThread({ scrollToEnd = false } = {}) {
  const scroller = $("messages-scroll");
  const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 60;
  const all = [...state.messages.values()].sort(
    (a, b) => a.timestamp.localeCompare(b.timestamp) || a.id.localeCompare(b.id),
  );
  // Reactions are shown on the message they react to (and as a line when that one is not loaded).
  const byWamid = new Map(all.filter((m) => m.wamid).map((m) => [m.wamid, m]));
  state.byWamid = byWamid;
  // A candidate's reaction names its message in content; ours in the send request.
  const reactionOf = (m) =>
    m.type === "reaction"
      ? {
          target: m.content?.message_id ?? m.request?.reaction?.wamid,
          emoji: m.content?.emoji ?? m.request?.reaction?.emoji ?? "",
        }
      : null;
  const reactionsOn = new Map();
  for (const m of all) {
    const r = reactionOf(m);
    if (r?.target && byWamid.has(r.target)) reactionsOn.set(r.target, r.emoji);
  }
  const items = [];
  let day = "";
  for (const m of all) {
    const r = reactionOf(m);
    if (r && byWamid.has(r.target)) {
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
    items.push(renderMessage(m, reactionsOn.get(m.wamid)));
  }
  $("messages").replaceChildren(...items);
  $("load-older").hidden = !state.nextCursor;
  if (scrollToEnd || atBottom) scroller.scrollTop = scroller.scrollHeight;
}

function ticks(m) {
  const s = m.status;
  const map = {
    queued: ["🕓", "queued"],
    sending: ["🕓", "sending"],
    held: ["⏸", "held until WhatsApp is reconnected"],
    sent: ["✓", "sent"],
    delivered: ["✓✓", "delivered"],
    read: ["✓✓", "read"],
    played: ["✓✓", "played"],
    failed: ["⚠", "failed"],
    suppressed: ["⛔", "not sent: the candidate opted out"],
  };
  const [glyph, label] = map[s] ?? ["", s];
  return el("span", { class: "ticks", "data-status": s, title: label, "aria-label": label, text: glyph });
}

function errorText(m) {
  const e = m.error ?? {};
  const parts = [
    e.title,
    e.message && e.message !== e.title ? e.message : null,
    e.details ?? e.error_data?.details,
  ].filter(Boolean);
  const reason = parts.join(" — ") || m.reason || "no reason given";
  const what = m.status === "held" ? "Held" : m.status === "suppressed" ? "Not sent" : "Failed";
  return `${what}: ${reason}${e.code ? ` (code ${e.code})` : ""}`;
}

function renderMessage(m, reaction) {
  const outbound = m.direction === "outbound";
  const body = [];
  if (outbound && (m.kind === "template" || m.type === "template")) {
    const t = m.template;
    body.push(
      el("div", {
        class: "msg-kind",
        text: `Template ${t?.name ?? m.request?.templateName ?? "application_received"}${m.cost !== undefined ? ` · ${money(m.cost)}` : ""}`,
      }),
    );
    const vars = t?.vars ?? m.request?.templateVars ?? [m.request?.candidateName, m.request?.jobTitle].filter(Boolean);
    const known = state.templateBodies.get(t?.name ?? m.request?.templateName ?? "application_received");
    const filled = known ? fillTemplate(known, vars) : null;
    const header = m.request?.templateHeader;
    if (header && header.type !== "text")
      body.push(textNode("div", `${header.type} header · ${header.link ?? `media ${header.id}`}`, "msg-header"));
    body.push(
      textNode("p", m.text ?? filled ?? (vars.length ? `Variables: ${vars.join(" · ")}` : "(template)"), "msg-text"),
    );
  } else {
    body.push(...renderContent(m));
  }
  const quoted = repliedTo(m);
  if (quoted) body.unshift(textNode("div", `↪ reply to: ${quoted}`, "msg-reply-to"));
  const foot = el(
    "div",
    { class: "msg-foot" },
    m.source === "app_echo" ? el("span", { class: "msg-source", text: "from the WhatsApp Business app" }) : null,
    el("time", { datetime: m.timestamp, text: timeOf(m.timestamp) }),
    outbound ? ticks(m) : null,
  );
  return el(
    "li",
    {
      class: `msg${m.type === "system" ? " msg-system" : ""}`,
      "data-id": m.id,
      "data-direction": m.direction,
      "data-type": m.type,
      "data-kind": m.kind ?? "",
      "data-status": m.status,
      "data-has-reaction": reaction ? "true" : "false",
    },
    ...body,
    (m.status === "failed" || m.status === "held" || m.status === "suppressed") && outbound
      ? textNode("p", errorText(m), "msg-error")
      : null,
    foot,
    messageActions(m),
    el("span", {
      class: "msg-reactions",
      "aria-label": reaction ? `reaction ${reaction}` : null,
      text: reaction ?? "",
    }),
  );
}

/** A short text of a message, for "reply to" lines. */
function summaryOf(m) {
  const direct = m.request?.interactive?.body ?? m.text ?? m.content?.body ?? m.content?.caption;
  if (direct) return direct;
  // A template (a quick-reply button answers one): its body filled with the variables, else its name.
  const name = m.template?.name ?? m.request?.templateName;
  const known = name ? state.templateBodies.get(name) : null;
  if (known) return fillTemplate(known, m.template?.vars ?? m.request?.templateVars ?? []);
  return name ? `template ${name}` : `[${m.type}]`;
}

/** What a message replies to: the candidate's context.id, or the message our send named. */
function repliedTo(m) {
  const wamid = m.context?.id ?? m.request?.replyToWamid;
  if (!wamid) return null;
  const q = state.byWamid.get(wamid);
  return q ? summaryOf(q) : "an earlier message";
}

/** Reply and react buttons of a message WhatsApp knows (it has a wamid). */
function messageActions(m) {
  if (!m.wamid || m.type === "reaction" || m.type === "system") return null;
  const open = state.pickerFor === m.id;
  const picker = el(
    "div",
    { class: "reaction-picker", role: "group", "aria-label": "Choose a reaction", hidden: !open },
    REACTIONS.map((e) =>
      el("button", {
        type: "button",
        class: "btn btn-small",
        "aria-label": `React ${e}`,
        text: e,
        onclick: () => void react(m, e),
      }),
    ),
    el("button", {
      type: "button",
      class: "btn btn-small",
      text: "Remove",
      "aria-label": "Remove my reaction",
      onclick: () => void react(m, ""),
    }),
  );
  const toggle = el("button", {
    type: "button",
    class: "btn btn-small",
    text: "React",
    "aria-expanded": String(open),
    "aria-label": "React to this message",
    onclick: () => {
      // Remembered in the state: a live update that re-renders the thread keeps the picker open.
      picker.hidden = !picker.hidden;
      state.pickerFor = picker.hidden ? null : m.id;
      toggle.setAttribute("aria-expanded", String(!picker.hidden));
    },
  });
  return el(
    "div",
    { class: "msg-actions-wrap" },
    el(
      "div",
      { class: "msg-actions" },
      el("button", {
        type: "button",
        class: "btn btn-small",
        text: "Reply",
        "aria-label": "Reply to this message",
        onclick: () => setReplyTo(m),
      }),
      m.direction === "inbound" ? toggle : null,
    ),
    m.direction === "inbound" ? picker : null,
  );
}

/** The composer replies to this message (null: to none). */
function setReplyTo(m) {
  state.replyTo = m;
  $("composer-reply").hidden = !m;
  $("composer-reply-text").textContent = m ? `↪ Replying to: ${summaryOf(m)}` : "";
  if (m) $("composer-text").focus();
}

async function react(m, emoji) {
  const c = state.conversations.get(state.openId);
  if (!c) return;
  state.pickerFor = null;
  $("composer-error").textContent = "";
  try {
    await api("/api/messages/send", {
      method: "POST",
      body: {
        ...candidateOf(c),
        reaction: { messageId: m.id, emoji },
        ...(state.clientId ? { clientId: state.clientId } : {}),
      },
    });
    await loadThread();
  } catch (err) {
    $("composer-error").textContent = `Reaction not sent: ${err.message}`;
  }
}

/** "typing…" for the candidate while the recruiter writes (the server limits it to once per 20 s). */
function sendTyping() {
  const c = state.conversations.get(state.openId);
  if (!c || composerPlan()?.kind !== "text" || !$("composer-text").value.trim()) return;
  if (Date.now() - (state.typingAt.get(c.id) ?? 0) < 20_000) return;
  state.typingAt.set(c.id, Date.now());
  void api(`/api/messages/conversation/${c.id}/typing`, { method: "POST" }).catch(() => undefined);
}

// Text badges rather than emoji: they render on machines without an emoji font.
const MEDIA_ICON = { image: "IMG", video: "VID", audio: "AUD", document: "DOC", sticker: "STK" };

/** A candidate's completed form (a WhatsApp Flow): each answer as a labelled row, lists joined. */
function renderFlowAnswers(flow) {
  const label = (key) => key.replace(/[_.]+/g, " ").replace(/^./, (ch) => ch.toUpperCase());
  const value = (v) =>
    Array.isArray(v) ? v.join(", ") : v !== null && typeof v === "object" ? JSON.stringify(v) : String(v ?? "");
  return [
    el("div", { class: "msg-kind", text: `Form answers${flow.screen ? ` · ${flow.screen}` : ""}` }),
    el(
      "dl",
      { class: "flow-answers", "aria-label": "Form answers" },
      Object.entries(flow.answers).flatMap(([k, v]) => [textNode("dt", label(k)), textNode("dd", value(v))]),
    ),
  ];
}

function renderContent(m) {
  const c = m.content ?? {};
  switch (m.type) {
    case "text":
      return [textNode("p", c.body ?? m.text, "msg-text")];
    case "image":
    case "sticker":
    case "video":
    case "audio":
    case "document":
      return [renderMedia(m, c), c.caption ? textNode("p", c.caption, "msg-text") : null];
    case "location": {
      const href = `https://www.openstreetmap.org/?mlat=${c.latitude}&mlon=${c.longitude}#map=16/${c.latitude}/${c.longitude}`;
      return [
        el("div", { class: "msg-kind", text: "Location" }),
        c.name ? textNode("p", c.name, "msg-text") : null,
        c.address ? textNode("p", c.address, "msg-text muted") : null,
        el("a", { href, target: "_blank", rel: "noopener noreferrer", text: `${c.latitude}, ${c.longitude}` }),
      ];
    }
    case "contacts":
      return [
        el("div", {
          class: "msg-kind",
          text: Array.isArray(c) && c[0]?.origin === "contact_request" ? "Shared their phone number" : "Contact card",
        }),
        el(
          "ul",
          { class: "card-list" },
          (Array.isArray(c) ? c : []).map((card) =>
            el(
              "li",
              {},
              textNode("strong", card?.name?.formatted_name ?? "contact"),
              " ",
              (card?.phones ?? []).map((p) => p.phone).join(", "),
            ),
          ),
        ),
      ];
    case "interactive": {
      if (m.direction === "outbound") {
        // Our reply buttons or list: the question and its choices.
        const i = m.request?.interactive ?? {};
        if (i.type === "request_contact_info")
          return [
            el("div", { class: "msg-kind", text: "Phone number request" }),
            textNode("p", i.body ?? m.text, "msg-text"),
          ];
        if (i.type === "flow")
          return [
            el("div", { class: "msg-kind", text: `Form · ${i.cta ?? ""}` }),
            textNode("p", i.body ?? m.text, "msg-text"),
          ];
        const choices =
          i.type === "list"
            ? (i.sections ?? []).flatMap((s) => (s.rows ?? []).map((r) => r.title))
            : (i.buttons ?? []).map((b) => b.title);
        return [
          el("div", { class: "msg-kind", text: i.type === "list" ? `List · ${i.button ?? ""}` : "Buttons" }),
          textNode("p", i.body ?? m.text, "msg-text"),
          el(
            "ul",
            { class: "msg-choices", "aria-label": "Choices offered" },
            choices.map((t) => textNode("li", t)),
          ),
        ];
      }
      if (c.flow?.answers && typeof c.flow.answers === "object") return renderFlowAnswers(c.flow);
      const title = c.button_reply?.title ?? c.list_reply?.title ?? c.nfm_reply?.body ?? "form reply";
      const kind = c.nfm_reply ? "Form reply" : c.list_reply ? "List reply" : "Button reply";
      return [el("div", { class: "msg-kind", text: kind }), textNode("p", title, "msg-text")];
    }
    case "button":
      return [
        el("div", { class: "msg-kind", text: "Quick reply to a template" }),
        textNode("p", c.text ?? c.payload, "msg-text"),
      ];
    case "reaction":
      return [textNode("p", c.emoji ? `Reacted ${c.emoji} to a message` : "Removed a reaction", "msg-text")];
    case "order": {
      const items = c.product_items ?? [];
      return [
        el("div", { class: "msg-kind", text: `Order · ${items.length} item(s)` }),
        c.text ? textNode("p", c.text, "msg-text") : null,
        el(
          "ul",
          { class: "card-list" },
          items.map((i) =>
            el("li", { text: `${i.quantity} × ${i.product_retailer_id} — ${i.item_price} ${i.currency}` }),
          ),
        ),
      ];
    }
    case "system":
      return [textNode("p", c.body ?? m.text ?? "System notice", "msg-text")];
    case "request_welcome":
      return [textNode("p", "The candidate opened the chat", "msg-text muted")];
    case "media": {
      // An image or document the recruiter sent (outbound kind "media"): what and its caption.
      const md = m.request?.media ?? {};
      const what = md.type === "document" ? `Document${md.filename ? ` · ${md.filename}` : ""}` : "Image";
      return [el("div", { class: "msg-kind", text: what }), ...(m.text ? [textNode("p", m.text, "msg-text")] : [])];
    }
    default: {
      const why =
        Array.isArray(m.errors) && m.errors[0]
          ? `${m.errors[0].title ?? ""} (${m.errors[0].code ?? ""})`
          : (m.originalType ?? m.type);
      return [
        el("div", { class: "msg-kind", text: "Unsupported message" }),
        textNode("p", `WhatsApp could not show this message: ${why}`, "msg-text muted"),
      ];
    }
  }
}

/** Media through the authenticated media endpoint (fetched with the Bearer header, shown as a blob). */
function renderMedia(m, c) {
  const kind = m.type;
  const name = kind === "document" ? (c.filename ?? "document") : kind === "audio" && c.voice ? "voice message" : kind;
  const box = el(
    "div",
    { class: "media", "data-media": m.id },
    el("span", {
      class: "media-icon",
      "aria-hidden": "true",
      text: (kind === "document" && /pdf/.test(c.mime_type ?? "") ? "PDF" : MEDIA_ICON[kind]) ?? "FILE",
    }),
  );
  const info = el(
    "div",
    {},
    textNode("div", name, "media-name"),
    el("div", { class: "media-note", text: c.mime_type ?? "" }),
  );
  box.append(info);
  const cached = state.mediaUrls.get(m.id);
  if ((kind === "image" || kind === "sticker") && cached) {
    box.replaceChildren(el("img", { src: cached, alt: c.caption ?? `${kind} from the candidate` }));
    return box;
  }
  const note = info.lastChild;
  const open = el("button", {
    type: "button",
    class: "link-btn",
    text: kind === "image" || kind === "sticker" ? "Show" : kind === "document" ? "Download" : "Play",
  });
  open.addEventListener("click", async () => {
    note.textContent = "loading…";
    try {
      const url = await mediaUrl(m.id);
      if (kind === "image" || kind === "sticker")
        box.replaceChildren(el("img", { src: url, alt: c.caption ?? `${kind} from the candidate` }));
      else if (kind === "audio") box.append(el("audio", { src: url, controls: true }));
      else if (kind === "video") box.append(el("video", { src: url, controls: true, width: "280" }));
      else {
        const a = el("a", { href: url, download: c.filename ?? "document" });
        document.body.append(a);
        a.click();
        a.remove();
      }
      note.textContent = c.mime_type ?? "";
    } catch (err) {
      note.textContent =
        err.status === 404
          ? "not available yet (the file is still being fetched, or failed)"
          : `could not load: ${err.message}`;
    }
  });
  info.append(open);
  return box;
}

const BLOB_TYPES = new Set([
  "image/jpeg",
  "image/png",
  "image/webp",
  "audio/aac",
  "audio/amr",
  "audio/mpeg",
  "audio/mp4",
  "audio/ogg",
  "video/mp4",
  "application/pdf",
]);
/** @param {string | null} contentType */
function blobType(contentType) {
  const base = (contentType ?? "").split(";")[0].trim().toLowerCase();
  return BLOB_TYPES.has(base) ? base : "application/octet-stream";
}

async function mediaUrl(messageId) {
  if (state.mediaUrls.has(messageId)) return state.mediaUrls.get(messageId);
  const res = await fetch(`/api/media/${messageId}`, { headers: { authorization: `Bearer ${state.token}` } });
  if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
  // The blob carries an allow-listed type only (as the server serves it): never one a browser would run.
  const url = URL.createObjectURL(
    new Blob([await res.arrayBuffer()], { type: blobType(res.headers.get("content-type")) }),
  );
  state.mediaUrls.set(messageId, url);
  return url;
}

// ---------------------------------------------------------------------------------------------
// Composer: says before sending whether it goes as free text or as a template, and the cost.
// ---------------------------------------------------------------------------------------------
async function refreshPreview() {
  const c = state.conversations.get(state.openId);
  if (!c) return;
  try {
    const p = await api("/inbox/api/send-preview", {
      query: { ...candidateOf(c), candidateName: knownName(c), jobTitle: c.jobTitle },
    });
    const learnt = p.template.body && state.templateBodies.get(p.template.name) !== p.template.body;
    if (learnt) state.templateBodies.set(p.template.name, p.template.body);
    if (c.id === state.openId) {
      state.preview = p;
      if (learnt) renderThread(); // template messages can now show their text
    }
  } catch {
    state.preview = null;
  }
  renderComposer();
}

/** The candidate's name: their WhatsApp profile name, else the one the recruiter gave at first contact. */
function knownName(c) {
  return (
    c.candidateName ??
    [...state.messages.values()].find((m) => m.request?.candidateName)?.request.candidateName ??
    undefined
  );
}

/**
 * What a send from the composer would be, as the send preview API says (the server's planSend: the
 * same decision and price as the send API and the worker). The page does not decide it again.
 */
function composerPlan() {
  const c = state.conversations.get(state.openId);
  const p = state.preview;
  if (!c) return null;
  if (!p) return { kind: "template", cost: null, name: "application_received" }; // until the preview answers
  // The candidate opted out: what the send API would refuse (409 CANDIDATE_OPTED_OUT) is not offered.
  const optedOut = p.optOut?.[p.kind === "text" ? "text" : "template"];
  if (optedOut) return { kind: "refused", optedOut: true, reason: optedOut };
  if (p.kind === "text") return { kind: "text", cost: p.text.cost, windowExpiresAt: p.windowExpiresAt };
  // A media header (image, video, document) is the recruiter's to give: the composer asks for its link.
  const header = p.template.header?.media ?? null;
  if (!p.template.usable && !(header && p.template.header.usableWithHeader))
    return { kind: "refused", reason: p.template.problem };
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
function refreshPreviewIfWindowClosed(plan) {
  if (plan.kind !== "text" || windowLeft(plan.windowExpiresAt) || Date.now() - previewAskedAt < 5_000) return;
  previewAskedAt = Date.now();
  void refreshPreview();
}

function renderComposer() {
  const plan = composerPlan();
  const planEl = $("composer-plan");
  const text = $("composer-text");
  const send = $("composer-send");
  if (!plan) return;
  refreshPreviewIfWindowClosed(plan);
  planEl.dataset.kind = plan.kind;
  const c = state.conversations.get(state.openId);
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

/**
 * Sends an interactive message from the composer's extras (a form, a phone-number request) through
 * the send API, and shows it queued until its progress arrives live.
 */
async function sendInteractive(interactive, button) {
  const c = state.conversations.get(state.openId);
  if (!c) return false;
  $("extras-error").textContent = "";
  button.disabled = true;
  const body = { ...candidateOf(c), interactive };
  try {
    const answer = await api("/api/messages/send", {
      method: "POST",
      body: { ...body, ...(state.clientId ? { clientId: state.clientId } : {}) },
    });
    mergeMessage(pendingMessage(answer, body));
    await loadThread({ scrollToEnd: true });
    return true;
  } catch (err) {
    $("extras-error").textContent = `Not sent: ${err.message}`;
    return false;
  } finally {
    button.disabled = false;
  }
}

/** "Send form": a published WhatsApp Flow (by Meta id, digits, or by name) opened at its first screen. */
async function sendForm() {
  const flow = $("form-flow").value.trim();
  const screen = $("form-screen").value.trim();
  if (!flow || !screen)
    return void ($("extras-error").textContent = "Give the flow (id or name) and its first screen.");
  const sent = await sendInteractive(
    {
      type: "flow",
      body: $("form-body").value.trim() || "Merci de compléter ce formulaire.",
      cta: $("form-cta").value.trim() || "Remplir",
      ...(/^\d+$/.test(flow) ? { flowId: flow } : { flowName: flow }),
      action: "navigate",
      screen,
    },
    $("form-send"),
  );
  if (sent) $("send-form").open = false;
}

/** "Ask for phone number": Meta's contact-information request, for a candidate known by username only. */
function askPhone() {
  void sendInteractive(
    {
      type: "request_contact_info",
      body: "Pourriez-vous partager votre numéro de téléphone pour la suite de votre candidature ?",
    },
    $("ask-phone"),
  );
}

const HEADER_WORD = { image: "image", video: "video", document: "document" };

/** The link field of a template's media header: shown (and required) only when the template has one. */
function renderHeaderField(plan) {
  const box = $("composer-header");
  const input = $("composer-header-link");
  const kind = plan.kind === "template" ? plan.header : null;
  box.hidden = !kind;
  input.disabled = !kind;
  input.required = !!kind;
  if (kind) $("composer-header-label").textContent = `Header ${HEADER_WORD[kind] ?? kind} link (https)`;
  else input.removeAttribute("aria-invalid");
}

/** The send's templateHeader from the link field, or an error message. */
function headerFromField(kind) {
  const input = $("composer-header-link");
  const link = input.value.trim();
  if (!URL.canParse(link) || new URL(link).protocol !== "https:") {
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return { error: `The template has a${kind === "image" ? "n" : ""} ${kind} header: give its https link.` };
  }
  input.removeAttribute("aria-invalid");
  return { header: { type: kind, link } };
}

async function sendFromComposer(event) {
  event.preventDefault();
  const c = state.conversations.get(state.openId);
  const plan = composerPlan();
  if (!c || !plan || plan.kind === "refused") return;
  const message = $("composer-text").value.trim();
  if (plan.kind === "text" && !message) return void ($("composer-error").textContent = "Write a message first.");
  const body = { ...candidateOf(c) };
  if (plan.kind === "template" && plan.header) {
    const got = headerFromField(plan.header);
    if (got.error) return void ($("composer-error").textContent = got.error);
    body.templateHeader = got.header;
  }
  if (plan.kind === "text") body.message = message;
  if (plan.kind === "text" && state.replyTo) body.replyTo = state.replyTo.id;
  else {
    const name = knownName(c);
    if (name) body.candidateName = name;
    if (c.jobTitle) body.jobTitle = c.jobTitle;
  }
  $("composer-send").disabled = true;
  $("composer-error").textContent = "";
  try {
    const answer = await api("/api/messages/send", {
      method: "POST",
      body: { ...body, ...(state.clientId ? { clientId: state.clientId } : {}) },
    });
    mergeMessage(pendingMessage(answer, body));
    $("composer-text").value = "";
    $("composer-header-link").value = "";
    setReplyTo(null);
    await loadThread({ scrollToEnd: true }); // the queued message; its progress arrives live
    await markRead(); // replying reads the candidate's latest message
  } catch (err) {
    $("composer-error").textContent = `Not sent: ${err.message}`;
  } finally {
    renderComposer();
  }
}

// ---------------------------------------------------------------------------------------------
// New candidate (first contact) and the demo controls
// ---------------------------------------------------------------------------------------------
let ncTimer = 0;
function scheduleNewCandidatePlan() {
  clearTimeout(ncTimer);
  ncTimer = setTimeout(async () => {
    const phone = $("nc-phone").value.trim();
    const plan = $("nc-plan");
    if (phone.length < 6) return void (plan.textContent = "");
    try {
      const p = await api("/inbox/api/send-preview", {
        query: { candidatePhone: phone, candidateName: $("nc-name").value.trim(), jobTitle: $("nc-job").value.trim() },
      });
      plan.dataset.kind = p.kind;
      plan.textContent =
        p.kind === "text"
          ? `This candidate wrote in the last 24 hours: the template still goes (no message given) · ${money(p.template.cost)}.`
          : `${p.firstContact ? "First contact" : "Window closed"}: template “${p.template.name}” · ${money(p.template.cost)}${p.template.usable ? "" : ` — not usable yet: ${p.template.problem}`}`;
    } catch (err) {
      plan.dataset.kind = "refused";
      plan.textContent = err.message;
    }
  }, 250);
}

async function sendNewCandidate(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button[type=submit]");
  $("nc-error").textContent = "";
  button.disabled = true;
  try {
    const body = {
      candidatePhone: $("nc-phone").value.trim(),
      candidateName: $("nc-name").value.trim(),
      jobTitle: $("nc-job").value.trim(),
    };
    if (state.clientId) body.clientId = state.clientId;
    // The worker stores the conversation after the answer: it opens on its `conversation:updated`
    // (or at once when it exists already).
    state.awaitingPhone = body.candidatePhone;
    const answer = await api("/api/messages/send", { method: "POST", body });
    const preview = await api("/inbox/api/send-preview", { query: { candidatePhone: body.candidatePhone } });
    void refreshSendingBudget(answer);
    await loadConversations();
    form.reset();
    $("nc-plan").textContent = "";
    $("new-candidate").open = false;
    if (preview.conversationId) await openAwaited();
  } catch (err) {
    state.awaitingPhone = null;
    $("nc-error").textContent = `Not sent: ${err.message}`;
  } finally {
    button.disabled = false;
  }
}

const SCHEDULE_REASONS = {
  MESSAGING_LIMIT: "the daily limit of new candidates for your WhatsApp account is reached",
  QUIET_HOURS: "it is night for the candidate (quiet hours)",
  QUALITY_PAUSED: "Meta flagged the number's quality: marketing first contacts are paused",
};

/**
 * Under the New candidate form: the portfolio's budget of first contacts (used / limit, next free
 * slot) from GET /api/clients/:clientId/sending-policy, and, after a send, why it waits.
 * @param {{ status?: string, scheduledFor?: string, reason?: string }} [answer]
 */
let lastFirstContact = null;
async function refreshSendingBudget(answer = lastFirstContact) {
  lastFirstContact = answer ?? null;
  const line = $("nc-budget");
  const waits =
    answer && (answer.status === "scheduled" || answer.reason === "QUALITY_PAUSED")
      ? `Last first contact ${answer.scheduledFor ? `scheduled for ${new Date(answer.scheduledFor).toLocaleString()}` : "held"}: ${SCHEDULE_REASONS[answer.reason] ?? answer.reason}. `
      : "";
  if (!state.clientId) return void (line.textContent = waits);
  try {
    const p = await api(`/api/clients/${state.clientId}/sending-policy`);
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

/** Opens the new candidate's conversation once it exists (the server matches the number as typed). */
async function openAwaited() {
  const phone = state.awaitingPhone;
  if (!phone) return;
  const preview = await api("/inbox/api/send-preview", { query: { candidatePhone: phone } }).catch(() => null);
  if (!preview?.conversationId || state.awaitingPhone !== phone) return;
  state.awaitingPhone = null;
  await loadConversations();
  await openConversation(preview.conversationId);
}

async function demoAction(action) {
  const c = state.conversations.get(state.openId);
  if (!c) return;
  $("demo-error").textContent = "";
  const name = knownName(c);
  try {
    await api("/inbox/api/demo/candidate", {
      method: "POST",
      body: { conversationId: c.id, action, ...(name ? { name } : {}) },
    });
  } catch (err) {
    $("demo-error").textContent = err.message;
  }
}

// ---------------------------------------------------------------------------------------------
// Live updates: Socket.io over websocket, reconnecting, with a catch-up read on every connect.
// ---------------------------------------------------------------------------------------------
function setLive(stateName, label) {
  $("live").dataset.state = stateName;
  $("live").textContent = label;
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = el("script", { src });
    s.onload = resolve;
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(s);
  });
}

async function startRealtime() {
  const url = state.config.realtimeUrl;
  if (!url) return setLive("off", "live updates off (no realtime URL configured)");
  setLive("connecting", "connecting…");
  try {
    if (!window.io) await loadScript(`${url}/socket.io/socket.io.min.js`);
  } catch {
    return setLive("off", "realtime server unreachable");
  }
  const socket = window.io(url, {
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
  socket.on("disconnect", (reason) =>
    setLive("connecting", reason === "io client disconnect" ? "offline" : "reconnecting…"),
  );
  socket.on("connect_error", (err) => {
    if (err?.data?.code?.startsWith?.("AUTH")) {
      socket.close();
      return signOut("The realtime server refused the token: sign in again.");
    }
    setLive("connecting", "reconnecting…");
  });
  socket.on("auth:expired", () => signOut("Your session expired: sign in again."));

  // The dashboard events, typed by the contract of @linkojob/events (see inbox-live.js).
  listen(socket, {
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
    "candidate:opt_out": (event) => {
      if (!event.conversationId) return;
      state.optOuts.set(event.conversationId, {
        scope: event.scope,
        source: event.scope ? event.change.source : null,
        at: event.scope ? event.change.at : null,
      });
      if (event.conversationId === state.openId) {
        renderThreadHead();
        void refreshPreview(); // the composer then says what the send API would refuse
      }
    },
    "client:status": (event) => {
      const banner = $("client-banner");
      const { hidden, text } = clientBanner(event);
      banner.hidden = hidden;
      banner.textContent = text;
    },
  });
}

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

// ---------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------
function tickCountdowns() {
  for (const node of document.querySelectorAll("[data-expires]")) {
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
    const { oauthUrl } = await api("/api/auth/whatsapp/initiate", { method: "POST", body: {} });
    location.assign(oauthUrl);
  } catch (err) {
    alert(`Could not start the WhatsApp connection: ${err.message}`);
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
  state.config = await (await fetch("/inbox/config.json")).json();
  $("new-candidate").hidden = false;
  $("new-candidate").addEventListener("toggle", () => {
    if ($("new-candidate").open) void refreshSendingBudget();
  });
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
    if (err.status !== 401) $("conv-empty").textContent = `Could not load conversations: ${err.message}`;
    $("conv-empty").hidden = false;
    return;
  }
  await startRealtime();
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("login-token").value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  const clientId = $("login-client").value.trim();
  if (clientId) sessionStorage.setItem(CLIENT_KEY, clientId);
  else sessionStorage.removeItem(CLIENT_KEY);
  $("login-token").value = "";
  void start();
});
$("sign-out").addEventListener("click", () => signOut());
$("connect-whatsapp").addEventListener("click", () => void connectWhatsApp());
$("composer").addEventListener("submit", (e) => void sendFromComposer(e));
$("composer-text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    $("composer").requestSubmit();
  }
});
$("composer-text").addEventListener("input", sendTyping);
$("composer-reply-cancel").addEventListener("click", () => setReplyTo(null));
$("load-older").addEventListener("click", () => void loadOlder());
$("block-toggle").addEventListener("click", () => void toggleBlock());
$("form-send").addEventListener("click", () => void sendForm());
$("ask-phone").addEventListener("click", askPhone);
$("new-candidate-form").addEventListener("submit", (e) => void sendNewCandidate(e));
for (const id of ["nc-phone", "nc-name", "nc-job"]) $(id).addEventListener("input", scheduleNewCandidatePlan);
for (const b of document.querySelectorAll("[data-demo]"))
  b.addEventListener("click", () => void demoAction(b.dataset.demo));
document.addEventListener("visibilitychange", () => void markRead());
setInterval(tickCountdowns, 1000);
void start();
