import { Schema, type Connection, type Model, type Types } from "mongoose";
import { isUserId, type UserId } from "./user-id.js";

/** A client is a tenant: one recruiter's WhatsApp Business number connected to the platform. */
export const CLIENT_STATUSES = ["pending", "active", "reauth_required", "disconnected"] as const;
export type ClientStatus = (typeof CLIENT_STATUSES)[number];

/** A token encrypted by the token vault; `keyId` names the key so keys can rotate. */
export interface EncryptedSecret {
  keyId: string;
  iv: string;
  tag: string;
  data: string;
}

/**
 * A stored access token: the vault's form, or the proof of concept's `ivHex:tagHex:ciphertextHex`
 * string (the proof of concept's `encrypt`), which the vault still reads and `cli:reencrypt-tokens` upgrades.
 */
export type StoredSecret = EncryptedSecret | string;

export interface ClientDoc {
  _id: Types.ObjectId;
  /**
   * The platform user (recruiter) who owns this client; the JWT `sub`. An ObjectId when the sub is
   * 24 hex characters (the platform's form), a string otherwise: compare with `sameUser`, query with
   * `userIdFilter`, store with `userIdValue` (user-id.ts).
   */
  userId: UserId;
  companyName: string;
  /** The platform's contact e-mail of the client, when the platform wrote one (kept, not used here). */
  email?: string;
  /** Meta's id of the business phone number: the key that routes webhooks to this client. */
  phoneNumberId: string;
  wabaId: string;
  /** The number as digits with country code. */
  whatsappNumber: string;
  displayPhoneNumber?: string;
  verifiedName?: string;
  qualityRating?: string;
  status: ClientStatus;
  accessToken?: StoredSecret | null;
  tokenExpiresAt?: Date | null;
  /**
   * The platform's name for the token's expiry, as documents written by the proof of concept or the
   * platform hold it. Read where `tokenExpiresAt` is null or absent (`tokenExpiryOf`); connect writes both.
   */
  tokenExpiry?: Date | null;
  connectedAt?: Date;
  disconnectedAt?: Date | null;
  /**
   * This tenant's retention of personal data, over the deployment's defaults (RETENTION_*): months
   * after a conversation's last message before it is deleted with its messages and media, days a
   * raw webhook record or a dead letter is kept. `null` in a field: never deleted. Absent: the
   * defaults. Set through `PUT /api/clients/:clientId/retention`.
   */
  retention?: {
    messagesMonths?: number | null;
    webhookEventsDays?: number | null;
    deadLettersDays?: number | null;
  } | null;
  /** Why the client is in its status: a code (TOKEN_INVALID, PARTNER_REMOVED, USER_DISCONNECTED…). */
  statusReason?: string | null;
  /** Human-readable detail of the status (Meta's message, restriction types…). */
  statusDetail?: string | null;
  statusChangedAt?: Date | null;
  reauthRequiredAt?: Date | null;
  /** When the tenant was last warned that its token expires soon (reset by each connect). */
  tokenExpiryWarnedAt?: Date | null;
  /** The six-digit two-step verification PIN set when the platform registered the number, encrypted. */
  registrationPin?: EncryptedSecret | null;
  /** Template sent on first contact when the request names none (the platform's: application_received). */
  defaultTemplate?: { name: string; language: string };
  /** Messages per second this number may send (Meta default 80). */
  throughputMps?: number;
  createdAt: Date;
  updatedAt: Date;
}

function isStoredSecret(v: unknown): boolean {
  if (v === null || v === undefined || typeof v === "string") return true;
  if (typeof v !== "object") return false;
  const s = v as Record<string, unknown>;
  return ["keyId", "iv", "tag", "data"].every((k) => typeof s[k] === "string");
}

const encryptedSecretSchema = new Schema<EncryptedSecret>(
  { keyId: String, iv: String, tag: String, data: String },
  { _id: false },
);

const clientSchema = new Schema<ClientDoc>(
  {
    // Mixed: an ObjectId (the platform's form) or a string, stored as given, never cast (user-id.ts).
    userId: {
      type: Schema.Types.Mixed,
      required: true,
      index: true,
      validate: { validator: isUserId, message: "userId must be an ObjectId or a non-empty string" },
    },
    companyName: { type: String, required: true },
    email: String,
    phoneNumberId: { type: String, required: true, unique: true },
    wabaId: { type: String, required: true, index: true },
    whatsappNumber: { type: String, required: true },
    displayPhoneNumber: String,
    verifiedName: String,
    qualityRating: String,
    status: { type: String, enum: CLIENT_STATUSES, required: true, default: "active" },
    // Mixed: the vault's object or a proof-of-concept string, neither cast (a cast would make a query
    // or guard naming the legacy string fail).
    accessToken: {
      type: Schema.Types.Mixed,
      default: null,
      validate: {
        validator: isStoredSecret,
        message: "accessToken must be the vault's { keyId, iv, tag, data } or a legacy ivHex:tagHex:dataHex string",
      },
    },
    tokenExpiresAt: { type: Date, default: null },
    retention: { type: Schema.Types.Mixed, default: undefined },
    tokenExpiry: Date,
    connectedAt: Date,
    disconnectedAt: { type: Date, default: null },
    statusReason: { type: String, default: null },
    statusDetail: { type: String, default: null },
    statusChangedAt: { type: Date, default: null },
    reauthRequiredAt: { type: Date, default: null },
    tokenExpiryWarnedAt: { type: Date, default: null },
    registrationPin: { type: encryptedSecretSchema, default: null },
    defaultTemplate: {
      type: new Schema({ name: String, language: String }, { _id: false }),
      default: () => ({ name: "application_received", language: "fr" }),
    },
    throughputMps: { type: Number, default: 80 },
  },
  { timestamps: true, collection: "clients" },
);
// The token-expiry sweep (@linkojob/outbound client-lifecycle) scans by status and expiry (either field).
clientSchema.index({ status: 1, tokenExpiresAt: 1 });
clientSchema.index({ status: 1, tokenExpiry: 1 });

/** When the client's token expires: `tokenExpiresAt`, or the platform's `tokenExpiry` where it is null or absent. */
export function tokenExpiryOf(c: Pick<ClientDoc, "tokenExpiresAt" | "tokenExpiry">): Date | null {
  return c.tokenExpiresAt ?? c.tokenExpiry ?? null;
}

export const clientModel = (conn: Connection): Model<ClientDoc> => conn.model<ClientDoc>("Client", clientSchema);
