import { Schema, type Connection, type Model, type Types } from "mongoose";

/**
 * The candidates' opt-out register: whether a tenant may message a candidate, kept per identity
 * (`key`: a phone number or a business-scoped user id), so that a send naming the candidate by any of
 * them finds it and an identity change carries it to the new one. Two scopes, each with its own last
 * change: `all` (the candidate's own STOP: nothing may be sent) and `marketing` (Meta's marketing
 * preference, 131050: marketing templates may not be sent). Every change is also an
 * `opt_out_changes` record (the audit trail).
 */
export const OPT_OUT_SCOPES = ["marketing", "all"] as const;
export type OptOutScope = (typeof OPT_OUT_SCOPES)[number];

/**
 * Who made a change: the candidate's own word (`candidate_message`), Meta's `user_preferences`
 * webhook, a `failed` status with 131050, a recruiter or the platform through the API, or an
 * identity change carrying the state of the candidate's previous id (`identity_change`).
 */
export const OPT_OUT_SOURCES = [
  "candidate_message",
  "meta_user_preferences",
  "meta_131050",
  "recruiter",
  "platform",
  "identity_change",
] as const;
export type OptOutSource = (typeof OPT_OUT_SOURCES)[number];

/** What an opt-out's key is: an identity in clear, or the keyed hash of one (an erased candidate's). */
export const OPT_OUT_KEY_TYPES = ["phone", "user_id", "phone_hash", "user_id_hash"] as const;
export type OptOutKeyType = (typeof OPT_OUT_KEY_TYPES)[number];

/** A scope's latest change on one identity. */
export interface OptOutScopeState {
  active: boolean;
  /** When the change happened (Meta's timestamp for candidate and Meta sources): the latest wins. */
  at: Date;
  source: OptOutSource;
  /**
   * Who may lift it: the candidate (their own word, Meta's preference, 131050) or the tenant (a
   * recruiter's or the platform's opt-out). An identity change keeps the owner of what it carries.
   */
  owner: "candidate" | "tenant";
  /** The `opt_out_changes` record of this change. */
  changeId: Types.ObjectId;
}

export interface OptOutDoc {
  _id: Types.ObjectId;
  clientId: Types.ObjectId;
  /**
   * A phone number (digits with country code) or a business-scoped user id; for an erased candidate,
   * `hmac:` and the keyed hash of one of them (HASHED_KEY_TYPES), so that a later send to that number
   * is still refused while nobody without PERSONAL_DATA_HASH_KEY can read who it was.
   */
  key: string;
  keyType: OptOutKeyType;
  marketing?: OptOutScopeState | null;
  all?: OptOutScopeState | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface OptOutActor {
  role: string;
  userId: string;
}

/** One change of the register, as it happened: the audit trail. */
export interface OptOutChangeDoc {
  _id: Types.ObjectId;
  clientId: Types.ObjectId;
  /** Unique per client: the same webhook or request recorded twice is one change. */
  dedupeKey: string;
  action: "opt_out" | "resume";
  scope: OptOutScope;
  source: OptOutSource;
  /** The identities it was applied to (keyed hashes, `hmac:…`, once the candidate was erased). */
  keys: string[];
  /** The candidate's message, the failed message or the identity change that made it, when one did. */
  wamid?: string | null;
  /** The recruiter or platform principal that made it through the API. */
  actor?: OptOutActor | null;
  reason?: string | null;
  at: Date;
  recordedAt: Date;
}

const scopeState = new Schema<OptOutScopeState>(
  {
    active: { type: Boolean, required: true },
    at: { type: Date, required: true },
    source: { type: String, required: true },
    owner: { type: String, required: true },
    changeId: { type: Schema.Types.ObjectId, required: true },
  },
  { _id: false },
);

const optOutSchema = new Schema<OptOutDoc>(
  {
    clientId: { type: Schema.Types.ObjectId, required: true },
    key: { type: String, required: true },
    keyType: { type: String, enum: OPT_OUT_KEY_TYPES, required: true },
    marketing: { type: scopeState, default: null },
    all: { type: scopeState, default: null },
  },
  { timestamps: true, collection: "opt_outs" },
);
optOutSchema.index({ clientId: 1, key: 1 }, { unique: true });
// The API's list (newest first) names the tenant first: one shard on a cluster sharded by clientId.
optOutSchema.index({ clientId: 1, updatedAt: -1, _id: -1 });

const optOutChangeSchema = new Schema<OptOutChangeDoc>(
  {
    clientId: { type: Schema.Types.ObjectId, required: true },
    dedupeKey: { type: String, required: true },
    action: { type: String, enum: ["opt_out", "resume"], required: true },
    scope: { type: String, enum: OPT_OUT_SCOPES, required: true },
    source: { type: String, enum: OPT_OUT_SOURCES, required: true },
    keys: { type: [String], required: true },
    wamid: { type: String, default: null },
    actor: { type: Schema.Types.Mixed, default: null },
    reason: { type: String, default: null },
    at: { type: Date, required: true },
    recordedAt: { type: Date, required: true },
  },
  { collection: "opt_out_changes" },
);
optOutChangeSchema.index({ clientId: 1, dedupeKey: 1 }, { unique: true });
optOutChangeSchema.index({ clientId: 1, keys: 1, at: -1 });

export const optOutModel = (conn: Connection): Model<OptOutDoc> => conn.model<OptOutDoc>("OptOut", optOutSchema);
export const optOutChangeModel = (conn: Connection): Model<OptOutChangeDoc> =>
  conn.model<OptOutChangeDoc>("OptOutChange", optOutChangeSchema);

/** The scope in force on one identity: `all` before `marketing`; null when neither is active. */
export function activeScope(doc: Pick<OptOutDoc, "marketing" | "all"> | null | undefined): OptOutScope | null {
  if (doc?.all?.active) return "all";
  if (doc?.marketing?.active) return "marketing";
  return null;
}
