import { Schema, type Connection, type Model, type Types } from "mongoose";

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

export interface ClientDoc {
  _id: Types.ObjectId;
  /** The platform user (recruiter) who owns this client; the JWT `sub`. */
  userId: string;
  companyName: string;
  /** Meta's id of the business phone number: the key that routes webhooks to this client. */
  phoneNumberId: string;
  wabaId: string;
  /** The number as digits with country code. */
  whatsappNumber: string;
  displayPhoneNumber?: string;
  verifiedName?: string;
  qualityRating?: string;
  status: ClientStatus;
  accessToken?: EncryptedSecret | null;
  tokenExpiresAt?: Date | null;
  connectedAt?: Date;
  disconnectedAt?: Date | null;
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
  /** Template sent on first contact when the request names none (brief: application_received). */
  defaultTemplate?: { name: string; language: string };
  /** Messages per second this number may send (Meta default 80). */
  throughputMps?: number;
  createdAt: Date;
  updatedAt: Date;
}

const encryptedSecretSchema = new Schema<EncryptedSecret>(
  { keyId: String, iv: String, tag: String, data: String },
  { _id: false },
);

const clientSchema = new Schema<ClientDoc>(
  {
    userId: { type: String, required: true, index: true },
    companyName: { type: String, required: true },
    phoneNumberId: { type: String, required: true, unique: true },
    wabaId: { type: String, required: true, index: true },
    whatsappNumber: { type: String, required: true },
    displayPhoneNumber: String,
    verifiedName: String,
    qualityRating: String,
    status: { type: String, enum: CLIENT_STATUSES, required: true, default: "active" },
    accessToken: { type: encryptedSecretSchema, default: null },
    tokenExpiresAt: { type: Date, default: null },
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
// The token-expiry sweep (client-status.ts) scans by status and expiry.
clientSchema.index({ status: 1, tokenExpiresAt: 1 });

export const clientModel = (conn: Connection): Model<ClientDoc> => conn.model<ClientDoc>("Client", clientSchema);
