import { Schema, type Connection, type Model, type Types } from "mongoose";

/** One candidate's thread with one client. Holds the summary; messages live in `messages`. */
export interface ConversationDoc {
  _id: Types.ObjectId;
  clientId: Types.ObjectId;
  /** `wa_id`, or the business-scoped user id for candidates who hide their number. */
  candidateKey: string;
  /** The phone number (wa_id), when known; moved by a number change (`user_changed_number`). */
  candidatePhone?: string | null;
  /** The business-scoped user id, when known; moved by `user_changed_user_id`. */
  candidateUserId?: string | null;
  /** Meta timestamp of the identity change that set `candidatePhone` (the latest change wins). */
  candidatePhoneAt?: Date | null;
  /** Meta timestamp of the identity change that set `candidateUserId` (the latest change wins). */
  candidateUserIdAt?: Date | null;
  /** The WhatsApp username (`contacts[].profile.username`), when the candidate has one. */
  candidateUsername?: string | null;
  /** Meta timestamp of the message that gave `candidateUsername` (latest wins). */
  candidateUsernameAt?: Date | null;
  /** The parent business-scoped user id (one id across the portfolio's numbers), when Meta sends one. */
  candidateParentUserId?: string | null;
  /** Meta timestamp of the message that gave `candidateParentUserId` (latest wins). */
  candidateParentUserIdAt?: Date | null;
  candidateName?: string | null;
  /** Meta timestamp of the message whose profile name is `candidateName` (latest wins). */
  candidateNameAt?: Date | null;
  applicationId?: string | null;
  jobTitle?: string | null;
  status: "active" | "archived";
  messageCount: number;
  unreadCount: number;
  /** Inbound messages received after this instant are unread. */
  readUpTo: Date;
  lastMessageAt?: Date | null;
  lastMessageFrom?: "candidate" | "recruiter" | null;
  lastMessagePreview?: string | null;
  lastMessageType?: string | null;
  /** Orders candidates for "last message": Meta timestamp then message key; the greatest wins. */
  lastMessageSortKey?: string | null;
  lastInboundAt?: Date | null;
  /** Latest candidate message's Meta timestamp + 24 h: free text may be sent until then. */
  windowExpiresAt?: Date | null;
  inWindow: boolean;
  /**
   * The last inbound messages counted in `messageCount` / `unreadCount` (ConversationBatch keeps
   * COUNTED_IDS_KEPT): each counter write names its messages, so a retried write never counts twice.
   */
  countedIds?: Types.ObjectId[];
  unreadIds?: Types.ObjectId[];
  /**
   * When the recruiter blocked the candidate on the business number (Meta's Block Users API); null
   * when not blocked. A blocked candidate's inbound messages are not routed to the recruiter.
   */
  blockedAt?: Date | null;
  /** Who blocked them: the JWT's role and subject. */
  blockedBy?: { role: string; userId: string } | null;
  /**
   * Set while this conversation is being merged into that one (the same person's, see
   * ConversationMerger) and still holds messages a writer has not counted yet: that writer finishes
   * the merge once its count is written.
   */
  mergedInto?: Types.ObjectId | null;
  createdAt: Date;
  updatedAt: Date;
}

const conversationSchema = new Schema<ConversationDoc>(
  {
    clientId: { type: Schema.Types.ObjectId, required: true },
    candidateKey: { type: String, required: true },
    candidatePhone: { type: String, default: null },
    candidateUserId: { type: String, default: null },
    candidatePhoneAt: { type: Date, default: null },
    candidateUserIdAt: { type: Date, default: null },
    candidateUsername: { type: String, default: null },
    candidateUsernameAt: { type: Date, default: null },
    candidateParentUserId: { type: String, default: null },
    candidateParentUserIdAt: { type: Date, default: null },
    candidateName: { type: String, default: null },
    candidateNameAt: { type: Date, default: null },
    applicationId: { type: String, default: null },
    jobTitle: { type: String, default: null },
    status: { type: String, enum: ["active", "archived"], default: "active" },
    messageCount: { type: Number, default: 0 },
    unreadCount: { type: Number, default: 0 },
    readUpTo: { type: Date, default: () => new Date(0) },
    lastMessageAt: { type: Date, default: null },
    lastMessageFrom: { type: String, default: null },
    lastMessagePreview: { type: String, default: null },
    lastMessageType: { type: String, default: null },
    lastMessageSortKey: { type: String, default: null },
    lastInboundAt: { type: Date, default: null },
    windowExpiresAt: { type: Date, default: null },
    inWindow: { type: Boolean, default: false },
    countedIds: { type: [Schema.Types.ObjectId], default: undefined },
    unreadIds: { type: [Schema.Types.ObjectId], default: undefined },
    blockedAt: { type: Date, default: null },
    blockedBy: { type: Schema.Types.Mixed, default: null },
    mergedInto: { type: Schema.Types.ObjectId, default: undefined },
  },
  { timestamps: true, collection: "conversations" },
);
// The key chosen at creation (the user id, else the phone): one conversation per key.
conversationSchema.index({ clientId: 1, candidateKey: 1 }, { unique: true });
// A message naming only one of the ids finds the conversation by either.
conversationSchema.index({ clientId: 1, candidateUserId: 1 });
conversationSchema.index({ clientId: 1, candidatePhone: 1 });
conversationSchema.index({ clientId: 1, lastMessageAt: -1 });
// The tenant's blocklist (GET …/blocks) and the inbound worker's check.
conversationSchema.index({ clientId: 1, blockedAt: 1 });

export const conversationModel = (conn: Connection): Model<ConversationDoc> =>
  conn.model<ConversationDoc>("Conversation", conversationSchema);

/**
 * A new conversation's document with every field the schema's defaults fill (the one place those
 * defaults are written), its creation times and version. For inserts through the driver
 * (ConversationBatch's bulk upsert, whose `$setOnInsert` this is); writes through mongoose get the
 * same defaults from `setDefaultsOnInsert` and timestamps.
 */
export function newConversationDoc(
  model: Model<ConversationDoc>,
  fields: Pick<ConversationDoc, "_id" | "clientId" | "candidateKey"> & Partial<ConversationDoc>,
  now: Date,
): Record<string, unknown> {
  return { ...new model(fields).toObject({ versionKey: false }), createdAt: now, updatedAt: now, __v: 0 };
}
