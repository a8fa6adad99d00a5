import type { ConversationView } from "./conversations/conversation.repository.js";
import type { MessageDoc } from "./messages/message.model.js";
import { windowOpen } from "./conversations/window.js";

/**
 * The JSON shapes of the API and of realtime events, shared by the ingress and the workers so that
 * a dashboard sees one shape whichever way a record reaches it. Ids are strings, dates ISO strings.
 */
export interface ConversationJson {
  id: string;
  _id: string;
  clientId: string;
  candidateKey: string;
  candidatePhone: string | null;
  candidateUserId: string | null;
  candidateUsername: string | null;
  /** One id for the person across the business portfolio's numbers, when Meta sends it. */
  candidateParentUserId: string | null;
  candidateName: string | null;
  applicationId: string | null;
  jobTitle: string | null;
  status: string;
  messageCount: number;
  unreadCount: number;
  lastMessageAt: string | null;
  lastMessageFrom: string | null;
  lastMessagePreview: string | null;
  lastMessageType: string | null;
  lastInboundAt: string | null;
  windowExpiresAt: string | null;
  inWindow: boolean;
  /** When the recruiter blocked the candidate (Meta's Block Users API); null when not blocked. */
  blockedAt: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

export function conversationJson(c: ConversationView): ConversationJson {
  const id = c._id.toHexString();
  return {
    id,
    _id: id,
    clientId: c.clientId.toHexString(),
    candidateKey: c.candidateKey,
    candidatePhone: c.candidatePhone ?? null,
    candidateUserId: c.candidateUserId ?? null,
    candidateUsername: c.candidateUsername ?? null,
    candidateParentUserId: c.candidateParentUserId ?? null,
    candidateName: c.candidateName ?? null,
    applicationId: c.applicationId ?? null,
    jobTitle: c.jobTitle ?? null,
    status: c.status,
    messageCount: c.messageCount ?? 0,
    unreadCount: c.unreadCount ?? 0,
    lastMessageAt: iso(c.lastMessageAt),
    lastMessageFrom: c.lastMessageFrom ?? null,
    lastMessagePreview: c.lastMessagePreview ?? null,
    lastMessageType: c.lastMessageType ?? null,
    lastInboundAt: iso(c.lastInboundAt),
    windowExpiresAt: iso(c.windowExpiresAt),
    inWindow: windowOpen(c),
    blockedAt: iso(c.blockedAt),
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
  };
}

export interface MessageJson {
  id: string;
  _id: string;
  clientId: string;
  conversationId: string;
  wamid: string | null;
  direction: "inbound" | "outbound";
  from: "candidate" | "recruiter";
  type: string;
  originalType: string | null;
  content: unknown;
  text: string | null;
  timestamp: string;
  receivedAt: string | null;
  status: string;
  statusAt: Record<string, string>;
  error: unknown;
  pricing: unknown;
  context: unknown;
  referral: unknown;
  errors: unknown;
  [extra: string]: unknown;
}

/** Fields specific to outbound messages (kind, cost, template…) pass through as stored. */
const BASE_FIELDS = new Set([
  "_id",
  "__v",
  "clientId",
  "conversationId",
  "dedupeKey",
  "wamid",
  "direction",
  "type",
  "originalType",
  "content",
  "text",
  "timestamp",
  "receivedAt",
  "status",
  "statusRank",
  "statusAt",
  "error",
  "pricing",
  "context",
  "referral",
  "errors",
  "raw",
  "createdAt",
  "updatedAt",
  "token",
  "accessToken",
]);

export function messageJson(m: MessageDoc): MessageJson {
  const id = m._id.toHexString();
  const statusAt: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.statusAt ?? {})) statusAt[k] = new Date(v).toISOString();
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m as unknown as Record<string, unknown>)) if (!BASE_FIELDS.has(k)) extra[k] = v;
  return {
    ...extra,
    id,
    _id: id,
    clientId: m.clientId.toHexString(),
    conversationId: m.conversationId.toHexString(),
    wamid: m.wamid ?? null,
    direction: m.direction,
    from: m.direction === "inbound" ? "candidate" : "recruiter",
    type: m.type,
    originalType: m.originalType ?? null,
    content: m.content ?? null,
    text: m.text ?? null,
    timestamp: new Date(m.timestamp).toISOString(),
    receivedAt: iso(m.receivedAt),
    status: m.status,
    statusAt,
    error: m.error ?? null,
    pricing: m.pricing ?? null,
    context: m.context ?? null,
    referral: m.referral ?? null,
    errors: m.errors ?? null,
  };
}
