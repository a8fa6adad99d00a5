// @ts-check
// What the page holds: one object, read and changed by every module (the page has one of each thing:
// one signed-in recruiter, one open conversation).

/** @typedef {import("./types.js").Conversation} Conversation */
/** @typedef {import("./types.js").Message} Message */

/**
 * How far a message's delivery has gone: a status never moves down this order (a late or replayed
 * copy keeps the one the page already has).
 * @type {Record<string, number>}
 */
export const STATUS_RANK = {
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

export const state = {
  /** @type {string | null} */
  token: null,
  /** @type {string | null} */
  clientId: null,
  /** @type {import("./types.js").InboxConfig} */
  config: { realtimeUrl: null, demo: false, prices: {}, currency: "MAD" },
  /** @type {Map<string, Conversation>} id → conversation */
  conversations: new Map(),
  /** @type {string | null} */
  openId: null,
  /** @type {Map<string, Message>} id → message of the open conversation */
  messages: new Map(),
  /** @type {string | null} */
  nextCursor: null,
  /** @type {import("./types.js").SendPreview | null} send preview of the open conversation */
  preview: null,
  /** @type {{ close(): void } | null} */
  socket: null,
  /** @type {Map<string, string>} messageId → object URL */
  mediaUrls: new Map(),
  /** @type {Map<string, string>} template name → BODY text, learnt from the send preview */
  templateBodies: new Map(),
  /** @type {Map<string, Message>} wamid → message of the open conversation (replies and reactions point at wamids) */
  byWamid: new Map(),
  /** @type {Message | null} the message the composer replies to, or null */
  replyTo: null,
  /** @type {string | null} id of the message whose reaction picker is open (kept across live re-renders) */
  pickerFor: null,
  /** @type {Map<string, string>} conversation id → id of the latest candidate message already marked read */
  readMarked: new Map(),
  /** @type {Map<string, number>} conversation id → when "typing…" was last sent (ms) */
  typingAt: new Map(),
  /** @type {string | null} a new candidate's number as typed: its conversation opens once the worker stores it */
  awaitingPhone: null,
  /** @type {Map<string, import("./types.js").OptOutView>} conversation id → the candidate's opt-out */
  optOuts: new Map(),
};

/** The open conversation, if any. */
export const openConversationRecord = () => (state.openId ? state.conversations.get(state.openId) : undefined);

/**
 * Keeps a message of the open conversation; never lets a late or replayed copy move its status backwards.
 * @param {Message} m
 */
export function mergeMessage(m) {
  const old = state.messages.get(m.id);
  if (old && (STATUS_RANK[old.status] ?? 0) > (STATUS_RANK[m.status] ?? 0))
    m = { ...m, status: old.status, error: old.error ?? m.error };
  state.messages.set(m.id, m);
}

/**
 * The candidate's name: their WhatsApp profile name, else the one the recruiter gave at first contact.
 * @param {Conversation} c
 * @returns {string | undefined}
 */
export function knownName(c) {
  return (
    c.candidateName ??
    [...state.messages.values()].find((m) => m.request?.candidateName)?.request?.candidateName ??
    undefined
  );
}
