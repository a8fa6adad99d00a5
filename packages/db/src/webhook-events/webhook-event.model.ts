import { Schema, type Connection, type Model, type Types } from "mongoose";

/**
 * Webhook content that is not a message or a status: account and template updates, quality changes,
 * account-level errors, events for numbers that belong to no client, and malformed elements. Kept
 * (deduplicated) so that later handlers and operators can act on them; nothing Meta sent is dropped.
 * A `dead_letter` is a whole delivery whose processing failed for good: its body (`value.body`), the
 * error and the attempts, until an admin replays it (`replayedAt`). A `blocked` record is a message
 * from a candidate the recruiter blocked, not routed to them (its wamid, type, time and conversation id only).
 */
export type WebhookEventKind = "account" | "value_errors" | "unrouted" | "malformed" | "dead_letter" | "blocked";

/** The failure that made a delivery a dead letter (kind `dead_letter`). */
export interface DeadLetterError {
  name: string;
  message: string;
  code?: string | number | null;
  /** `deterministic` (never retried) or `retries_exhausted` (a database or network failure that outlasted the attempts). */
  reason: "deterministic" | "retries_exhausted";
}

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
  /** Malformed parts: where in the delivery (`path` such as `$.entry[0].changes[1].value.messages[2]`). */
  location?: { path: string; entry?: number; change?: number; index?: number } | null;
  deliveryId: string;
  /** Set by the handler that acted on it (onboarding, templates); null while nobody has. */
  handledAt?: Date | null;
  /** Dead letters: what failed, after how many attempts of the delivery's job. */
  error?: DeadLetterError | null;
  attempts?: number | null;
  /** Dead letters: when an admin re-enqueued the delivery, and as which job. */
  replayedAt?: Date | null;
  replayJobId?: string | null;
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
    location: { type: Schema.Types.Mixed, default: undefined },
    deliveryId: { type: String, required: true },
    handledAt: { type: Date, default: null },
    error: { type: Schema.Types.Mixed, default: undefined },
    attempts: { type: Number, default: undefined },
    replayedAt: { type: Date, default: undefined },
    replayJobId: { type: String, default: undefined },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: "webhook_events" },
);
webhookEventSchema.index({ kind: 1, field: 1, createdAt: -1 });

export const webhookEventModel = (conn: Connection): Model<WebhookEventDoc> =>
  conn.model<WebhookEventDoc>("WebhookEvent", webhookEventSchema);
