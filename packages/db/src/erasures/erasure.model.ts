import { Schema, type Connection, type Model, type Types } from "mongoose";

/** Where an erasure stands: `running` until every step is done, `failed` once its attempts ran out. */
export type ErasureStatus = "running" | "done" | "failed";

/**
 * One candidate's erasure (law 09-08, GDPR art. 17): who asked, for which tenants, how far it went and
 * what it removed, by collection. The identifiers it erases (`subject`) are kept only while it runs, so
 * that a retry after a crash can finish it; they are unset when it is done. A `failed` erasure keeps
 * them until it is asked again (a new request with the same identifiers resumes it).
 */
export interface ErasureDoc {
  _id: Types.ObjectId;
  /** The tenants it covers: one, or every tenant (an admin's erasure of one person everywhere). */
  clientIds: Types.ObjectId[];
  allTenants: boolean;
  /** Keyed hash of the identifiers named in the request: finds a running erasure of the same person again. */
  subjectHash: string;
  /** The identifiers to erase, as named and as resolved; unset when done. */
  subject?: { phones: string[]; userIds: string[] } | null;
  reason: string;
  requestedBy: { role: string; sub: string };
  status: ErasureStatus;
  /** Steps finished (a retry skips them). */
  steps: string[];
  /** Documents, files, jobs and keys removed, by collection (or Redis structure). */
  removed: Record<string, number>;
  /** Conversations removed (their ids: not personal data once the conversation is gone). */
  conversationsRemoved?: number;
  /** Why it failed (a code and words, never an identifier). */
  error?: { code: string; message: string } | null;
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
  finishedAt?: Date | null;
}

const erasureSchema = new Schema<ErasureDoc>(
  {
    clientIds: { type: [Schema.Types.ObjectId], required: true },
    allTenants: { type: Boolean, default: false },
    subjectHash: { type: String, required: true },
    subject: { type: Schema.Types.Mixed, default: null },
    reason: { type: String, required: true },
    requestedBy: { type: Schema.Types.Mixed, required: true },
    status: { type: String, enum: ["running", "done", "failed"], default: "running" },
    steps: { type: [String], default: [] },
    removed: { type: Schema.Types.Mixed, default: {} },
    error: { type: Schema.Types.Mixed, default: null },
    attempts: { type: Number, default: 0 },
    finishedAt: { type: Date, default: null },
  },
  { timestamps: true, collection: "erasures", minimize: false },
);
erasureSchema.index({ subjectHash: 1, status: 1 });
erasureSchema.index({ clientIds: 1, createdAt: -1 });

export const erasureModel = (conn: Connection): Model<ErasureDoc> => conn.model<ErasureDoc>("Erasure", erasureSchema);

/**
 * What survives of an erased outbound message for the tenant's cost totals: its price, category,
 * kind, status and time; nothing that names the candidate or the message's content. `_id` is the
 * erased message's id, so that a retried erasure records it once.
 */
export interface ErasedCostDoc {
  _id: Types.ObjectId;
  clientId: Types.ObjectId;
  createdAt: Date;
  status: string;
  cost?: number | null;
  costExpected?: number | null;
  costCategory?: string | null;
  costSource?: string | null;
  kind?: string | null;
}

const erasedCostSchema = new Schema<ErasedCostDoc>(
  {
    clientId: { type: Schema.Types.ObjectId, required: true },
    createdAt: { type: Date, required: true },
    status: { type: String, required: true },
    cost: { type: Number, default: null },
    costExpected: { type: Number, default: null },
    costCategory: { type: String, default: null },
    costSource: { type: String, default: null },
    kind: { type: String, default: null },
  },
  { collection: "erased_costs", versionKey: false },
);
erasedCostSchema.index({ clientId: 1, createdAt: 1 });

export const erasedCostModel = (conn: Connection): Model<ErasedCostDoc> =>
  conn.model<ErasedCostDoc>("ErasedCost", erasedCostSchema);
