import { Schema, type Connection, type Model, type Types } from "mongoose";

/**
 * Where a campaign stands: `expanding` (accepted and stored; the outbound worker is deciding and
 * queuing its recipients, chunk by chunk), `running` (every recipient decided and queued), or
 * `cancelled`. `accepting`: a campaign stored before expansion existed, accepted inline.
 */
export const CAMPAIGN_STATUSES = ["expanding", "accepting", "running", "cancelled"] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

/** A campaign's counts, as last copied from the live counters in Redis (see @linkojob/outbound campaigns). */
export interface CampaignCountsDoc {
  queued: number;
  scheduled: number;
  sent: number;
  delivered: number;
  read: number;
  replied: number;
  failed: number;
  suppressed: number;
  cancelled: number;
}

/**
 * One campaign: a template sent to many candidates of one tenant (POST /api/campaigns). It names no
 * candidate: the recipients live in their messages (`campaignId`) and queued jobs only, so that an
 * erasure finds them where it looks already; what the request refused is kept by its position in
 * the request (`suppressed`, `duplicates`).
 */
export interface CampaignDoc {
  _id: Types.ObjectId;
  clientId: Types.ObjectId;
  /** The caller's key: the same key answers the same campaign. */
  idempotencyKey: string;
  templateName: string;
  language: string;
  status: CampaignStatus;
  /** Recipients in the request, and after removing duplicates. */
  requested: number;
  recipients: number;
  /** Positions (in the request) of recipients removed as duplicates of an earlier one. */
  duplicates: number[];
  /** Positions of recipients not sent at acceptance (expansion), with why (CANDIDATE_OPTED_OUT). */
  suppressed: Array<{ index: number; code: string }>;
  /** Chunks of recipients stored for the expansion (campaign_recipients), and how many are decided and queued (the cursor). */
  chunks?: number;
  expandedChunks?: number;
  /** The counts as last copied from Redis (the live ones are there), and when. */
  counts?: CampaignCountsDoc | null;
  countsAt?: Date | null;
  /** Who asked: the JWT's role and subject. */
  createdBy: { role: string; userId: string };
  createdAt: Date;
  acceptedAt?: Date | null;
  cancelledAt?: Date | null;
  updatedAt: Date;
}

const campaignSchema = new Schema<CampaignDoc>(
  {
    clientId: { type: Schema.Types.ObjectId, required: true },
    idempotencyKey: { type: String, required: true },
    templateName: { type: String, required: true },
    language: { type: String, required: true },
    status: { type: String, enum: CAMPAIGN_STATUSES, required: true },
    requested: { type: Number, required: true },
    recipients: { type: Number, required: true },
    duplicates: { type: [Number], default: [] },
    suppressed: { type: [new Schema({ index: Number, code: String }, { _id: false })], default: [] },
    chunks: { type: Number, default: 0 },
    expandedChunks: { type: Number, default: 0 },
    counts: { type: Schema.Types.Mixed, default: null },
    countsAt: { type: Date, default: null },
    createdBy: { type: new Schema({ role: String, userId: String }, { _id: false }), required: true },
    acceptedAt: { type: Date, default: null },
    cancelledAt: { type: Date, default: null },
  },
  { timestamps: true, collection: "campaigns", versionKey: false },
);
campaignSchema.index({ clientId: 1, idempotencyKey: 1 }, { unique: true });
campaignSchema.index({ clientId: 1, createdAt: -1 });

export const campaignModel = (conn: Connection): Model<CampaignDoc> =>
  conn.model<CampaignDoc>("Campaign", campaignSchema);

/** One recipient as the expansion needs it: its position in the request, the normalised phone or user id, its variables. */
export interface CampaignRecipientDoc {
  index: number;
  phone: string | null;
  userId: string | null;
  vars: string[] | Record<string, string> | null;
  applicationId: string | null;
}

/**
 * A chunk of a campaign's recipients (at most a few hundred, far below MongoDB's 16 MB), kept only
 * until the outbound worker has decided and queued it: the expansion deletes each chunk once its
 * sends are queued (and every chunk on a cancel), so candidates' numbers live on in their messages
 * and jobs only, where an erasure looks. `_id`: `<campaignId>:<chunk>`. The recipients are one JSON
 * string (`packed`): never queried inside, and a MongoDB-protocol server converting thousands of
 * small nested documents costs the 202 seconds (FerretDB: 1.7 s for 10,000 recipients as documents,
 * 0.2 s packed).
 */
export interface CampaignRecipientChunkDoc {
  _id: string;
  clientId: Types.ObjectId;
  campaignId: Types.ObjectId;
  chunk: number;
  /** JSON of CampaignRecipientDoc[]. */
  packed: string;
  createdAt: Date;
}

const recipientChunkSchema = new Schema<CampaignRecipientChunkDoc>(
  {
    _id: { type: String, required: true },
    clientId: { type: Schema.Types.ObjectId, required: true },
    campaignId: { type: Schema.Types.ObjectId, required: true },
    chunk: { type: Number, required: true },
    packed: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: "campaign_recipients", versionKey: false },
);
recipientChunkSchema.index({ clientId: 1, campaignId: 1, chunk: 1 });

export const campaignRecipientChunkModel = (conn: Connection): Model<CampaignRecipientChunkDoc> =>
  conn.model<CampaignRecipientChunkDoc>("CampaignRecipientChunk", recipientChunkSchema);
