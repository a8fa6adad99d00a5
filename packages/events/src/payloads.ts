import { z } from "zod";
import { isoDate, objectId } from "./scalars.js";

/**
 * The payloads of the dashboard events, as zod schemas: the TypeScript types, the runtime checks of
 * the contract tests and the AsyncAPI document's JSON Schemas all come from these. Ids are strings
 * and dates ISO-8601 strings (payloads cross JSON). A dashboard must ignore fields it does not know,
 * and fields are only ever added. The conversation and message records are strict: they are built
 * from stored documents (serialize.ts picks exactly their keys), and a contract test refuses a
 * payload that carries anything else, so that no internal field (claims, ranks, dedupe keys, the raw
 * webhook) reaches a dashboard.
 */

const described = <T extends z.ZodType>(schema: T, description: string) => schema.describe(description);

/** Delivery states of a message, in the order they may move (`failed` may be overtaken by a delivery report). */
export const MESSAGE_STATUSES = [
  "received",
  "queued",
  "held",
  "sending",
  "suppressed",
  "sent",
  "failed",
  "delivered",
  "read",
  "played",
] as const;
export type MessageStatusValue = (typeof MESSAGE_STATUSES)[number];
/** Whether a stored status is one the contract names (a status Meta invents later is not announced as one). */
export const isMessageStatus = (s: string): s is MessageStatusValue =>
  (MESSAGE_STATUSES as readonly string[]).includes(s);

/** A conversation as the REST API returns it (`GET /api/messages/conversations`) and events carry it. */
export const conversationSchema = z.strictObject({
  id: objectId,
  _id: objectId,
  clientId: objectId,
  candidateKey: z.string(),
  candidatePhone: z.string().nullable(),
  candidateUserId: z.string().nullable(),
  candidateUsername: z.string().nullable().optional(),
  /** One id for the person across the business portfolio's numbers (Meta's parent user id), when sent. */
  candidateParentUserId: z.string().nullable().optional(),
  candidateName: z.string().nullable(),
  applicationId: z.string().nullable(),
  jobTitle: z.string().nullable(),
  status: z.string(),
  messageCount: z.number().int().nonnegative(),
  unreadCount: z.number().int().nonnegative(),
  lastMessageAt: isoDate.nullable(),
  lastMessageFrom: z.string().nullable(),
  lastMessagePreview: z.string().nullable(),
  lastMessageType: z.string().nullable(),
  lastInboundAt: isoDate.nullable(),
  windowExpiresAt: isoDate.nullable(),
  inWindow: z.boolean(),
  /** When the recruiter blocked the candidate (Meta's Block Users API); null when not blocked. */
  blockedAt: isoDate.nullable().optional(),
  createdAt: isoDate.nullable(),
  updatedAt: isoDate.nullable(),
});
export type ConversationPayload = z.infer<typeof conversationSchema>;

/** The stored copy of an inbound media file. */
export const mediaSchema = z.strictObject({
  status: z.enum(["pending", "stored", "failed"]),
  fileId: objectId.nullable(),
  size: z.number().int().nonnegative().nullable(),
  mimeType: z.string().nullable(),
  filename: z.string().nullable(),
  sha256Ok: z.boolean().nullable(),
  error: z.object({ code: z.string(), reason: z.string() }).nullable(),
  heldReason: z.string().nullable(),
});
export type MediaPayload = z.infer<typeof mediaSchema>;

/**
 * A message as the REST API returns it (`GET /api/messages/conversation/:id`) and events carry it.
 * `id` is our id (the `messageId` the send API returns); `wamid` is WhatsApp's, known for an outbound
 * message once Meta accepted it. Outbound messages carry more (kind, cost, template, request…),
 * inbound ones what was adjusted on reading them; nothing else of the stored document.
 */
export const messageSchema = z.strictObject({
  id: described(objectId, "Our id: for an outbound message, the messageId the send API returned"),
  _id: objectId,
  clientId: objectId,
  conversationId: objectId,
  wamid: described(
    z.string().nullable(),
    "WhatsApp's message id (wamid.…); null for an outbound message Meta has not accepted yet",
  ),
  direction: z.enum(["inbound", "outbound"]),
  from: z.enum(["candidate", "recruiter"]),
  type: z.string(),
  originalType: z.string().nullable(),
  content: z.unknown(),
  text: z.string().nullable(),
  timestamp: isoDate,
  receivedAt: isoDate.nullable(),
  status: z.string(),
  statusAt: z.record(z.string(), isoDate),
  error: z.unknown(),
  pricing: z.unknown(),
  context: z.unknown(),
  referral: z.unknown(),
  errors: z.unknown(),
  /** Inbound media: the stored copy of the file (GET /api/media/:messageId). */
  media: mediaSchema.nullable().optional(),
  /** Inbound: why `timestamp` is not Meta's (missing, not a sane number, in the future). */
  timestampAdjusted: z.enum(["missing", "invalid", "future"]).optional(),
  /** Inbound: the timestamp Meta sent, as text, when `timestamp` replaced it. */
  originalTimestamp: z.string().optional(),
  /** Inbound: parts of the message that could not be read. */
  problems: z.array(z.string()).optional(),
  /** Outbound: text, template, media, interactive or reaction (planned, then what was sent). */
  kind: z.string().optional(),
  /** Outbound: what the send API was asked (candidate, text, template name and variables, media…). */
  request: z.record(z.string(), z.unknown()).optional(),
  /** Outbound: the template actually sent. */
  template: z
    .object({
      name: z.string(),
      language: z.string(),
      category: z.string().nullable().optional(),
      vars: z.array(z.string()),
    })
    .nullable()
    .optional(),
  /** Outbound, MAD: the expected cost until Meta reports pricing, then what that pricing implies. */
  cost: z.number().optional(),
  costCategory: z.string().optional(),
  costSource: z.enum(["estimate", "meta"]).optional(),
  /** Outbound: why it is held, failed or suppressed, in words a dashboard can show, and a stable code. */
  reason: z.string().nullable().optional(),
  reasonCode: z.string().nullable().optional(),
  heldAt: isoDate.nullable().optional(),
  /** Outbound: the automatic template sent after this text failed outside the window, and the reverse link. */
  fallbackMessageId: objectId.nullable().optional(),
  fallbackOf: objectId.nullable().optional(),
  /** Outbound: the campaign (POST /api/campaigns) this message is one of. */
  campaignId: objectId.nullable().optional(),
  /** Outbound: `app_echo` when written in the WhatsApp Business app. */
  source: z.string().optional(),
});
export type MessagePayload = z.infer<typeof messageSchema>;

/** `message:received`: a candidate's message was stored. The platform's `{ conversationId, message: { from, text, timestamp } }`. */
export const messageReceivedSchema = z.object({
  clientId: objectId,
  conversationId: objectId,
  message: messageSchema,
});
export type MessageReceivedPayload = z.infer<typeof messageReceivedSchema>;

/**
 * `message:sent`: Meta accepted an outbound message. The platform's `{ conversationId, messageId,
 * status: "sent" }`, plus the whole message.
 */
export const messageSentSchema = z.object({
  clientId: objectId,
  conversationId: objectId,
  messageId: described(objectId, "The id the send API returned (POST /api/messages/send → messageId); not the wamid"),
  wamid: described(z.string(), "WhatsApp's id of the message, as Meta returned it"),
  status: z.literal("sent"),
  message: messageSchema,
});
export type MessageSentPayload = z.infer<typeof messageSentSchema>;

/** What Meta or the gateway said went wrong with a message. */
export const messageErrorSchema = z.object({
  code: z.union([z.number(), z.string()]).optional(),
  title: z.string().optional(),
  message: z.string().optional(),
  details: z.string().optional(),
});

/**
 * `message:status`: a message's delivery state moved. The platform's `{ messageId, status }`.
 * `messageId` is our id (the send API's answer for an outbound message); `wamid` is WhatsApp's.
 */
export const messageStatusSchema = z.object({
  clientId: objectId,
  conversationId: objectId,
  messageId: described(objectId, "Our id of the message: the messageId the send API returned. Not the wamid"),
  wamid: described(z.string().nullable(), "WhatsApp's id (wamid.…); null when Meta never accepted the message"),
  status: z.enum(MESSAGE_STATUSES),
  timestamp: isoDate,
  error: messageErrorSchema.nullable(),
  pricing: z.unknown(),
});
export type MessageStatusPayload = z.infer<typeof messageStatusSchema>;

/** Conversation fields an update may name (besides `unreadCount` and `lastMessageAt`, always present). */
export const CONVERSATION_UPDATE_FIELDS = [
  "unreadCount",
  "lastMessageAt",
  "messageCount",
  "lastMessageFrom",
  "lastMessagePreview",
  "lastMessageType",
  "lastInboundAt",
  "windowExpiresAt",
  "inWindow",
  "candidateName",
  "status",
  "candidatePhone",
  "candidateUserId",
  "candidateUsername",
] as const;
export type ConversationUpdateField = (typeof CONVERSATION_UPDATE_FIELDS)[number];

/**
 * A conversation:updated's `updates`: the named fields as the conversation record has them (taken
 * from conversationSchema, so the two never drift), `unreadCount` and `lastMessageAt` always present.
 */
export const conversationUpdatesSchema = z.object(
  conversationSchema
    .pick(
      Object.fromEntries(CONVERSATION_UPDATE_FIELDS.map((f) => [f, true])) as { [F in ConversationUpdateField]: true },
    )
    .partial()
    .required({ unreadCount: true, lastMessageAt: true }).shape,
);
export type ConversationUpdates = z.infer<typeof conversationUpdatesSchema>;

/**
 * `conversation:updated`: a conversation's summary changed. The platform's `{ conversationId, updates:
 * { unreadCount, lastMessageAt } }`; `updates` also names whatever else changed, and `conversation`
 * is the whole conversation after the change (what GET /api/messages/conversations lists).
 */
export const conversationUpdatedSchema = z.object({
  clientId: objectId,
  conversationId: objectId,
  updates: conversationUpdatesSchema,
  conversation: conversationSchema,
});
export type ConversationUpdatedPayload = z.infer<typeof conversationUpdatedSchema>;

/**
 * `conversation:deleted`: the conversation no longer exists, because the candidate's data was erased
 * on request (`erasure`), its retention ended (`retention`), or it was the same person's as another
 * conversation (`merged`: a message from a new number stored before the number change; its messages
 * are now in `mergedInto`, announced by a `conversation:updated`). Ids only: nothing that names the
 * candidate.
 */
export const conversationDeletedSchema = z.object({
  clientId: objectId,
  conversationId: objectId,
  reason: z.enum(["erasure", "retention", "merged"]),
  /** `merged` only: the conversation that holds its messages now. */
  mergedInto: objectId.optional(),
});
export type ConversationDeletedPayload = z.infer<typeof conversationDeletedSchema>;

/** `message:media`: an inbound media message's file was stored, failed, or waits (heldReason); fetch it from GET /api/media/:messageId. */
export const messageMediaSchema = z.object({
  clientId: objectId,
  conversationId: objectId,
  messageId: objectId,
  media: mediaSchema,
});
export type MessageMediaPayload = z.infer<typeof messageMediaSchema>;

export const CLIENT_STATUS_VALUES = ["pending", "active", "reauth_required", "disconnected"] as const;

/** `client:status` for a change of the WhatsApp connection's status (connected, token refused, disconnected…). */
export const clientStatusChangedSchema = z.object({
  clientId: objectId,
  phoneNumberId: z.string(),
  status: z.enum(CLIENT_STATUS_VALUES),
  previousStatus: z.enum(CLIENT_STATUS_VALUES),
  reason: described(
    z.string().nullable(),
    "CONNECTED, RECONNECTED, USER_DISCONNECTED, TOKEN_INVALID, TOKEN_EXPIRED…; QUALITY_FLAGGED / QUALITY_RESTORED (status unchanged) when Meta flags or clears the number's quality",
  ),
  detail: z.string().nullable(),
  at: isoDate,
  /** With QUALITY_FLAGGED / QUALITY_RESTORED: whether marketing first contacts from this number are paused. */
  marketingPaused: described(
    z.boolean().optional(),
    "with QUALITY_FLAGGED / QUALITY_RESTORED: marketing first contacts from this number are paused (held) or resumed",
  ),
});
export type ClientStatusChangedPayload = z.infer<typeof clientStatusChangedSchema>;

/** `client:status` warning that the access token expires soon (the status is still `active`). */
export const tokenExpiringSchema = z.object({
  clientId: objectId,
  phoneNumberId: z.string(),
  status: z.literal("active"),
  warning: z.literal("token_expiring"),
  tokenExpiresAt: isoDate,
});
export type TokenExpiringPayload = z.infer<typeof tokenExpiringSchema>;

/** `client:status`: either a status change or the token-expiry warning (which has `warning`). */
export const clientStatusSchema = z.union([tokenExpiringSchema, clientStatusChangedSchema]);
export type ClientStatusPayload = ClientStatusChangedPayload | TokenExpiringPayload;

/** Scopes of a candidate's opt-out: `all` (nothing may be sent) or `marketing` (marketing templates may not). */
export const OPT_OUT_SCOPE_VALUES = ["marketing", "all"] as const;

/** One change of the opt-out register, as recorded in its audit trail. */
export const optOutChangeSchema = z.object({
  action: z.enum(["opt_out", "resume"]),
  scope: z.enum(OPT_OUT_SCOPE_VALUES),
  source: described(
    z.string(),
    "candidate_message (STOP, START…), meta_user_preferences, meta_131050, recruiter, platform, identity_change",
  ),
  at: isoDate,
  wamid: described(z.string().nullable(), "The candidate's message or the failed message that made the change"),
  actor: z.object({ role: z.string(), userId: z.string() }).nullable(),
  reason: z.string().nullable(),
});
export type OptOutChangePayload = z.infer<typeof optOutChangeSchema>;

/**
 * `candidate:opt_out`: a candidate's opt-out changed. `scope` is what is in force after the change
 * (null: the candidate may be messaged again); `conversationId` the candidate's conversation, when one exists.
 */
export const candidateOptOutSchema = z.object({
  clientId: objectId,
  conversationId: objectId.nullable(),
  candidatePhone: z.string().nullable(),
  candidateUserId: z.string().nullable(),
  scope: z.enum(OPT_OUT_SCOPE_VALUES).nullable(),
  change: optOutChangeSchema,
});
export type CandidateOptOutPayload = z.infer<typeof candidateOptOutSchema>;

/**
 * `conversation:blocked`: the recruiter blocked or unblocked the candidate on the business number
 * (Meta's Block Users API). While blocked, nothing can be sent to them and their messages are not
 * routed to the recruiter. Ids only, besides who did it.
 */
export const conversationBlockedSchema = z.object({
  clientId: objectId,
  conversationId: objectId,
  blocked: z.boolean(),
  at: isoDate,
  actor: z.object({ role: z.string(), userId: z.string() }),
});
export type ConversationBlockedPayload = z.infer<typeof conversationBlockedSchema>;
/** A campaign's counts (cumulative: a message read counts in `sent`, `delivered` and `read`). */
export const campaignCountsSchema = z.object({
  /** Accepted and waiting to go now (queued, pacing, held). */
  queued: z.number().int().nonnegative(),
  /** Accepted and waiting for a later time (the portfolio's messaging limit, quiet hours). */
  scheduled: z.number().int().nonnegative(),
  sent: z.number().int().nonnegative(),
  delivered: z.number().int().nonnegative(),
  read: z.number().int().nonnegative(),
  /** The candidate wrote after it (their first message after the campaign's template). */
  replied: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  /** Never sent: the candidate opted out (at acceptance or before the send), or the campaign was cancelled. */
  suppressed: z.number().int().nonnegative(),
  /** The part of `suppressed` the cancellation stopped. */
  cancelled: z.number().int().nonnegative(),
});
export type CampaignCounts = z.infer<typeof campaignCountsSchema>;

/** `campaign:progress`: a campaign's counts changed (throttled: at most one per campaign per second). */
export const campaignProgressSchema = z.object({
  clientId: objectId,
  campaignId: objectId,
  status: described(
    z.enum(["expanding", "accepting", "running", "cancelled"]),
    "`expanding` while the outbound worker decides and queues its recipients, `running` once all are, `cancelled` once POST /api/campaigns/:id/cancel ran",
  ),
  counts: campaignCountsSchema,
  at: isoDate,
});
export type CampaignProgressPayload = z.infer<typeof campaignProgressSchema>;
