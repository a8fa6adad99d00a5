import type { z } from "zod";
import { EVENTS } from "./events.js";
import {
  campaignProgressSchema,
  candidateOptOutSchema,
  clientStatusSchema,
  conversationBlockedSchema,
  conversationDeletedSchema,
  conversationUpdatedSchema,
  messageMediaSchema,
  messageReceivedSchema,
  messageSentSchema,
  messageStatusSchema,
  type CampaignProgressPayload,
  type CandidateOptOutPayload,
  type ClientStatusPayload,
  type ConversationBlockedPayload,
  type ConversationDeletedPayload,
  type ConversationUpdatedPayload,
  type MessageMediaPayload,
  type MessageReceivedPayload,
  type MessageSentPayload,
  type MessageStatusPayload,
} from "./payloads.js";
import {
  SOCKET_EVENTS,
  expiredNoticeSchema,
  sessionInfoSchema,
  socketRefusalSchema,
  type ExpiredNotice,
  type RefreshAck,
  type RefreshRequest,
  type SessionInfo,
  type SocketRefusal,
} from "./session.js";

/**
 * Events the back end publishes to a tenant's room (through DashboardEvents) and the realtime
 * server relays, with their payloads.
 */
export interface DashboardEventMap {
  [EVENTS.messageReceived]: MessageReceivedPayload;
  [EVENTS.messageSent]: MessageSentPayload;
  [EVENTS.messageStatus]: MessageStatusPayload;
  [EVENTS.conversationUpdated]: ConversationUpdatedPayload;
  [EVENTS.conversationDeleted]: ConversationDeletedPayload;
  [EVENTS.conversationBlocked]: ConversationBlockedPayload;
  [EVENTS.messageMedia]: MessageMediaPayload;
  [EVENTS.clientStatus]: ClientStatusPayload;
  [EVENTS.candidateOptOut]: CandidateOptOutPayload;
  [EVENTS.campaignProgress]: CampaignProgressPayload;
}
export type DashboardEventName = keyof DashboardEventMap;

/** Socket.io's typed events, server → dashboard: the relayed dashboard events and the session's own. */
export interface ServerToClientEvents extends DashboardListeners {
  [SOCKET_EVENTS.session]: (session: SessionInfo) => void;
  [SOCKET_EVENTS.expired]: (notice: ExpiredNotice) => void;
  [SOCKET_EVENTS.error]: (error: SocketRefusal) => void;
}
type DashboardListeners = { [E in DashboardEventName]: (payload: DashboardEventMap[E]) => void };

/** Socket.io's typed events, dashboard → server: only the token refresh, acknowledged. */
export interface ClientToServerEvents {
  [SOCKET_EVENTS.refresh]: (payload: RefreshRequest | undefined, ack?: (reply: RefreshAck) => void) => void;
}

/** The payload of a server → client event. */
export type ServerEventPayload<E extends keyof ServerToClientEvents> = Parameters<ServerToClientEvents[E]>[0];

/** Runtime schema of every server → client event's payload (contract tests, AsyncAPI). */
export const SERVER_EVENT_SCHEMAS = {
  [EVENTS.messageReceived]: messageReceivedSchema,
  [EVENTS.messageSent]: messageSentSchema,
  [EVENTS.messageStatus]: messageStatusSchema,
  [EVENTS.conversationUpdated]: conversationUpdatedSchema,
  [EVENTS.conversationDeleted]: conversationDeletedSchema,
  [EVENTS.conversationBlocked]: conversationBlockedSchema,
  [EVENTS.messageMedia]: messageMediaSchema,
  [EVENTS.clientStatus]: clientStatusSchema,
  [EVENTS.candidateOptOut]: candidateOptOutSchema,
  [EVENTS.campaignProgress]: campaignProgressSchema,
  [SOCKET_EVENTS.session]: sessionInfoSchema,
  [SOCKET_EVENTS.expired]: expiredNoticeSchema,
  [SOCKET_EVENTS.error]: socketRefusalSchema,
} as const satisfies { [E in keyof ServerToClientEvents]: z.ZodType<ServerEventPayload<E>> };
