import { Schema, Types, type Connection, type Model } from "mongoose";
import type { EncryptedSecret } from "../clients/client.model.js";

/**
 * A client's WhatsApp Flows data-exchange endpoint (one document per client, that is per business
 * number): the number's business key pairs and what the endpoint offers (interview slots).
 *
 * Keys: the newest first, at most two kept (the current one and the one before, which Meta's clients
 * may still encrypt with for a while after a rotation). The private key is stored only encrypted by
 * the token vault, bound to the client like its access token; the public key is public.
 */
export interface FlowKeyEntry {
  /** sha256 of the public key (SPKI PEM), 16 hex: names the key in answers and logs. */
  keyId: string;
  publicKey: string;
  privateKey: EncryptedSecret;
  createdAt: Date;
  /** When Meta accepted it (`POST /{phone-number-id}/whatsapp_business_encryption`); null before. */
  uploadedAt: Date | null;
}

/** An interview slot the platform offers candidates in a flow's dynamic screen. */
export interface InterviewSlot {
  /** The platform's id of the slot (what the candidate's answer names). */
  id: string;
  /** What the candidate reads ("Jeudi 12 mars, 10:00 — agence Casablanca"). */
  title: string;
  startsAt: Date;
  /** A longer line under the title (address, interviewer). */
  description?: string | null;
}

export interface FlowEndpointDoc {
  _id: Types.ObjectId;
  clientId: Types.ObjectId;
  keys: FlowKeyEntry[];
  interviewSlots: InterviewSlot[];
  createdAt: Date;
  updatedAt: Date;
}

/** At most this many keys are kept (current and previous). */
export const FLOW_KEYS_KEPT = 2;

const flowEndpointSchema = new Schema<FlowEndpointDoc>(
  {
    clientId: { type: Schema.Types.ObjectId, required: true },
    // Mixed: written whole by the repository, never cast.
    keys: { type: Schema.Types.Mixed, default: () => [] },
    interviewSlots: { type: Schema.Types.Mixed, default: () => [] },
  },
  { timestamps: true, collection: "flow_endpoints", minimize: false },
);
flowEndpointSchema.index({ clientId: 1 }, { unique: true });

const modelOf = (conn: Connection): Model<FlowEndpointDoc> =>
  (conn.models.FlowEndpoint as Model<FlowEndpointDoc> | undefined) ??
  conn.model<FlowEndpointDoc>("FlowEndpoint", flowEndpointSchema);

/** Data access for the clients' flow endpoints: keys and interview slots, one document per client. */
export class FlowEndpointRepository {
  readonly model: Model<FlowEndpointDoc>;

  constructor(connection: Connection) {
    this.model = modelOf(connection);
  }

  async ensureIndexes(): Promise<void> {
    await this.model.createCollection().catch(() => undefined);
    await this.model.createIndexes();
  }

  get(clientId: Types.ObjectId): Promise<FlowEndpointDoc | null> {
    return this.model.findOne({ clientId }).lean<FlowEndpointDoc>().exec();
  }

  /**
   * Puts a new key first and keeps the latest one Meta accepted before it (FLOW_KEYS_KEPT): an
   * attempt Meta never accepted does not push out the key in use.
   */
  async addKey(clientId: Types.ObjectId, key: FlowKeyEntry): Promise<void> {
    const current = await this.get(clientId);
    const previous = (current?.keys ?? []).filter((k) => k.keyId !== key.keyId && k.uploadedAt);
    const keys = [key, ...previous].slice(0, FLOW_KEYS_KEPT);
    await this.model
      .updateOne({ clientId }, { $set: { keys }, $setOnInsert: { clientId, interviewSlots: [] } }, { upsert: true })
      .exec();
  }

  /** Records that Meta accepted the key; false when it is no longer held. */
  async markUploaded(clientId: Types.ObjectId, keyId: string, at = new Date()): Promise<boolean> {
    const current = await this.get(clientId);
    if (!current?.keys.some((k) => k.keyId === keyId)) return false;
    const keys = current.keys.map((k) => (k.keyId === keyId ? { ...k, uploadedAt: at } : k));
    await this.model.updateOne({ clientId }, { $set: { keys } }).exec();
    return true;
  }

  /** Replaces the interview slots offered. */
  async setInterviewSlots(clientId: Types.ObjectId, slots: InterviewSlot[]): Promise<void> {
    await this.model
      .updateOne(
        { clientId },
        { $set: { interviewSlots: slots }, $setOnInsert: { clientId, keys: [] } },
        { upsert: true },
      )
      .exec();
  }
}
