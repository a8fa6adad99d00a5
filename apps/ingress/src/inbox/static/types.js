// @ts-check
// The shapes the inbox reads, for the type-check only (this module exports nothing at run time).
// Socket events, the conversation and message records, the send API's answer and the page's config
// and the send preview are the contract of @linkojob/events: a change there breaks `pnpm typecheck` here. The REST answers
// the contract does not describe yet are written out below, field by field, as the routes answer them.

/** @typedef {import("@linkojob/events").ConversationPayload} Conversation */
/** @typedef {import("@linkojob/events").MessagePayload} MessageRecord */
/** @typedef {import("@linkojob/events").OptOutChangePayload["source"]} OptOutSource */

/**
 * What the page knows of a message: the contract's record (from a thread page or an event), or the
 * send API's answer shown `queued` until the stored record replaces it (`pendingMessage`). Outbound
 * records also carry what the send asked (`request`), its kind, cost and template (all in the contract).
 * @typedef {Pick<MessageRecord, ShownFields> & Partial<Omit<MessageRecord, ShownFields>> & OutboundExtras} Message
 */
/** @typedef {"id" | "direction" | "type" | "status" | "error" | "text" | "content" | "timestamp"} ShownFields */

/**
 * The contract types an outbound message's `request` as an open record; the page reads these of it.
 * @typedef {{ request?: StoredRequest }} OutboundExtras
 */

/**
 * The body of POST /api/messages/send as the page sends it.
 * @typedef {object} SendBody
 * @property {string} [candidatePhone]
 * @property {string} [candidateUserId]
 * @property {string} [clientId]
 * @property {string} [message]
 * @property {string} [replyTo] our id of the message replied to
 * @property {string} [candidateName]
 * @property {string} [jobTitle]
 * @property {{ type: string, link: string }} [templateHeader]
 * @property {Record<string, unknown> & { type: string }} [interactive]
 * @property {{ messageId: string, emoji: string }} [reaction]
 */

/**
 * A send request as the message record keeps it (the server adds what it resolved).
 * @typedef {Omit<SendBody, "interactive" | "reaction" | "templateHeader"> & {
 *   templateName?: string,
 *   templateVars?: string[],
 *   templateHeader?: { type: string, link?: string, id?: string },
 *   replyToWamid?: string,
 *   reaction?: { wamid?: string, emoji?: string },
 *   media?: { type?: string, filename?: string },
 *   interactive?: InteractiveRequest,
 * }} StoredRequest
 */

/**
 * @typedef {object} InteractiveRequest
 * @property {string} [type] button, list, flow, request_contact_info
 * @property {string} [body]
 * @property {string} [cta]
 * @property {string} [button]
 * @property {Array<{ title: string }>} [buttons]
 * @property {Array<{ rows?: Array<{ title: string }> }>} [sections]
 */

/** The send API's answer (202). @typedef {import("@linkojob/events").SendAnswerPayload} SendAnswer */

/** GET /inbox/api/send-preview. @typedef {import("@linkojob/events").SendPreviewPayload} SendPreview */

/**
 * GET /api/messages/conversations
 * @typedef {{ conversations: Conversation[] }} ConversationList
 */

/**
 * GET /api/messages/conversation/:id, one page (newest first, `nextCursor` for older ones).
 * @typedef {{ conversation: Conversation, messages: MessageRecord[], nextCursor: string | null }} ThreadPage
 */

/** GET /api/clients/:clientId/opt-outs?candidate…: the candidate's entries and latest changes. @typedef {import("@linkojob/events").CandidateOptOutsPayload} OptOutsAnswer */

/**
 * The candidate's opt-out as the page shows it (scope null: none in force).
 * @typedef {{ scope: "all" | "marketing" | null, source: string | null, at: string | null }} OptOutView
 */

/** GET /api/clients/:clientId/sending-policy. @typedef {import("@linkojob/events").SendingPolicyPayload} SendingPolicy */

/** GET /inbox/config.json. @typedef {import("@linkojob/events").InboxConfigPayload} InboxConfig */

export {};
