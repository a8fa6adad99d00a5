import {
  campaignCountsSchema,
  conversationSchema,
  mediaSchema,
  messageSchema,
  type CampaignCounts,
  type ConversationPayload,
  type MediaPayload,
  type MessagePayload,
} from "./payloads.js";
import {
  blockAnswerSchema,
  blockListSchema,
  campaignSchema,
  costTotalsSchema,
  erasureSchema,
  retentionSchema,
  templateSchema,
  optOutChangeAnswerSchema,
  optOutEntrySchema,
  optOutScopeStateSchema,
  optOutTrailChangeSchema,
  sendingPolicySchema,
  type BlockAnswerPayload,
  type BlockListPayload,
  type CampaignPayload,
  type CostTotalsPayload,
  type ErasurePayload,
  type RetentionPayload,
  type TemplatePayload,
  type OptOutChangeAnswerPayload,
  type OptOutEntryPayload,
  type OptOutTrailChangePayload,
  type SendingPolicyPayload,
} from "./rest.js";

/**
 * Stored records → the contract's JSON records, for the REST answers and the realtime events alike,
 * so that a dashboard sees one shape whichever way a record reaches it. The output has exactly the
 * keys of the contract's schema: a field stored for the workers (a count claim, a status rank, the
 * dedupe key, the raw webhook, a send's lease) never leaves, whatever the document holds. Inputs are
 * typed structurally (ids with `toHexString`, dates), so this package needs no persistence code.
 */

/** A stored id (a mongoose ObjectId). */
interface StoredId {
  toHexString(): string;
}
type StoredDate = Date | string;

const iso = (d: StoredDate | null | undefined) => (d ? new Date(d).toISOString() : null);
const hex = (id: StoredId | string | null | undefined) =>
  id == null ? null : typeof id === "string" ? id : id.toHexString();

/** A stored conversation as @linkojob/db's `conversationView` returns it (`inWindow` decided at read time). */
export interface StoredConversation {
  _id: StoredId;
  clientId: StoredId;
  candidateKey: string;
  candidatePhone?: string | null;
  candidateUserId?: string | null;
  candidateUsername?: string | null;
  candidateParentUserId?: string | null;
  candidateName?: string | null;
  applicationId?: string | null;
  jobTitle?: string | null;
  status: string;
  messageCount?: number | null;
  unreadCount?: number | null;
  lastMessageAt?: StoredDate | null;
  lastMessageFrom?: string | null;
  lastMessagePreview?: string | null;
  lastMessageType?: string | null;
  lastInboundAt?: StoredDate | null;
  windowExpiresAt?: StoredDate | null;
  /** Whether the 24-hour window is open now: decided by the caller's window rule, not here. */
  inWindow: boolean;
  blockedAt?: StoredDate | null;
  createdAt?: StoredDate | null;
  updatedAt?: StoredDate | null;
}

export function conversationJson(c: StoredConversation): ConversationPayload {
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
    inWindow: c.inWindow,
    blockedAt: iso(c.blockedAt),
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
  } satisfies Record<keyof typeof conversationSchema.shape, unknown>;
}

/** The stored copy of a media file (as @linkojob/db's MessageMedia). */
export interface StoredMedia {
  status: MediaPayload["status"];
  fileId?: StoredId | null;
  size?: number | null;
  mimeType?: string | null;
  filename?: string | null;
  sha256Ok?: boolean | null;
  error?: { code: string; reason: string } | null;
  heldReason?: string | null;
}

/** The `media` of a message as dashboards receive it (ids as strings; attempts, hash and lease stay stored). */
export function mediaJson(media: StoredMedia): MediaPayload {
  return {
    status: media.status,
    fileId: hex(media.fileId),
    size: media.size ?? null,
    mimeType: media.mimeType ?? null,
    filename: media.filename ?? null,
    sha256Ok: media.sha256Ok ?? null,
    error: media.error ? { code: media.error.code, reason: media.error.reason } : null,
    heldReason: media.heldReason ?? null,
  } satisfies Record<keyof typeof mediaSchema.shape, unknown>;
}

/** A stored message (as @linkojob/db's MessageDoc, or OutboundMessageDoc with its outbound fields). */
export interface StoredMessage {
  _id: StoredId;
  clientId: StoredId;
  conversationId: StoredId;
  wamid?: string | null;
  direction: "inbound" | "outbound";
  type: string;
  originalType?: string | null;
  content?: unknown;
  text?: string | null;
  timestamp: StoredDate;
  receivedAt?: StoredDate | null;
  status: string;
  statusAt?: Record<string, StoredDate> | null;
  error?: unknown;
  pricing?: unknown;
  context?: unknown;
  referral?: unknown;
  errors?: unknown;
  media?: StoredMedia | null;
}

/** Fields a stored message has only sometimes: copied when present, converted to JSON (ids, dates). */
const OPTIONAL_MESSAGE_FIELDS = (Object.keys(messageSchema.shape) as Array<keyof typeof messageSchema.shape>).filter(
  (k) => messageSchema.shape[k].safeParse(undefined).success && k !== "media",
);

const jsonValue = (v: unknown): unknown =>
  v instanceof Date ? v.toISOString() : v && typeof v === "object" && "toHexString" in v ? hex(v as StoredId) : v;

export function messageJson(m: StoredMessage): MessagePayload {
  const id = m._id.toHexString();
  const statusAt: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.statusAt ?? {})) statusAt[k] = new Date(v).toISOString();
  const out: Record<string, unknown> = {
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
  const stored = m as unknown as Record<string, unknown>;
  for (const k of OPTIONAL_MESSAGE_FIELDS) if (stored[k] !== undefined && !(k in out)) out[k] = jsonValue(stored[k]);
  if (m.media) out.media = mediaJson(m.media);
  return out as MessagePayload;
}

/** A scope's latest change on one identity (as @linkojob/db's OptOutScopeState). */
export interface StoredOptOutScope {
  active: boolean;
  at: StoredDate;
  source: string;
  owner: "candidate" | "tenant";
}

/** One identity's entry of the opt-out register (as @linkojob/db's OptOutDoc). */
export interface StoredOptOut {
  key: string;
  keyType: OptOutEntryPayload["candidateType"];
  all?: StoredOptOutScope | null;
  marketing?: StoredOptOut["all"];
  updatedAt: StoredDate;
}

const optOutScopeJson = (s: StoredOptOutScope | null | undefined) =>
  s
    ? ({
        active: s.active,
        at: new Date(s.at).toISOString(),
        source: s.source,
        owner: s.owner,
      } satisfies Record<keyof typeof optOutScopeStateSchema.shape, unknown>)
    : null;

/** Whether an entry's key is an erased candidate's keyed hash (its type says so). */
const hashedType = (t: StoredOptOut["keyType"]) => t === "phone_hash" || t === "user_id_hash";

/** An opt-out entry as the API lists it: the register's ids and state changes stay stored, a keyed hash is never shown. */
export function optOutEntryJson(d: StoredOptOut): OptOutEntryPayload {
  const scope: OptOutEntryPayload["scope"] = d.all?.active ? "all" : d.marketing?.active ? "marketing" : null;
  return {
    candidate: hashedType(d.keyType) ? null : d.key,
    candidateType: d.keyType,
    scope,
    all: optOutScopeJson(d.all),
    marketing: optOutScopeJson(d.marketing),
    updatedAt: new Date(d.updatedAt).toISOString(),
  } satisfies Record<keyof typeof optOutEntrySchema.shape, unknown>;
}

/** One change of the opt-out register (as @linkojob/db's OptOutChangeDoc). */
export interface StoredOptOutChange {
  _id: StoredId;
  action: OptOutTrailChangePayload["action"];
  scope: OptOutTrailChangePayload["scope"];
  source: string;
  keys: string[];
  wamid?: string | null;
  actor?: { role: string; userId: string } | null;
  reason?: string | null;
  at: StoredDate;
  recordedAt: StoredDate;
}

/**
 * A change of the audit trail as the API shows it: its dedupe key and client stay stored; `isHashed`
 * names the keys that are an erased candidate's keyed hash (@linkojob/outbound's isHashedKey), left out.
 */
export function optOutChangeJson(c: StoredOptOutChange, isHashed: (key: string) => boolean): OptOutTrailChangePayload {
  return {
    id: c._id.toHexString(),
    action: c.action,
    scope: c.scope,
    source: c.source,
    candidates: c.keys.filter((k) => !isHashed(k)),
    wamid: c.wamid ?? null,
    actor: c.actor ? { role: c.actor.role, userId: c.actor.userId } : null,
    reason: c.reason ?? null,
    at: new Date(c.at).toISOString(),
    recordedAt: new Date(c.recordedAt).toISOString(),
  } satisfies Record<keyof typeof optOutTrailChangeSchema.shape, unknown>;
}

/** What POST /api/clients/:clientId/opt-outs answers, from the register's result. */
export function optOutChangeAnswerJson(
  clientId: StoredId,
  r: {
    changeId: StoredId;
    optOut: { scope: NonNullable<OptOutChangeAnswerPayload["scope"]> } | null;
    conversationId: StoredId | null;
    keys: string[];
  },
  isHashed: (key: string) => boolean,
): OptOutChangeAnswerPayload {
  return {
    clientId: clientId.toHexString(),
    changeId: r.changeId.toHexString(),
    scope: r.optOut?.scope ?? null,
    conversationId: hex(r.conversationId),
    candidates: r.keys.filter((k) => !isHashed(k)),
  } satisfies Record<keyof typeof optOutChangeAnswerSchema.shape, unknown>;
}

/** What GET and PUT /api/clients/:clientId/sending-policy answer, from the send gate's view of the client. */
export function sendingPolicyJson(v: {
  clientId: StoredId;
  policy: { quietHours: { start: string; end: string } | null; timeZone: string };
  isDefault: boolean;
  limit: number | null;
  usage: { used: number; scheduled: number; nextFreeAt: number | null };
  windowMs: number;
  quality: { rating: string | null; event: string | null; marketingPaused: boolean; at: StoredDate } | null;
}): SendingPolicyPayload {
  return {
    clientId: v.clientId.toHexString(),
    quietHours: v.policy.quietHours ? { start: v.policy.quietHours.start, end: v.policy.quietHours.end } : null,
    timeZone: v.policy.timeZone,
    isDefault: v.isDefault,
    messagingLimit: {
      limit: v.limit,
      used: v.usage.used,
      scheduled: v.usage.scheduled,
      nextFreeAt: v.usage.nextFreeAt === null ? null : new Date(v.usage.nextFreeAt).toISOString(),
      windowMs: v.windowMs,
    },
    quality: v.quality
      ? {
          rating: v.quality.rating,
          event: v.quality.event,
          marketingPaused: v.quality.marketingPaused,
          at: new Date(v.quality.at).toISOString(),
        }
      : null,
  } satisfies Record<keyof typeof sendingPolicySchema.shape, unknown>;
}

/** A stored campaign (as @linkojob/db's CampaignDoc). */
export interface StoredCampaign {
  _id: StoredId;
  clientId: StoredId;
  templateName: string;
  language: string;
  status: CampaignPayload["status"];
  requested: number;
  recipients: number;
  duplicates: number[];
  suppressed: Array<{ index: number; code: string }>;
  chunks?: number | null;
  expandedChunks?: number | null;
  createdAt: StoredDate;
  acceptedAt?: StoredDate | null;
  cancelledAt?: StoredDate | null;
}

/**
 * A campaign as GET /api/campaigns/:id answers it, with `counts` (the live counters in Redis, or the
 * copy stored with the campaign): its idempotency key, author, counts' copy time and whatever else a
 * counter hash or the stored copy holds stay stored.
 */
export function campaignJson(c: StoredCampaign, counts: Partial<CampaignCounts>): CampaignPayload {
  const count = {} as CampaignCounts;
  // A count the copy lacks (stored before that count existed) is 0.
  for (const k of Object.keys(campaignCountsSchema.shape) as Array<keyof CampaignCounts>) count[k] = counts[k] ?? 0;
  const state: CampaignPayload["expansion"]["state"] =
    c.status === "expanding" || c.status === "accepting" ? "expanding" : "accepted";
  return {
    campaignId: c._id.toHexString(),
    clientId: c.clientId.toHexString(),
    templateName: c.templateName,
    language: c.language,
    status: c.status,
    requested: c.requested,
    recipients: c.recipients,
    duplicates: [...c.duplicates],
    suppressedAtAcceptance: c.suppressed.map((s) => ({ index: s.index, code: s.code })),
    counts: count,
    expansion: { state, chunks: c.chunks ?? 0, expandedChunks: c.expandedChunks ?? 0 },
    createdAt: new Date(c.createdAt).toISOString(),
    acceptedAt: iso(c.acceptedAt),
    cancelledAt: iso(c.cancelledAt),
  } satisfies Record<keyof typeof campaignSchema.shape, unknown>;
}

/** A page of blocked conversations (already the contract's records) as GET /api/clients/:clientId/blocks answers it. */
export function blockListJson(
  clientId: { toHexString(): string },
  page: { conversations: ConversationPayload[]; nextCursor: string | null },
): BlockListPayload {
  return {
    clientId: clientId.toHexString(),
    conversations: page.conversations,
    nextCursor: page.nextCursor,
  } satisfies Record<keyof typeof blockListSchema.shape, unknown>;
}

/** A block's or unblock's outcome as POST/DELETE /api/clients/:clientId/blocks answers it. */
export function blockAnswerJson(
  clientId: { toHexString(): string },
  outcome: { conversation: ConversationPayload; blocked: boolean; changed: boolean },
): BlockAnswerPayload {
  return {
    clientId: clientId.toHexString(),
    conversationId: outcome.conversation.id,
    blocked: outcome.blocked,
    changed: outcome.changed,
    blockedAt: outcome.conversation.blockedAt ?? null,
    conversation: outcome.conversation,
  } satisfies Record<keyof typeof blockAnswerSchema.shape, unknown>;
}

/** Messages and their cost for one category or kind, as the cost totals hold them. */
type CostLine = { count: number; cost: number };
const costLines = (lines: Record<string, CostLine>): Record<string, CostLine> =>
  Object.fromEntries(Object.entries(lines).map(([k, l]) => [k, { count: l.count, cost: l.cost }]));

/** Cost totals (as @linkojob/db's CostTotals) over [from, to) as GET /api/messages/costs answers them. */
export function costTotalsJson(
  clientId: { toHexString(): string },
  from: Date,
  to: Date,
  t: {
    total: number;
    count: number;
    byCategory: Record<string, CostLine>;
    byKind: Record<string, CostLine>;
    estimated: { total: number; count: number; byCategory: Record<string, CostLine> };
    billed: { total: number; count: number; billable: number; free: number; byCategory: Record<string, CostLine> };
    unpriced: { count: number; estimated: number };
  },
): CostTotalsPayload {
  return {
    clientId: clientId.toHexString(),
    from: from.toISOString(),
    to: to.toISOString(),
    currency: "MAD" as const,
    total: t.total,
    count: t.count,
    byCategory: costLines(t.byCategory),
    byKind: costLines(t.byKind),
    estimated: { total: t.estimated.total, count: t.estimated.count, byCategory: costLines(t.estimated.byCategory) },
    billed: {
      total: t.billed.total,
      count: t.billed.count,
      billable: t.billed.billable,
      free: t.billed.free,
      byCategory: costLines(t.billed.byCategory),
    },
    unpriced: { count: t.unpriced.count, estimated: t.unpriced.estimated },
  } satisfies Record<keyof typeof costTotalsSchema.shape, unknown>;
}

/** A stored template (as @linkojob/db's TemplateDoc). */
export interface StoredTemplate {
  _id: { toHexString(): string };
  wabaId: string;
  metaId?: string | null;
  name: string;
  language: string;
  status: string;
  category?: string | null;
  headerParams: readonly unknown[];
  bodyParams: readonly unknown[];
  components?: readonly unknown[] | null;
  usageCount?: number | null;
  lastUsedAt?: StoredDate | null;
  syncedAt?: StoredDate | null;
  statusReason?: string | null;
}

/**
 * A template as GET /api/templates answers it: its parameters' stored positions, the send API's
 * cached copy and whatever else the document holds stay stored; `parameterCount` is what a send gives.
 */
export function templateJson(t: StoredTemplate): TemplatePayload {
  return {
    id: t._id.toHexString(),
    wabaId: t.wabaId,
    metaId: t.metaId ?? null,
    name: t.name,
    language: t.language,
    status: t.status,
    category: t.category ?? null,
    parameterCount: t.headerParams.length + t.bodyParams.length,
    components: [...(t.components ?? [])],
    usageCount: t.usageCount ?? 0,
    lastUsedAt: iso(t.lastUsedAt),
    syncedAt: iso(t.syncedAt),
    statusReason: t.statusReason ?? null,
  } satisfies Record<keyof typeof templateSchema.shape, unknown>;
}

/** An erasure's state (as @linkojob/privacy's ErasureView): its reason, requester and identifiers stay stored. */
export function erasureJson(v: ErasurePayload): ErasurePayload {
  return {
    erasureId: v.erasureId,
    status: v.status,
    allTenants: v.allTenants,
    clientIds: [...v.clientIds],
    requestedAt: v.requestedAt,
    finishedAt: v.finishedAt,
    removed: { ...v.removed },
    error: v.error ? { code: v.error.code, message: v.error.message } : null,
  } satisfies Record<keyof typeof erasureSchema.shape, unknown>;
}

type RetentionPeriods = Pick<RetentionPayload, "webhookEventsDays" | "deadLettersDays" | "messagesMonths">;
const periodsOf = (p: RetentionPeriods): RetentionPeriods => ({
  webhookEventsDays: p.webhookEventsDays,
  deadLettersDays: p.deadLettersDays,
  messagesMonths: p.messagesMonths,
});

/** A tenant's retention (as @linkojob/privacy's TenantRetentionView): exactly the three periods at each level. */
export function retentionJson(v: RetentionPayload): RetentionPayload {
  const overrides: RetentionPayload["overrides"] = {};
  for (const k of ["webhookEventsDays", "deadLettersDays", "messagesMonths"] as const)
    if (v.overrides[k] !== undefined) overrides[k] = v.overrides[k];
  return {
    clientId: v.clientId,
    ...periodsOf(v),
    overrides,
    defaults: periodsOf(v.defaults),
  } satisfies Record<keyof typeof retentionSchema.shape, unknown>;
}
