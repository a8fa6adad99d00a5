import { z } from "zod";
import { isoDate, objectId } from "./scalars.js";
import {
  CLIENT_STATUS_VALUES,
  OPT_OUT_SCOPE_VALUES,
  campaignCountsSchema,
  conversationSchema,
  messageSchema,
} from "./payloads.js";

/**
 * REST answers a dashboard reads besides the conversation and message records (payloads.ts): their
 * shapes, for the inbox's type-check (`inbox/static/types.js` imports these types) and the routes'
 * contract tests. Ids are strings, dates ISO-8601 strings. Strict at the top: a contract test refuses
 * an answer with a key the schema does not name.
 */

/**
 * POST /api/messages/send → 202. The platform's `{ success, messageId, cost }`, plus what was planned
 * (`kind`), whether it goes now (`status`) and, when it waits, until when and why.
 */
export const sendAnswerSchema = z.strictObject({
  success: z.literal(true),
  /** Our id of the message: the `messageId` of its message:sent and message:status events. */
  messageId: objectId,
  /** `held`: waits for the client to be active again (or a quality pause); `scheduled`: goes at `scheduledFor`. */
  status: z.enum(["queued", "held", "scheduled"]),
  kind: z.enum(["text", "template", "media", "interactive", "reaction"]),
  /** Expected cost in MAD; confirmed or corrected by the pricing Meta reports. */
  cost: z.number(),
  /** Only when the request has media: whether it is planned to go (not with the window closed). */
  media: z.object({ willSend: z.boolean(), reason: z.string().optional() }).optional(),
  scheduledFor: isoDate.optional(),
  /** Why it waits: MESSAGING_LIMIT, QUIET_HOURS or QUALITY_PAUSED. */
  reason: z.enum(["MESSAGING_LIMIT", "QUIET_HOURS", "QUALITY_PAUSED"]).optional(),
  /** The reason in words, for a held send. */
  detail: z.string().optional(),
});
export type SendAnswerPayload = z.infer<typeof sendAnswerSchema>;

/** GET /inbox/config.json: what the inbox page needs to start. */
export const inboxConfigSchema = z.strictObject({
  /** The realtime server's URL (Socket.io), null when none is configured. */
  realtimeUrl: z.string().nullable(),
  /** Whether the demo's simulated candidate is available. */
  demo: z.boolean(),
  /** The price table the send API estimates with (OUTBOUND_PRICE_TABLE). */
  prices: z.record(z.string(), z.unknown()),
  currency: z.string(),
});
export type InboxConfigPayload = z.infer<typeof inboxConfigSchema>;

/**
 * GET /inbox/api/send-preview: what POST /api/messages/send would do for this candidate now (the
 * server's planSend), what it costs, and what the candidate's opt-out would refuse.
 */
export const sendPreviewSchema = z.strictObject({
  /** The candidate's opt-out in force, and what the send API would refuse because of it (null: nothing). */
  optOut: z
    .object({
      scope: z.enum(OPT_OUT_SCOPE_VALUES).nullable(),
      text: z.string().nullable(),
      template: z.string().nullable(),
    })
    .nullable(),
  candidatePhone: z.string().nullable(),
  candidateUserId: z.string().nullable(),
  conversationId: objectId.nullable(),
  firstContact: z.boolean(),
  windowExpiresAt: isoDate.nullable(),
  inWindow: z.boolean(),
  /** What a send with a message would be now: text inside the window, else the template. */
  kind: z.enum(["text", "template"]),
  currency: z.literal("MAD"),
  text: z.object({ cost: z.number(), category: z.string() }),
  template: z.object({
    name: z.string(),
    language: z.string(),
    category: z.string(),
    cost: z.number(),
    body: z.string().nullable(),
    parameterCount: z.number().int().nonnegative(),
    usable: z.boolean(),
    problem: z.string().nullable(),
    /** The template's header: a media one must be given by the send (`usableWithHeader`: then it can go). */
    header: z
      .object({
        format: z.string(),
        media: z.enum(["image", "video", "document"]).nullable(),
        usableWithHeader: z.boolean(),
      })
      .nullable(),
  }),
});
export type SendPreviewPayload = z.infer<typeof sendPreviewSchema>;

/** What the opt-out register's entries name a candidate by; `…_hash`: an erased candidate's, kept as a keyed hash. */
export const OPT_OUT_CANDIDATE_TYPES = ["phone", "user_id", "phone_hash", "user_id_hash"] as const;

/** A recruiter or platform principal that made a change through the API. */
const actorSchema = z.strictObject({ role: z.string(), userId: z.string() });

/** One scope's latest change on one identity. */
export const optOutScopeStateSchema = z.strictObject({
  active: z.boolean(),
  at: isoDate,
  source: z.string(),
  /** Who may lift it: the candidate (their own STOP, Meta's preference, 131050) or the tenant. */
  owner: z.enum(["candidate", "tenant"]),
});

/** One identity's entry in the opt-out register. */
export const optOutEntrySchema = z.strictObject({
  /** The phone number or user id; null for an erased candidate's entry (only its keyed hash is stored, never shown). */
  candidate: z.string().nullable(),
  candidateType: z.enum(OPT_OUT_CANDIDATE_TYPES),
  /** What is in force: `all` wins over `marketing`; null: nothing. */
  scope: z.enum(OPT_OUT_SCOPE_VALUES).nullable(),
  all: optOutScopeStateSchema.nullable(),
  marketing: optOutScopeStateSchema.nullable(),
  updatedAt: isoDate,
});
export type OptOutEntryPayload = z.infer<typeof optOutEntrySchema>;

/** One change of the register, from its audit trail. */
export const optOutTrailChangeSchema = z.strictObject({
  id: objectId,
  action: z.enum(["opt_out", "resume"]),
  scope: z.enum(OPT_OUT_SCOPE_VALUES),
  source: z.string(),
  /** The identities it applied to, in clear (an erased candidate's keyed hashes are left out). */
  candidates: z.array(z.string()),
  wamid: z.string().nullable(),
  actor: actorSchema.nullable(),
  reason: z.string().nullable(),
  at: isoDate,
  recordedAt: isoDate,
});
export type OptOutTrailChangePayload = z.infer<typeof optOutTrailChangeSchema>;

/** GET /api/clients/:clientId/opt-outs: the opt-outs in force, newest first, a page at a time. */
export const optOutListSchema = z.strictObject({
  clientId: objectId,
  optOuts: z.array(optOutEntrySchema),
  /** The `cursor` of the next page; null on the last. */
  nextCursor: z.string().nullable(),
});
export type OptOutListPayload = z.infer<typeof optOutListSchema>;

/** GET /api/clients/:clientId/opt-outs?candidatePhone|candidateUserId: one candidate's entries and latest changes. */
export const candidateOptOutsSchema = z.strictObject({
  clientId: objectId,
  scope: z.enum(OPT_OUT_SCOPE_VALUES).nullable(),
  conversationId: objectId.nullable(),
  optOuts: z.array(optOutEntrySchema),
  changes: z.array(optOutTrailChangeSchema),
});
export type CandidateOptOutsPayload = z.infer<typeof candidateOptOutsSchema>;

/** POST /api/clients/:clientId/opt-outs → 201 (recorded) or 200 (the same request again): the change and what is in force. */
export const optOutChangeAnswerSchema = z.strictObject({
  clientId: objectId,
  changeId: objectId,
  scope: z.enum(OPT_OUT_SCOPE_VALUES).nullable(),
  conversationId: objectId.nullable(),
  candidates: z.array(z.string()),
});
export type OptOutChangeAnswerPayload = z.infer<typeof optOutChangeAnswerSchema>;

/** GET and PUT /api/clients/:clientId/sending-policy: the policy, the portfolio's budget now and the number's quality. */
export const sendingPolicySchema = z.strictObject({
  clientId: objectId,
  quietHours: z
    .strictObject({ start: z.string(), end: z.string() })
    .nullable()
    .describe("local times in the candidate's zone; null: off"),
  timeZone: z.string().describe("the tenant's IANA zone, for candidates of unknown country"),
  isDefault: z.boolean().describe("true while the tenant has set no policy (21:00–09:00, Africa/Casablanca)"),
  messagingLimit: z.strictObject({
    limit: z
      .number()
      .nullable()
      .describe(
        "unique recipients of business-initiated messages per moving 24 h for the portfolio; -1 unlimited; null unknown yet",
      ),
    used: z.number().describe("recipients counted in the moving window ending now"),
    scheduled: z.number().describe("first contacts scheduled for later because the budget is spent"),
    nextFreeAt: isoDate.nullable().describe("when the next first contact can go; null when unlimited or unknown"),
    windowMs: z.number(),
  }),
  quality: z
    .strictObject({
      rating: z.string().nullable(),
      event: z.string().nullable(),
      marketingPaused: z.boolean(),
      at: isoDate,
    })
    .nullable()
    .describe("the number's last quality event; marketingPaused: marketing first contacts are held"),
});
export type SendingPolicyPayload = z.infer<typeof sendingPolicySchema>;

/** POST /api/campaigns → 202: the campaign stored, its recipients decided and queued by the outbound worker. */
export const campaignAcceptedSchema = z.strictObject({ campaignId: objectId });
export type CampaignAcceptedPayload = z.infer<typeof campaignAcceptedSchema>;

/** GET /api/campaigns/:id: the campaign, its counts, and what was refused by position in the request (never a candidate). */
export const campaignSchema = z.strictObject({
  campaignId: objectId,
  clientId: objectId,
  templateName: z.string(),
  language: z.string(),
  status: z.enum(["expanding", "accepting", "running", "cancelled"]),
  /** Recipients in the request, and how many distinct ones remained. */
  requested: z.number().int().nonnegative(),
  recipients: z.number().int().nonnegative(),
  /** Positions in the request of recipients named twice. */
  duplicates: z.array(z.number().int().nonnegative()),
  /** Positions refused at acceptance, with why (an opt-out, an identity that is not one…). */
  suppressedAtAcceptance: z.array(z.strictObject({ index: z.number().int().nonnegative(), code: z.string() })),
  counts: campaignCountsSchema.strict(),
  /**
   * `expanding`: accepted, its recipients being decided and queued by the outbound worker (the counts
   * grow chunk by chunk); `accepted`: every recipient decided (queued, scheduled or suppressed).
   */
  expansion: z.strictObject({
    state: z.enum(["expanding", "accepted"]),
    chunks: z.number().int().nonnegative(),
    expandedChunks: z.number().int().nonnegative(),
  }),
  createdAt: isoDate,
  acceptedAt: isoDate.nullable(),
  cancelledAt: isoDate.nullable(),
});
export type CampaignPayload = z.infer<typeof campaignSchema>;

/** POST /api/campaigns/:id/cancel: the campaign after it, and how many messages this call stopped. */
export const campaignCancelledSchema = campaignSchema.extend({ cancelled: z.number().int().nonnegative() });
export type CampaignCancelledPayload = z.infer<typeof campaignCancelledSchema>;

/** GET /api/clients/:clientId/blocks: the tenant's blocked candidates' conversations, latest block first, a page at a time. */
export const blockListSchema = z.strictObject({
  clientId: objectId,
  conversations: z.array(conversationSchema),
  /** The `cursor` of the next page; null on the last. */
  nextCursor: z.string().nullable(),
});
export type BlockListPayload = z.infer<typeof blockListSchema>;

/** POST and DELETE /api/clients/:clientId/blocks: the candidate's conversation after the block or unblock. */
export const blockAnswerSchema = z.strictObject({
  clientId: objectId,
  conversationId: objectId,
  blocked: z.boolean(),
  /** False when the conversation was already in that state (nothing asked of Meta for a block). */
  changed: z.boolean(),
  blockedAt: isoDate.nullable(),
  conversation: conversationSchema,
});
export type BlockAnswerPayload = z.infer<typeof blockAnswerSchema>;

/** Messages and their cost in MAD, for one pricing category or kind. */
const costLineSchema = z.strictObject({ count: z.number().int().nonnegative(), cost: z.number() });

/** GET /api/messages/costs: outbound costs in MAD between two instants, by pricing category and by kind. */
export const costTotalsSchema = z.strictObject({
  clientId: objectId,
  from: isoDate,
  to: isoDate,
  currency: z.literal("MAD"),
  total: z.number(),
  count: z.number().int().nonnegative(),
  byCategory: z.record(z.string(), costLineSchema),
  byKind: z.record(z.string(), costLineSchema),
  /** What was expected at acceptance (the rate card then), whether or not Meta has priced it since. */
  estimated: z.strictObject({
    total: z.number(),
    count: z.number().int().nonnegative(),
    byCategory: z.record(z.string(), costLineSchema),
  }),
  /** What Meta's pricing says (status webhooks): `billable` messages and their cost; `free` ones cost nothing. */
  billed: z.strictObject({
    total: z.number(),
    count: z.number().int().nonnegative(),
    billable: z.number().int().nonnegative(),
    free: z.number().int().nonnegative(),
    byCategory: z.record(z.string(), costLineSchema),
  }),
  /** Messages Meta has not priced yet (their `cost` is still the estimate). */
  unpriced: z.strictObject({ count: z.number().int().nonnegative(), estimated: z.number() }),
});
export type CostTotalsPayload = z.infer<typeof costTotalsSchema>;

/** A message template of the tenant's WABA as last synced from Meta. */
export const templateSchema = z.strictObject({
  id: objectId,
  wabaId: z.string(),
  /** Meta's id of the template; null for one stored before it was recorded. */
  metaId: z.string().nullable(),
  name: z.string(),
  language: z.string(),
  /** Meta's review status (APPROVED, PENDING, REJECTED, PAUSED, DISABLED…), DELETED once Meta drops it. */
  status: z.string(),
  category: z.string().nullable(),
  /** Variables a send must give: the header's and the body's. */
  parameterCount: z.number().int().nonnegative(),
  /** The template's components as Meta describes them (header, body, footer, buttons). */
  components: z.array(z.unknown()),
  usageCount: z.number().int().nonnegative(),
  lastUsedAt: isoDate.nullable(),
  syncedAt: isoDate.nullable(),
  /** Why Meta rejected or paused it, when it says. */
  statusReason: z.string().nullable(),
});
export type TemplatePayload = z.infer<typeof templateSchema>;

/** GET /api/templates: the tenant's templates as last synced. */
export const templateListSchema = z.strictObject({ templates: z.array(templateSchema) });
export type TemplateListPayload = z.infer<typeof templateListSchema>;

/** POST /api/templates/sync: how many templates Meta listed (stored or updated) and how many it dropped. */
export const templateSyncAnswerSchema = z.strictObject({
  success: z.literal(true),
  /** The client's WABA; null when the client has none recorded (nothing was asked of Meta). */
  wabaId: z.string().nullable(),
  count: z.number().int().nonnegative(),
  removed: z.number().int().nonnegative(),
});
export type TemplateSyncAnswerPayload = z.infer<typeof templateSyncAnswerSchema>;

/** GET /api/media/:messageId/url: a short-lived signed URL of a media message's stored copy, and that copy's state. */
export const mediaUrlSchema = z.strictObject({
  /** Relative to the ingress: `/api/media/:messageId?sig&exp`, usable without a JWT until `expiresAt`. */
  url: z.string(),
  expiresAt: isoDate,
  /** The stored copy's state: the file answers 409 while `pending`, 404 once `failed`. */
  status: z.enum(["pending", "stored", "failed"]),
});
export type MediaUrlPayload = z.infer<typeof mediaUrlSchema>;

/** A WhatsApp connection (a client: one business number of a recruiter) as the onboarding routes answer it. */
export const clientSchema = z.strictObject({
  id: objectId,
  /** The same id, for dashboards that read `_id`. */
  _id: objectId,
  /** Always a string: an ObjectId userId (the platform's form) as its hex. */
  userId: z.string(),
  companyName: z.string(),
  phoneNumberId: z.string(),
  /** Absent for a document the platform wrote without one, until a check or a connection finds it. */
  wabaId: z.string().optional(),
  whatsappNumber: z.string(),
  displayPhoneNumber: z.string().nullable(),
  verifiedName: z.string().nullable(),
  qualityRating: z.string().nullable(),
  status: z.enum(CLIENT_STATUS_VALUES),
  statusReason: z.string().nullable(),
  statusDetail: z.string().nullable(),
  /** Whether a token is stored (its value never leaves the vault). */
  hasToken: z.boolean(),
  tokenExpiresAt: isoDate.nullable(),
  connectedAt: isoDate.nullable(),
  disconnectedAt: isoDate.nullable(),
  updatedAt: isoDate.nullable(),
});
export type ClientPayload = z.infer<typeof clientSchema>;

/** POST /api/auth/whatsapp/initiate: Meta's dialog URL, with the signed single-use state. */
export const onboardingInitiateSchema = z.strictObject({ oauthUrl: z.string() });
export type OnboardingInitiatePayload = z.infer<typeof onboardingInitiateSchema>;

/** POST /api/auth/whatsapp/exchange and POST /api/admin/whatsapp/connect: the client connected. */
export const clientConnectedSchema = z.strictObject({
  success: z.literal(true),
  client: clientSchema,
  /** The client existed (same user, same number) and was connected again. */
  reconnected: z.boolean(),
});
export type ClientConnectedPayload = z.infer<typeof clientConnectedSchema>;

/** DELETE /api/auth/whatsapp/disconnect. */
export const clientDisconnectedSchema = z.strictObject({ success: z.literal(true) });
export type ClientDisconnectedPayload = z.infer<typeof clientDisconnectedSchema>;

/** POST /api/auth/whatsapp/check: whether Meta accepts the client's token for its number, and the client after it. */
export const connectionCheckSchema = z.strictObject({ ok: z.boolean(), client: clientSchema });
export type ConnectionCheckPayload = z.infer<typeof connectionCheckSchema>;

/** GET /api/auth/whatsapp/clients: the user's WhatsApp connections, oldest first. */
export const clientListSchema = z.strictObject({ clients: z.array(clientSchema) });
export type ClientListPayload = z.infer<typeof clientListSchema>;

/** POST /inbox/api/demo/candidate: the simulated candidate's message, as the simulator delivered it to the webhook. */
export const demoCandidateAnswerSchema = z.strictObject({
  success: z.literal(true),
  /** The simulated message's wamid; null when the simulator did not say. */
  wamid: z.string().nullable(),
  /** The HTTP status the webhook answered the simulator; null when it did not say. */
  ingressStatus: z.number().int().nullable(),
});
export type DemoCandidateAnswerPayload = z.infer<typeof demoCandidateAnswerSchema>;

/** GET /api/messages/conversations: a page of the tenant's conversations, newest activity first. */
export const conversationListSchema = z.strictObject({
  conversations: z.array(conversationSchema),
  total: z.number().int().nonnegative(),
  hasMore: z.boolean(),
});
export type ConversationListPayload = z.infer<typeof conversationListSchema>;

/** GET /api/messages/conversation/:id: the conversation and a page of its messages, newest first. */
export const conversationPageSchema = z.strictObject({
  conversation: conversationSchema,
  messages: z.array(messageSchema),
  /** The `cursor` of the next (older) page; null on the last. */
  nextCursor: z.string().nullable(),
  hasMore: z.boolean(),
});
export type ConversationPagePayload = z.infer<typeof conversationPageSchema>;

/** PATCH /api/messages/conversation/:id/read. */
export const conversationReadSchema = z.strictObject({ success: z.literal(true) });
export type ConversationReadPayload = z.infer<typeof conversationReadSchema>;

/** POST /api/messages/conversation/:id/typing → 202: whether the typing indicator was asked of Meta, and if not why. */
export const typingAnswerSchema = z.union([
  z.strictObject({ success: z.literal(true), typing: z.literal(true) }),
  z.strictObject({
    success: z.literal(true),
    typing: z.literal(false),
    reason: z.enum(["no_inbound", "already_read", "rate_limited", "unavailable"]),
  }),
]);
export type TypingAnswerPayload = z.infer<typeof typingAnswerSchema>;

/** POST /api/clients/:clientId/candidates/erase (202) and GET …/erase/:erasureId: where an erasure stands. Names no identifier. */
export const erasureSchema = z.strictObject({
  erasureId: objectId,
  status: z.enum(["running", "done", "failed"]),
  allTenants: z.boolean(),
  clientIds: z.array(objectId),
  requestedAt: isoDate,
  finishedAt: isoDate.nullable(),
  removed: z.record(z.string(), z.number()).describe("documents, files, jobs and keys removed so far, by collection"),
  error: z.strictObject({ code: z.string(), message: z.string() }).nullable(),
});
export type ErasurePayload = z.infer<typeof erasureSchema>;

const retentionPeriods = {
  webhookEventsDays: z.number().nullable().describe("raw webhook records, days (null: never deleted)"),
  deadLettersDays: z.number().nullable().describe("dead letters, days (null: never deleted)"),
  messagesMonths: z
    .number()
    .nullable()
    .describe("conversations with their messages and media, months after the last message (null: never deleted)"),
};

/** GET and PUT /api/clients/:clientId/retention: the periods in force, the tenant's own settings and the defaults. */
export const retentionSchema = z.strictObject({
  clientId: objectId,
  ...retentionPeriods,
  overrides: z
    .strictObject({
      webhookEventsDays: z.number().nullable().optional(),
      deadLettersDays: z.number().nullable().optional(),
      messagesMonths: z.number().nullable().optional(),
    })
    .describe("what the tenant set; absent fields follow the defaults"),
  defaults: z.strictObject(retentionPeriods).describe("the deployment's defaults (RETENTION_*)"),
});
export type RetentionPayload = z.infer<typeof retentionSchema>;

/** One of Meta's validation errors of a Flow JSON, as Meta gives it (lines, columns, pointers…). */
const flowValidationErrorSchema = z.looseObject({ error: z.string(), error_type: z.string(), message: z.string() });

/** A WhatsApp Flow of the tenant's WABA, as Meta lists it. */
export const flowSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  status: z.string().describe("DRAFT, PUBLISHED, DEPRECATED, BLOCKED or THROTTLED (Meta's)"),
  categories: z.array(z.string()),
  validationErrors: z.array(flowValidationErrorSchema),
});
export type FlowPayload = z.infer<typeof flowSchema>;

/** GET /api/clients/:clientId/flows. */
export const flowListSchema = z.strictObject({ flows: z.array(flowSchema) });
export type FlowListPayload = z.infer<typeof flowListSchema>;

/** POST /api/clients/:clientId/flows (201) and PUT …/flows/:flowId/json: the flow created or its Flow JSON uploaded. */
export const flowUploadedSchema = z.strictObject({
  id: z.string(),
  validationErrors: z.array(flowValidationErrorSchema),
  endpointUri: z.string().nullable().describe("set at Meta when the Flow JSON uses the data-exchange endpoint"),
});
export type FlowUploadedPayload = z.infer<typeof flowUploadedSchema>;

/** A flow's metadata changed, published, deprecated or deleted. */
export const flowActionSchema = z.strictObject({ success: z.literal(true) });
export type FlowActionPayload = z.infer<typeof flowActionSchema>;

/** The number's business public key for the data-exchange endpoint (the private key never leaves the vault). */
export const flowKeySchema = z.strictObject({
  keyId: z.string(),
  publicKey: z.string().describe("PEM (SPKI); the private key never leaves the vault"),
  createdAt: isoDate,
  uploadedAt: isoDate.nullable(),
});
export type FlowKeyPayload = z.infer<typeof flowKeySchema>;

/** GET /api/clients/:clientId/flows/keys. */
export const flowKeyListSchema = z.strictObject({ keys: z.array(flowKeySchema) });
export type FlowKeyListPayload = z.infer<typeof flowKeyListSchema>;

/** GET and PUT /api/clients/:clientId/flows/interview-slots: the slots the data-exchange endpoint offers. */
export const interviewSlotListSchema = z.strictObject({
  slots: z.array(
    z.strictObject({ id: z.string(), title: z.string(), startsAt: isoDate, description: z.string().nullable() }),
  ),
});
export type InterviewSlotListPayload = z.infer<typeof interviewSlotListSchema>;
