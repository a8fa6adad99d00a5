import { Schema, type Connection, type Model, type Types } from "mongoose";

/**
 * What protects a tenant's number, as stored (the source of truth; the send path reads the copy in
 * Redis): the tenant's sending policy (quiet hours, zone), its portfolio's messaging limit, and each
 * number's last quality event. Data only: what they mean lives in @linkojob/outbound's sending-policy.
 */

/** A tenant's sending policy. Absent: the defaults (21:00–09:00, Africa/Casablanca). */
export interface SendingPolicyDoc {
  _id: Types.ObjectId;
  clientId: Types.ObjectId;
  /** null: quiet hours off. */
  quietHours: { start: string; end: string } | null;
  timeZone: string;
  updatedAt: Date;
  updatedBy?: string | null;
}

/**
 * A business portfolio's messaging limit (unique recipients of business-initiated messages outside a
 * service window in a moving 24 hours), keyed by the WABA its numbers belong to. -1: unlimited.
 */
export interface PortfolioLimitDoc {
  _id: Types.ObjectId;
  wabaId: string;
  maxDailyConversations: number;
  /** `business_capability_update`, `phone_number_quality_update` or `graph` (the Graph field). */
  source: string;
  updatedAt: Date;
}

/** A number's last quality event (`phone_number_quality_update`, the Graph `quality_rating`). */
export interface NumberQualityDoc {
  _id: Types.ObjectId;
  phoneNumberId: string;
  wabaId: string;
  /** GREEN, YELLOW, RED, UNKNOWN… when known. */
  rating: string | null;
  /** FLAGGED, UNFLAGGED, UPGRADE, DOWNGRADE… when it came from a webhook. */
  event: string | null;
  /** Whether marketing first contacts from this number are paused. */
  marketingPaused: boolean;
  updatedAt: Date;
}

const sendingPolicySchema = new Schema<SendingPolicyDoc>(
  {
    clientId: { type: Schema.Types.ObjectId, required: true },
    quietHours: { type: new Schema({ start: String, end: String }, { _id: false }), default: null },
    timeZone: { type: String, required: true },
    updatedAt: { type: Date, required: true },
    updatedBy: { type: String, default: null },
  },
  { collection: "sending_policies", versionKey: false },
);
sendingPolicySchema.index({ clientId: 1 }, { unique: true });

const portfolioLimitSchema = new Schema<PortfolioLimitDoc>(
  {
    wabaId: { type: String, required: true },
    maxDailyConversations: { type: Number, required: true },
    source: { type: String, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: "portfolio_limits", versionKey: false },
);
portfolioLimitSchema.index({ wabaId: 1 }, { unique: true });

const numberQualitySchema = new Schema<NumberQualityDoc>(
  {
    phoneNumberId: { type: String, required: true },
    wabaId: { type: String, required: true },
    rating: { type: String, default: null },
    event: { type: String, default: null },
    marketingPaused: { type: Boolean, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: "number_quality", versionKey: false },
);
numberQualitySchema.index({ phoneNumberId: 1 }, { unique: true });

const modelOf = <T>(conn: Connection, name: string, schema: Schema<T>): Model<T> =>
  (conn.models[name] as Model<T> | undefined) ?? conn.model<T>(name, schema);

/** The three models on a connection (registered once per connection). */
export function sendingProtectionModels(conn: Connection) {
  return {
    policies: modelOf(conn, "SendingPolicy", sendingPolicySchema),
    limits: modelOf(conn, "PortfolioLimit", portfolioLimitSchema),
    quality: modelOf(conn, "NumberQuality", numberQualitySchema),
  };
}
