// @ts-check
// The inbox's reading of the realtime events: what each one changes in what the page holds.
// Plain ES module, no build step; the types are the event contract of @linkojob/events (the same
// that types the emitters and the realtime server), checked with `tsc --checkJs` by the ingress
// tests (apps/ingress/src/contract/inbox-live.contract.test.ts).

/** @typedef {import("@linkojob/events").ServerToClientEvents} ServerToClientEvents */
/** @typedef {import("@linkojob/events").ConversationPayload} Conversation */
/** @typedef {import("@linkojob/events").MessagePayload} Message */
/** @typedef {import("@linkojob/events").ConversationUpdatedPayload} ConversationUpdated */
/** @typedef {import("@linkojob/events").MessageStatusPayload} MessageStatus */
/** @typedef {import("@linkojob/events").ClientStatusPayload} ClientStatus */
/** @typedef {import("@linkojob/events").CandidateOptOutPayload} CandidateOptOut */
/** @typedef {import("@linkojob/events").ConversationBlockedPayload} ConversationBlocked */

/**
 * Registers the page's handlers on the socket, each typed by its event's payload.
 * @param {{ on(event: string, listener: (...args: any[]) => void): unknown }} socket
 * @param {Partial<ServerToClientEvents>} handlers
 */
export function listen(socket, handlers) {
  for (const [event, handler] of Object.entries(handlers)) if (handler) socket.on(event, handler);
}

/**
 * The conversation after a `conversation:updated`: the whole `conversation` the event carries, else
 * (a sender that follows the platform's minimal contract alone) the `updates` applied to the one the page holds. Null when
 * neither is possible: read the list again.
 * @param {Conversation | undefined} known
 * @param {Pick<ConversationUpdated, "conversationId"> & Partial<ConversationUpdated>} event
 * @returns {Conversation | null}
 */
export function conversationAfterUpdate(known, event) {
  if (event.conversation) return event.conversation;
  if (known && event.updates) return { ...known, ...event.updates };
  return null;
}

/**
 * The message after a `message:status`, or null when the status would move it backwards (a late or
 * replayed webhook). `held` is outside the order: a held message may be sent, and a sent one held.
 * @template {Pick<Message, "status" | "error">} M
 * @param {M} known
 * @param {Pick<MessageStatus, "status" | "error">} event
 * @param {Record<string, number>} rank
 * @returns {M | null}
 */
export function messageAfterStatus(known, event, rank) {
  const backwards = (rank[event.status] ?? 0) < (rank[known.status] ?? 0);
  if (backwards && known.status !== "held" && event.status !== "held") return null;
  return { ...known, status: event.status, error: event.error ?? known.error };
}

/**
 * What the banner says about the WhatsApp connection after a `client:status`: nothing while it is
 * active (a token-expiry warning says when it ends).
 * @param {ClientStatus} event
 * @returns {{ hidden: boolean, text: string }}
 */
export function clientBanner(event) {
  if ("warning" in event && event.warning === "token_expiring") {
    return {
      hidden: false,
      text: `WhatsApp access expires on ${new Date(event.tokenExpiresAt).toLocaleDateString()}: reconnect WhatsApp before then.`,
    };
  }
  if (event.status === "active") return { hidden: true, text: "" };
  if (event.status === "reauth_required")
    return { hidden: false, text: "WhatsApp needs to be reconnected: sends are held." };
  return { hidden: false, text: `WhatsApp number: ${event.status}` };
}

const OPT_OUT_SOURCES = {
  candidate_message: "the candidate wrote STOP",
  meta_user_preferences: "the candidate stopped marketing messages in WhatsApp",
  meta_131050: "WhatsApp reported the candidate stopped marketing messages",
  recruiter: "a recruiter recorded it",
  platform: "the platform recorded it",
  identity_change: "carried over from the candidate's previous number",
};

/**
 * What the conversation's opt-out badge says: hidden when nothing is in force. `scope` and `source`
 * come from a `candidate:opt_out` event or from GET /api/clients/:clientId/opt-outs?candidatePhone=….
 * @param {{ scope: CandidateOptOut["scope"], source?: string | null, at?: string | null }} optOut
 * @returns {{ hidden: boolean, text: string, scope: string }}
 */
export function optOutBadge(optOut) {
  if (!optOut.scope) return { hidden: true, text: "", scope: "" };
  const why = optOut.source
    ? (OPT_OUT_SOURCES[/** @type {keyof typeof OPT_OUT_SOURCES} */ (optOut.source)] ?? optOut.source)
    : null;
  const since = optOut.at ? ` on ${new Date(optOut.at).toLocaleDateString()}` : "";
  const text =
    optOut.scope === "all"
      ? `Opted out${why ? `: ${why}` : ""}${since}. Nothing can be sent until they write START.`
      : `No marketing${why ? `: ${why}` : ""}${since}. Utility templates and replies still go.`;
  return { hidden: false, text, scope: optOut.scope };
}

/**
 * The conversation after a `conversation:blocked` (the recruiter, here or elsewhere, blocked or
 * unblocked the candidate): `blockedAt` is the block's time, or null.
 * @param {Conversation} known
 * @param {Pick<ConversationBlocked, "blocked" | "at">} event
 * @returns {Conversation}
 */
export function conversationAfterBlock(known, event) {
  return { ...known, blockedAt: event.blocked ? event.at : null };
}

/**
 * What the conversation's block pill and button say.
 * @param {Pick<Conversation, "blockedAt">} c
 * @returns {{ hidden: boolean, text: string, action: "Block" | "Unblock" }}
 */
export function blockBadge(c) {
  if (!c.blockedAt) return { hidden: true, text: "", action: "Block" };
  return {
    hidden: false,
    text: `Blocked on ${new Date(c.blockedAt).toLocaleDateString()}: nothing can be sent to this candidate and their messages are not shown.`,
    action: "Unblock",
  };
}
