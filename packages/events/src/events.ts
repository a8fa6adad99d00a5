/**
 * Realtime events sent to recruiter dashboards. Every event goes to the tenant's room only.
 * Payloads carry ids as strings and dates as ISO strings (they cross JSON).
 */
export const EVENTS = {
  messageReceived: "message:received",
  messageStatus: "message:status",
  messageSent: "message:sent",
  conversationUpdated: "conversation:updated",
  clientStatus: "client:status",
  /** An inbound media message's file was stored or failed: `{ clientId, conversationId, messageId, media }`. */
  messageMedia: "message:media",
  /** A candidate's opt-out changed (stopped or resumed): `{ clientId, conversationId, scope, change }`. */
  candidateOptOut: "candidate:opt_out",
  /**
   * A conversation and its messages were deleted: a candidate's erasure or the retention purge.
   * `{ clientId, conversationId, reason }`; the dashboard drops the thread.
   */
  conversationDeleted: "conversation:deleted",
  /** The recruiter blocked or unblocked the candidate: `{ clientId, conversationId, blocked, at, actor }`. */
  conversationBlocked: "conversation:blocked",
  /**
   * A campaign's counts changed (at most one event per campaign per second): `{ clientId, campaignId,
   * status, counts }`, the same counts as GET /api/campaigns/:id.
   */
  campaignProgress: "campaign:progress",
} as const;
export type EventName = (typeof EVENTS)[keyof typeof EVENTS];

/** The room of one tenant (client). */
export const clientRoom = (clientId: string) => `client:${clientId}`;

/** Socket.io key prefix shared by the realtime nodes' adapter and every emitter. */
export const SOCKET_IO_KEY = "socket.io";

/**
 * Redis pub/sub channel on which any process announces that a client (tenant) changed: connected,
 * disconnected, status or token changed. Message: JSON `{ clientId, phoneNumberId?, status? }`.
 * Caches (webhook routing, send holds) drop the entry; the outbound worker resumes held sends when
 * the status is back to `active`.
 */
export const CLIENTS_CHANGED_CHANNEL = "clients:changed";
export interface ClientChangedMessage {
  clientId: string;
  phoneNumberId?: string;
  status?: string;
}

/**
 * Redis pub/sub channel on which the erasure and the retention purge announce deleted conversations,
 * so that every process drops what it caches of them (the inbound worker's conversation ids).
 * Message: JSON `{ clientId, conversationIds }`.
 */
export const CONVERSATIONS_DELETED_CHANNEL = "conversations:deleted";
export interface ConversationsDeletedMessage {
  clientId: string;
  conversationIds: string[];
}

/** Reads a CONVERSATIONS_DELETED_CHANNEL message; null when it is another channel's or unreadable. */
export function parseConversationsDeleted(channel: string, raw: string): ConversationsDeletedMessage | null {
  if (channel !== CONVERSATIONS_DELETED_CHANNEL) return null;
  try {
    const msg = JSON.parse(raw) as Partial<ConversationsDeletedMessage> | null;
    return msg && typeof msg.clientId === "string" && Array.isArray(msg.conversationIds)
      ? { clientId: msg.clientId, conversationIds: msg.conversationIds.filter((c) => typeof c === "string") }
      : null;
  } catch {
    return null;
  }
}

/**
 * Reads a pub/sub message as a ClientChangedMessage: null when it is from another channel or is not
 * a readable announcement (callers decide what an unreadable one means for them).
 */
export function parseClientChanged(channel: string, raw: string): ClientChangedMessage | null {
  if (channel !== CLIENTS_CHANGED_CHANNEL) return null;
  try {
    const msg = JSON.parse(raw) as Partial<ClientChangedMessage> | null;
    return msg && typeof msg.clientId === "string" ? (msg as ClientChangedMessage) : null;
  } catch {
    return null;
  }
}
