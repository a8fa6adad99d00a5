import { Schema, type Connection, type Model, type Types } from "mongoose";

/** Where a campaign stands: being accepted (its sends being queued), running, or cancelled. */
export const CAMPAIGN_STATUSES = ["accepting", "running", "cancelled"] as const;
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
  /** Positions of recipients not sent at acceptance, with why (CANDIDATE_OPTED_OUT). */
  suppressed: Array<{ index: number; code: string }>;
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
