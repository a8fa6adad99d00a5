import { Schema, type Connection, type Model, type Types } from "mongoose";

/**
 * Delivery states of a message, in the only order they may move. `failed` ranks below `delivered`:
 * a delivery report outweighs an earlier failure report, and a late `sent` never undoes `failed`.
 */
export const STATUS_RANK = {
  received: 0,
  queued: 0,
  held: 0,
  sending: 1,
  sent: 2,
  failed: 3,
  /** Never sent: the candidate opted out before it went (a terminal state, like `failed`). */
  suppressed: 3,
  delivered: 4,
  read: 5,
  played: 6,
} as const;
export type MessageStatus = keyof typeof STATUS_RANK;

/**
 * The rank of a status named by a payload, own entries only: a status named `constructor` or
 * `toString` has no rank (it is recorded, never moves a message).
 */
export const statusRankOf = (status: string): number | undefined =>
  Object.hasOwn(STATUS_RANK, status) ? STATUS_RANK[status as MessageStatus] : undefined;

export interface MessageError {
  code?: number;
  title?: string;
  message?: string;
  details?: string;
  fbtraceId?: string;
}

/** GridFS bucket of media files (inbound media fetched from Meta, outbound media staged for upload). */
export const MEDIA_BUCKET = "media";

/**
 * The stored copy of a media message's file. `pending` until the media worker fetched it
 * (or while the client must reconnect), then `stored` with the GridFS file id, or `failed` with why.
 */
export interface MessageMedia {
  status: "pending" | "stored" | "failed";
  fileId?: Types.ObjectId | null;
  size?: number | null;
  mimeType?: string | null;
  filename?: string | null;
  /** The bytes matched Meta's sha256. */
  sha256Ok?: boolean | null;
  /** Hex sha256 of the stored bytes (also the HTTP ETag). */
  sha256?: string | null;
  /** Why it is failed (or held): a stable code and words a dashboard can show. */
  error?: { code: string; reason: string } | null;
  /** Why a pending fetch waits (e.g. `reauth_required`). */
  heldReason?: string | null;
  attempts?: number;
  updatedAt?: Date;
}

/** Who owes a conversation the count of a stored inbound message, since when. */
export interface CountClaim {
  by: string;
  at: Date;
}

export interface MessageDoc {
  _id: Types.ObjectId;
  clientId: Types.ObjectId;
  conversationId: Types.ObjectId;
  /** Unique per client: `in:<wamid>` for inbound, `out:<our id>` for outbound. */
  dedupeKey: string;
  /** WhatsApp message id (wamid); for outbound, known once Meta accepted the send. */
  wamid?: string | null;
  direction: "inbound" | "outbound";
  type: string;
  originalType?: string;
  content?: unknown;
  text?: string | null;
  /** Meta's timestamp for inbound messages; creation time for outbound ones. */
  timestamp: Date;
  /** When this service stored it. */
  receivedAt: Date;
  /** Inbound: set when `timestamp` is not Meta's (missing, not a sane number, in the future): why. */
  timestampAdjusted?: "missing" | "invalid" | "future";
  /** Inbound: the timestamp Meta sent, as text, when `timestamp` replaced it. */
  originalTimestamp?: string;
  /** Inbound: parts of the message that could not be read (kept in `raw`). */
  problems?: string[];
  status: string;
  statusRank: number;
  /** First time each status was reported (Meta's timestamps). */
  statusAt?: Record<string, Date>;
  error?: MessageError | null;
  pricing?: { billable?: boolean; pricingModel?: string; type?: string; category?: string } | null;
  context?: unknown;
  referral?: unknown;
  errors?: unknown[];
  raw?: unknown;
  /** Inbound media: the file's stored copy. */
  media?: MessageMedia | null;
  /**
   * Present from an inbound message's insert until its conversation's counters include it: who
   * inserted it (a worker process's token) and when. A redelivery that finds it still present after
   * the writer died takes it over and counts the message (see InboundMessageBatch).
   */
  countClaim?: CountClaim | null;
  /** Outbound: the campaign (POST /api/campaigns) this message is one of. */
  campaignId?: Types.ObjectId | null;
  createdAt: Date;
  updatedAt: Date;
}

const messageSchema = new Schema<MessageDoc>(
  {
    clientId: { type: Schema.Types.ObjectId, required: true },
    conversationId: { type: Schema.Types.ObjectId, required: true },
    dedupeKey: { type: String, required: true },
    wamid: { type: String, default: null },
    direction: { type: String, enum: ["inbound", "outbound"], required: true },
    type: { type: String, required: true },
    originalType: String,
    content: Schema.Types.Mixed,
    text: { type: String, default: null },
    timestamp: { type: Date, required: true },
    receivedAt: { type: Date, required: true },
    timestampAdjusted: String,
    originalTimestamp: String,
    problems: { type: [String], default: undefined },
    status: { type: String, required: true },
    statusRank: { type: Number, required: true },
    statusAt: { type: Schema.Types.Mixed, default: undefined },
    error: { type: Schema.Types.Mixed, default: null },
    pricing: { type: Schema.Types.Mixed, default: null },
    context: Schema.Types.Mixed,
    referral: Schema.Types.Mixed,
    errors: { type: [Schema.Types.Mixed], default: undefined },
    raw: Schema.Types.Mixed,
    media: { type: Schema.Types.Mixed, default: undefined },
    countClaim: { type: Schema.Types.Mixed, default: undefined },
    campaignId: { type: Schema.Types.ObjectId, default: undefined },
  },
  { timestamps: true, collection: "messages", minimize: true, suppressReservedKeysWarning: true },
);
messageSchema.index({ clientId: 1, dedupeKey: 1 }, { unique: true });
// Thread pages: every query names the tenant first, so on a cluster sharded by clientId it goes to one shard.
messageSchema.index({ clientId: 1, conversationId: 1, timestamp: -1, _id: -1 });
messageSchema.index({ clientId: 1, wamid: 1 });
// The flows' data-exchange endpoint finds a flow's message by its token (`flowToken`, outbound only).
messageSchema.index({ clientId: 1, flowToken: 1 });
// A campaign's messages (its cancel, its recount).
messageSchema.index({ clientId: 1, campaignId: 1 });

export const messageModel = (conn: Connection): Model<MessageDoc> => conn.model<MessageDoc>("Message", messageSchema);

/** A status reported for a message not stored yet (webhooks are unordered); applied when it appears. */
export interface PendingStatusDoc {
  _id: Types.ObjectId;
  clientId: Types.ObjectId;
  wamid: string;
  status: string;
  /** Our message id echoed by Meta in biz_opaque_callback_data, when present. */
  bizOpaqueCallbackData?: string | null;
  payload: unknown;
  createdAt: Date;
}

const pendingStatusSchema = new Schema<PendingStatusDoc>(
  {
    clientId: { type: Schema.Types.ObjectId, required: true },
    wamid: { type: String, required: true },
    status: { type: String, required: true },
    bizOpaqueCallbackData: { type: String, default: null },
    payload: Schema.Types.Mixed,
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: "pending_statuses" },
);
pendingStatusSchema.index({ clientId: 1, wamid: 1, status: 1 }, { unique: true });
pendingStatusSchema.index({ clientId: 1, bizOpaqueCallbackData: 1 });
pendingStatusSchema.index({ createdAt: 1 });

export const pendingStatusModel = (conn: Connection): Model<PendingStatusDoc> =>
  conn.model<PendingStatusDoc>("PendingStatus", pendingStatusSchema);
