// @ts-check
// The public API as the page calls it: REST with the Bearer JWT (and `clientId` for service and
// admin tokens), one function per endpoint, each typed by what it answers. A 401 signs out.

import { signOut } from "./session.js";
import { state } from "./state.js";

/** @typedef {import("./types.js").SendBody} SendBody */

/** A refused request: its HTTP status and the API's error code and message. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {unknown} body the answer's JSON, `{ error: { code, message } }` when the API refused
   */
  constructor(status, body) {
    const error = /** @type {{ error?: { message?: string, code?: string } } | null} */ (body)?.error;
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error?.code;
  }
}

/**
 * @param {unknown} err
 * @returns {string}
 */
export const messageOf = (err) => (err instanceof Error ? err.message : String(err));

/**
 * @template T
 * @param {string} path
 * @param {{ method?: string, body?: object, query?: Record<string, string | number | null | undefined> }} [init]
 * @returns {Promise<T>}
 */
async function api(path, { method = "GET", body, query = {} } = {}) {
  const url = new URL(path, location.origin);
  if (state.clientId) url.searchParams.set("clientId", state.clientId);
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${state.token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  /** @type {unknown} */
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.status === 401) {
    signOut("Your session has expired or the token is invalid: sign in again.");
    throw new ApiError(401, data);
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return /** @type {T} */ (data);
}

/** @returns {Promise<import("./types.js").ConversationList>} */
export const listConversations = () => api("/api/messages/conversations", { query: { limit: 100 } });

/**
 * @param {string} id
 * @param {string | null} [cursor] older than this page
 * @returns {Promise<import("./types.js").ThreadPage>}
 */
export const threadPage = (id, cursor) =>
  api(`/api/messages/conversation/${id}`, { query: { limit: 50, ...(cursor ? { cursor } : {}) } });

/** Unread count to zero and the candidate's latest message read at WhatsApp. @param {string} id */
export const markConversationRead = (id) => api(`/api/messages/conversation/${id}/read`, { method: "PATCH" });

/** "typing…" for the candidate. @param {string} id */
export const sendTypingIndicator = (id) => api(`/api/messages/conversation/${id}/typing`, { method: "POST" });

/**
 * POST /api/messages/send, with the signed-in client when the token names none.
 * @param {SendBody} body
 * @returns {Promise<import("./types.js").SendAnswer>}
 */
export const sendMessage = (body) =>
  api("/api/messages/send", {
    method: "POST",
    body: { ...body, ...(state.clientId ? { clientId: state.clientId } : {}) },
  });

/**
 * @param {Record<string, string | null | undefined>} query the candidate (phone or user id), name and job title
 * @returns {Promise<import("./types.js").SendPreview>}
 */
export const sendPreview = (query) => api("/inbox/api/send-preview", { query });

/**
 * @param {string} clientId
 * @param {{ candidatePhone: string } | { candidateUserId: string | null }} candidate
 * @returns {Promise<import("./types.js").OptOutsAnswer>}
 */
export const optOutsOf = (clientId, candidate) => api(`/api/clients/${clientId}/opt-outs`, { query: candidate });

/**
 * Blocks (or unblocks) a conversation's candidate at Meta.
 * @param {string} clientId
 * @param {string} conversationId
 * @param {boolean} block
 * @returns {Promise<{ conversation: Partial<import("./types.js").Conversation> }>}
 */
export const setBlocked = (clientId, conversationId, block) =>
  api(`/api/clients/${clientId}/blocks`, { method: block ? "POST" : "DELETE", body: { conversationId } });

/**
 * @param {string} clientId
 * @returns {Promise<import("./types.js").SendingPolicy>}
 */
export const sendingPolicy = (clientId) => api(`/api/clients/${clientId}/sending-policy`);

/**
 * The demo's candidate controls (through the simulator).
 * @param {{ conversationId: string, action: string, name?: string }} body
 */
export const demoCandidate = (body) => api("/inbox/api/demo/candidate", { method: "POST", body });

/** @returns {Promise<{ oauthUrl: string }>} */
export const initiateWhatsApp = () => api("/api/auth/whatsapp/initiate", { method: "POST", body: {} });
