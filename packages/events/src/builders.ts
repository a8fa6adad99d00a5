import type {
  CandidateOptOutPayload,
  ClientStatusChangedPayload,
  ConversationPayload,
  ConversationUpdatedPayload,
  ConversationUpdateField,
  ConversationUpdates,
  MediaPayload,
  MessageMediaPayload,
  MessagePayload,
  MessageReceivedPayload,
  MessageSentPayload,
  MessageStatusPayload,
  MessageStatusValue,
  TokenExpiringPayload,
} from "./payloads.js";

/**
 * One function per dashboard event, so that every emitter (inbound worker, outbound worker,
 * ingress) sends the same shape. Inputs are the REST API's JSON shapes (conversationJson,
 * messageJson of @linkojob/db) or plain fields; dates may be Date or ISO strings.
 */

const iso = (d: Date | string) => (typeof d === "string" ? d : d.toISOString());

/** `message:received` for a stored inbound message (messageJson of it). */
export function messageReceived(message: MessagePayload): MessageReceivedPayload {
  return { clientId: message.clientId, conversationId: message.conversationId, message };
}

/**
 * `message:sent` once Meta accepted an outbound message (messageJson of the stored message, whose
 * wamid is set). `messageId` is our id, the one the send API returned.
 */
export function messageSent(message: MessagePayload, wamid: string | null = message.wamid): MessageSentPayload {
  if (!wamid) throw new Error(`message:sent for ${message.id} without the wamid Meta returned`);
  return {
    clientId: message.clientId,
    conversationId: message.conversationId,
    messageId: message.id,
    wamid,
    status: "sent",
    message,
  };
}

export interface MessageStatusInput {
  clientId: string;
  conversationId: string;
  /** Our id of the message (the send API's messageId for an outbound message). */
  messageId: string;
  /** WhatsApp's id, when Meta accepted the message. */
  wamid: string | null;
  status: MessageStatusValue;
  /** When the status happened (Meta's timestamp for a webhook status). */
  at: Date | string;
  error?: MessageStatusPayload["error"] | undefined;
  pricing?: unknown;
}

/** `message:status` when a message's delivery state moved (Meta's webhook, or the outbound worker: failed, held). */
export function messageStatus(input: MessageStatusInput): MessageStatusPayload {
  return {
    clientId: input.clientId,
    conversationId: input.conversationId,
    messageId: input.messageId,
    wamid: input.wamid,
    status: input.status,
    timestamp: iso(input.at),
    error: input.error ?? null,
    pricing: input.pricing ?? null,
  };
}

/** What changes in a conversation's summary, by cause: the second argument of conversationUpdated. */
export const CONVERSATION_CHANGES = {
  /** A candidate's message was stored: counters, preview, the 24-hour window, maybe the profile name. */
  inboundMessage: [
    "messageCount",
    "lastMessageFrom",
    "lastMessagePreview",
    "lastMessageType",
    "lastInboundAt",
    "windowExpiresAt",
    "inWindow",
    "candidateName",
  ],
  /** An outbound message was sent: counters and preview. */
  outboundMessage: ["messageCount", "lastMessageFrom", "lastMessagePreview", "lastMessageType"],
  /** The recruiter read it: unreadCount only. */
  read: [],
} as const satisfies Record<string, readonly ConversationUpdateField[]>;

/**
 * `conversation:updated` from the conversation after the change (conversationJson of it).
 * `updates` always has the platform's `unreadCount` and `lastMessageAt`, plus the `changed` fields,
 * all taken from the conversation itself so that the two never disagree.
 */
export function conversationUpdated(
  conversation: ConversationPayload,
  changed: readonly ConversationUpdateField[] = [],
): ConversationUpdatedPayload {
  const updates: ConversationUpdates = {
    unreadCount: conversation.unreadCount,
    lastMessageAt: conversation.lastMessageAt,
  };
  const target = updates as Record<string, unknown>;
  for (const field of changed) target[field] = conversation[field];
  return { clientId: conversation.clientId, conversationId: conversation.id, updates, conversation };
}

/** `message:media` when an inbound media file was stored, failed, or waits. */
export function messageMedia(input: {
  clientId: string;
  conversationId: string;
  messageId: string;
  media: MediaPayload;
}): MessageMediaPayload {
  return {
    clientId: input.clientId,
    conversationId: input.conversationId,
    messageId: input.messageId,
    media: input.media,
  };
}

/** `client:status` for a change of the connection's status (ClientStatusChange of @linkojob/db fits). */
export function clientStatusChanged(change: {
  clientId: string;
  phoneNumberId: string;
  status: ClientStatusChangedPayload["status"];
  previousStatus: ClientStatusChangedPayload["previousStatus"];
  reason: string | null;
  detail: string | null;
  at: Date | string;
}): ClientStatusChangedPayload {
  return {
    clientId: change.clientId,
    phoneNumberId: change.phoneNumberId,
    status: change.status,
    previousStatus: change.previousStatus,
    reason: change.reason,
    detail: change.detail,
    at: iso(change.at),
  };
}

/** `client:status` warning that the token expires soon (TokenExpiryWarning of @linkojob/db fits). */
export function tokenExpiring(w: {
  clientId: string;
  phoneNumberId: string;
  tokenExpiresAt: Date | string;
}): TokenExpiringPayload {
  return {
    clientId: w.clientId,
    phoneNumberId: w.phoneNumberId,
    status: "active",
    warning: "token_expiring",
    tokenExpiresAt: iso(w.tokenExpiresAt),
  };
}

/** `candidate:opt_out` when a candidate's opt-out changed. */
export function candidateOptOut(input: {
  clientId: string;
  conversationId: string | null;
  candidatePhone: string | null;
  candidateUserId: string | null;
  scope: CandidateOptOutPayload["scope"];
  change: Omit<CandidateOptOutPayload["change"], "at"> & { at: Date | string };
}): CandidateOptOutPayload {
  return {
    clientId: input.clientId,
    conversationId: input.conversationId,
    candidatePhone: input.candidatePhone,
    candidateUserId: input.candidateUserId,
    scope: input.scope,
    change: {
      action: input.change.action,
      scope: input.change.scope,
      source: input.change.source,
      at: iso(input.change.at),
      wamid: input.change.wamid,
      actor: input.change.actor,
      reason: input.change.reason,
    },
  };
}
