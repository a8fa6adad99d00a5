import { Schema, type Connection, type Model, type Types } from "mongoose";

/**
 * One counter document: a tenant's figures of one UTC day for one scope (a template, or `all`).
 * `c` holds the counters (nested by the dotted names of analytics-events.ts); `seen` the ids of the
 * events already counted in it, so that an event seen again (a status redelivered, a batch retried,
 * the same message projected by two workers) is never counted twice. `seen` grows with the day's
 * events of the scope (about six per template sent): 16 MB holds some 300,000 of them.
 */
export interface AnalyticsCounterDoc {
  /** `<clientId hex>|<YYYY-MM-DD>|<scope>` */
  _id: string;
  clientId: Types.ObjectId;
  day: string;
  scope: string;
  c?: Record<string, unknown>;
  seen?: string[];
}

const counterSchema = new Schema<AnalyticsCounterDoc>(
  {
    _id: { type: String, required: true },
    clientId: { type: Schema.Types.ObjectId, required: true },
    day: { type: String, required: true },
    scope: { type: String, required: true },
    c: { type: Schema.Types.Mixed, default: undefined },
    seen: { type: [String], default: undefined },
  },
  { collection: "analytics_counters", versionKey: false, minimize: true },
);
// A period's figures: one range of this index per call, whatever the number of messages.
counterSchema.index({ clientId: 1, day: 1 });

export const analyticsCounterModel = (conn: Connection): Model<AnalyticsCounterDoc> =>
  conn.model<AnalyticsCounterDoc>("AnalyticsCounter", counterSchema);

export type ApplicationStage = "interview" | "hired" | "rejected";

/**
 * An application a tenant messaged (the send's `applicationId`): when it was first messaged, and the
 * outcomes the platform reported (each stage's first report time).
 */
export interface AnalyticsApplicationDoc {
  /** `<clientId hex>|<applicationId>` */
  _id: string;
  clientId: Types.ObjectId;
  applicationId: string;
  firstSentAt: Date;
  outcomes?: Partial<Record<ApplicationStage, Date>>;
  stage?: ApplicationStage | null;
  updatedAt?: Date;
}

const applicationSchema = new Schema<AnalyticsApplicationDoc>(
  {
    _id: { type: String, required: true },
    clientId: { type: Schema.Types.ObjectId, required: true },
    applicationId: { type: String, required: true },
    firstSentAt: { type: Date, required: true },
    outcomes: { type: Schema.Types.Mixed, default: undefined },
    stage: { type: String, default: null },
    updatedAt: Date,
  },
  { collection: "analytics_applications", versionKey: false },
);
applicationSchema.index({ clientId: 1, applicationId: 1 }, { unique: true });

export const analyticsApplicationModel = (conn: Connection): Model<AnalyticsApplicationDoc> =>
  conn.model<AnalyticsApplicationDoc>("AnalyticsApplication", applicationSchema);
