import { Schema, type Connection, type Model, type Types } from "mongoose";

/**
 * Webhook content that is not a message or a status: account and template updates, quality changes,
 * account-level errors, events for numbers that belong to no client, and malformed elements. Kept
 * (deduplicated) so that later handlers and operators can act on them; nothing Meta sent is dropped.
 */
export type WebhookEventKind = "account" | "value_errors" | "unrouted" | "malformed";

export interface WebhookEventDoc {
  _id: Types.ObjectId;
  /** sha256 of the event's content, so Meta's redeliveries are stored once. */
  dedupeKey: string;
  kind: WebhookEventKind;
  field: string;
  wabaId?: string | null;
  phoneNumberId?: string | null;
  clientId?: Types.ObjectId | null;
  valid: boolean;
  problem?: string | null;
  value: unknown;
  eventTime?: Date | null;
  deliveryId: string;
  /** Set by the handler that acted on it (onboarding, templates); null while nobody has. */
  handledAt?: Date | null;
  createdAt: Date;
}

const webhookEventSchema = new Schema<WebhookEventDoc>(
  {
    dedupeKey: { type: String, required: true, unique: true },
    kind: { type: String, required: true },
    field: { type: String, required: true },
    wabaId: { type: String, default: null },
    phoneNumberId: { type: String, default: null },
    clientId: { type: Schema.Types.ObjectId, default: null },
    valid: { type: Boolean, required: true },
    problem: { type: String, default: null },
    value: Schema.Types.Mixed,
    eventTime: { type: Date, default: null },
    deliveryId: { type: String, required: true },
    handledAt: { type: Date, default: null },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: "webhook_events" },
);
webhookEventSchema.index({ kind: 1, field: 1, createdAt: -1 });

export const webhookEventModel = (conn: Connection): Model<WebhookEventDoc> =>
  conn.model<WebhookEventDoc>("WebhookEvent", webhookEventSchema);
