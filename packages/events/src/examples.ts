import {
  CONVERSATION_CHANGES,
  candidateOptOut,
  clientStatusChanged,
  conversationUpdated,
  messageMedia,
  messageReceived,
  messageSent,
  messageStatus,
  tokenExpiring,
} from "./builders.js";
import type { ServerEventPayload, ServerToClientEvents } from "./contract.js";
import { EVENTS } from "./events.js";
import type { ConversationPayload, MessagePayload } from "./payloads.js";
import { SOCKET_EVENTS } from "./session.js";

/**
 * Example payloads of every server → client event, made with the builders (so they have the types
 * the emitters have) and checked against the schemas by the tests. The AsyncAPI document shows them.
 */

const CLIENT = "66a1f0c2e4b0a1b2c3d4e5f6";
const CONVERSATION = "66a1f0c2e4b0a1b2c3d4e601";
const INBOUND = "66a1f0c2e4b0a1b2c3d4e611";
const OUTBOUND = "66a1f0c2e4b0a1b2c3d4e612";

const conversation: ConversationPayload = {
  id: CONVERSATION,
  _id: CONVERSATION,
  clientId: CLIENT,
  candidateKey: "212638167216",
  candidatePhone: "212638167216",
  candidateUserId: null,
  candidateName: "Ahmed Hassan",
  applicationId: null,
  jobTitle: "Developer PHP",
  status: "active",
  messageCount: 2,
  unreadCount: 1,
  lastMessageAt: "2025-01-15T10:31:00.000Z",
  lastMessageFrom: "candidate",
  lastMessagePreview: "Yes interested",
  lastMessageType: "text",
  lastInboundAt: "2025-01-15T10:31:00.000Z",
  windowExpiresAt: "2025-01-16T10:31:00.000Z",
  inWindow: true,
  createdAt: "2025-01-15T10:30:00.000Z",
  updatedAt: "2025-01-15T10:31:00.000Z",
};

const inbound: MessagePayload = {
  id: INBOUND,
  _id: INBOUND,
  clientId: CLIENT,
  conversationId: CONVERSATION,
  wamid: "wamid.HBgMMjEyNjM4MTY3MjE2FQIAEhggQ0FORElEQVRFUkVQTFkA",
  direction: "inbound",
  from: "candidate",
  type: "text",
  originalType: "text",
  content: { body: "Yes interested" },
  text: "Yes interested",
  timestamp: "2025-01-15T10:31:00.000Z",
  receivedAt: "2025-01-15T10:31:01.000Z",
  status: "received",
  statusAt: {},
  error: null,
  pricing: null,
  context: null,
  referral: null,
  errors: null,
};

/** Outbound messages carry more than the common fields (kind, cost, template…). */
const outbound: MessagePayload & Record<string, unknown> = {
  id: OUTBOUND,
  _id: OUTBOUND,
  clientId: CLIENT,
  conversationId: CONVERSATION,
  wamid: "wamid.HBgMMjEyNjM4MTY3MjE2FQIAERgSQUNNRVRFTVBMQVRFMDEA",
  direction: "outbound",
  from: "recruiter",
  type: "template",
  originalType: null,
  content: null,
  text: "Bonjour Ahmed Hassan, merci pour votre candidature au poste Developer PHP.",
  timestamp: "2025-01-15T10:30:00.000Z",
  receivedAt: null,
  status: "sent",
  statusAt: { sent: "2025-01-15T10:30:01.000Z" },
  error: null,
  pricing: null,
  context: null,
  referral: null,
  errors: null,
  kind: "template",
  cost: 0.4,
  template: { name: "application_received", language: "fr", vars: ["Ahmed Hassan", "Developer PHP"] },
};

type Examples = {
  [E in keyof ServerToClientEvents]: Array<{ name: string; summary: string; payload: ServerEventPayload<E> }>;
};

export const EVENT_EXAMPLES: Examples = {
  [EVENTS.messageReceived]: [
    { name: "candidateReply", summary: "The candidate answered the template", payload: messageReceived(inbound) },
  ],
  [EVENTS.messageSent]: [
    { name: "templateSent", summary: "Meta accepted the first-contact template", payload: messageSent(outbound) },
  ],
  [EVENTS.messageStatus]: [
    {
      name: "delivered",
      summary: "Delivered to the candidate's phone",
      payload: messageStatus({
        clientId: CLIENT,
        conversationId: CONVERSATION,
        messageId: OUTBOUND,
        wamid: outbound.wamid,
        status: "delivered",
        at: "2025-01-15T10:30:05.000Z",
        pricing: { billable: true, category: "utility", pricing_model: "PMP" },
      }),
    },
    {
      name: "failed",
      summary: "Meta refused the message",
      payload: messageStatus({
        clientId: CLIENT,
        conversationId: CONVERSATION,
        messageId: OUTBOUND,
        wamid: outbound.wamid,
        status: "failed",
        at: "2025-01-15T10:30:05.000Z",
        error: { code: 131026, title: "Message undeliverable", message: "Message undeliverable" },
      }),
    },
  ],
  [EVENTS.conversationUpdated]: [
    {
      name: "candidateWrote",
      summary: "A candidate's message arrived: unread count, window and preview changed",
      payload: conversationUpdated(conversation, CONVERSATION_CHANGES.inboundMessage),
    },
    {
      name: "read",
      summary: "The recruiter read the conversation",
      payload: conversationUpdated({ ...conversation, unreadCount: 0 }, CONVERSATION_CHANGES.read),
    },
  ],
  [EVENTS.conversationDeleted]: [
    {
      name: "erased",
      summary: "The candidate asked for their data to be erased",
      payload: { clientId: CLIENT, conversationId: CONVERSATION, reason: "erasure" },
    },
    {
      name: "merged",
      summary: "A message from the candidate's new number opened a conversation before their number change arrived",
      payload: {
        clientId: CLIENT,
        conversationId: "66a1f0c2e4b0a1b2c3d4e6f7",
        reason: "merged",
        mergedInto: CONVERSATION,
      },
    },
  ],
  [EVENTS.conversationBlocked]: [
    {
      name: "blocked",
      summary: "The recruiter blocked a candidate who sent abuse",
      payload: {
        clientId: CLIENT,
        conversationId: CONVERSATION,
        blocked: true,
        at: "2025-01-15T12:10:00.000Z",
        actor: { role: "recruiter", userId: "user-42" },
      },
    },
  ],
  [EVENTS.messageMedia]: [
    {
      name: "stored",
      summary: "The candidate's CV was fetched from Meta and stored",
      payload: messageMedia({
        clientId: CLIENT,
        conversationId: CONVERSATION,
        messageId: INBOUND,
        media: {
          status: "stored",
          fileId: "66a1f0c2e4b0a1b2c3d4e621",
          size: 48213,
          mimeType: "application/pdf",
          filename: "cv.pdf",
          sha256Ok: true,
          error: null,
          heldReason: null,
        },
      }),
    },
  ],
  [EVENTS.clientStatus]: [
    {
      name: "reauthRequired",
      summary: "Meta refused the token: sends are held until WhatsApp is reconnected",
      payload: clientStatusChanged({
        clientId: CLIENT,
        phoneNumberId: "1054543651068213",
        status: "reauth_required",
        previousStatus: "active",
        reason: "TOKEN_INVALID",
        detail: "Error validating access token",
        at: "2025-01-15T11:00:00.000Z",
      }),
    },
    {
      name: "tokenExpiring",
      summary: "The access token expires within 7 days",
      payload: tokenExpiring({
        clientId: CLIENT,
        phoneNumberId: "1054543651068213",
        tokenExpiresAt: "2025-01-20T00:00:00.000Z",
      }),
    },
  ],
  [EVENTS.candidateOptOut]: [
    {
      name: "candidateStop",
      summary: "The candidate wrote STOP: nothing may be sent to them until they write START",
      payload: candidateOptOut({
        clientId: CLIENT,
        conversationId: CONVERSATION,
        candidatePhone: "212638167216",
        candidateUserId: "MA.1234567890123456",
        scope: "all",
        change: {
          action: "opt_out",
          scope: "all",
          source: "candidate_message",
          at: "2025-01-15T12:00:00.000Z",
          wamid: "wamid.HBgMMjEyNjM4MTY3MjE2FQIAEhggU1RPUAA",
          actor: null,
          reason: null,
        },
      }),
    },
    {
      name: "recruiterMarketing",
      summary: "A recruiter recorded, through the API, that the candidate wants no marketing",
      payload: candidateOptOut({
        clientId: CLIENT,
        conversationId: null,
        candidatePhone: "212638167216",
        candidateUserId: null,
        scope: "marketing",
        change: {
          action: "opt_out",
          scope: "marketing",
          source: "recruiter",
          at: "2025-01-15T12:05:00.000Z",
          wamid: null,
          actor: { role: "recruiter", userId: "user-42" },
          reason: "asked by phone",
        },
      }),
    },
  ],
  [EVENTS.campaignProgress]: [
    {
      name: "campaignRunning",
      summary: "A campaign of 1,000 recipients: 2 opted out, 10 wait for the portfolio's limit, the rest went",
      payload: {
        clientId: CLIENT,
        campaignId: "6790a1b2c3d4e5f6a7b8c9d0",
        status: "running",
        counts: {
          queued: 0,
          scheduled: 10,
          sent: 988,
          delivered: 950,
          read: 700,
          replied: 120,
          failed: 0,
          suppressed: 2,
          cancelled: 0,
        },
        at: "2025-01-15T12:10:00.000Z",
      },
    },
  ],
  [SOCKET_EVENTS.session]: [
    {
      name: "recruiter",
      summary: "A recruiter following their one client",
      payload: { userId: "user-42", role: "recruiter", clientIds: [CLIENT], expiresAt: 1736940600 },
    },
  ],
  [SOCKET_EVENTS.error]: [
    {
      name: "rateLimited",
      summary: "The socket sent too many events; it is disconnected next",
      payload: { code: "RATE_LIMITED", message: "more than 30 events in 60 s; reconnect later" },
    },
  ],
  [SOCKET_EVENTS.expired]: [
    {
      name: "expired",
      summary: "The token reached exp; the socket is disconnected next",
      payload: { code: "AUTH_ERR_EXPIRED", expiredAt: 1736940600 },
    },
  ],
};
