import type { z } from "zod";
import type { TimestampAdjustment } from "./event-time.js";
import type { inboundMessageSchema, KnownMessageType, WebhookError } from "./webhook-schema.js";

/**
 * What `normalizeDelivery` returns. Every string and free-form value in these types is safe to store
 * on MongoDB 7 and FerretDB (see `safeRaw`): free-form parts went through it, identifiers were
 * checked, texts had NUL and lone surrogates replaced.
 */

/** An inbound message reduced to what the platform stores, whatever its type. */
export interface NormalizedMessage {
  wamid: string;
  /** A known type, or `unsupported` for types this code does not know or could not read. */
  type: KnownMessageType;
  /** Meta's `type` as received (differs from `type` when a new type was stored as unsupported); "" when absent. */
  originalType: string;
  /** Meta's timestamp, or the time the webhook was received when Meta's was missing, not sane or in the future. */
  timestamp: Date;
  /** Set when `timestamp` is not Meta's: why. */
  timestampAdjusted?: TimestampAdjustment;
  /** Set when `timestamp` is not Meta's and Meta sent one: what was received, as text. */
  originalTimestamp?: string;
  /** Type-specific content as Meta sent it (media ids, location, contacts, replies…), through `safeRaw`. */
  content: unknown;
  /** A short human-readable text for lists and previews. */
  text: string | null;
  context?: z.infer<typeof inboundMessageSchema>["context"];
  referral?: z.infer<typeof inboundMessageSchema>["referral"];
  errors?: WebhookError[];
  /** The whole message as received (through `safeRaw`), kept for unsupported types and whenever a part was left out. */
  raw?: unknown;
  /** Parts of the message that could not be read and were left out of the fields above (they are in `raw`). */
  problems?: string[];
}

export interface NormalizedStatus {
  wamid: string;
  status: string;
  /** Meta's timestamp, or the time the webhook was received when Meta's was missing, not sane or in the future. */
  timestamp: Date;
  timestampAdjusted?: TimestampAdjustment;
  originalTimestamp?: string;
  /** `recipient_id`, else `recipient_user_id`, else null. */
  recipientKey: string | null;
  recipientId?: string;
  recipientUserId?: string;
  bizOpaqueCallbackData?: string;
  pricing?: { billable?: boolean; pricingModel?: string; type?: string; category?: string };
  conversation?: { id?: string; expiresAt?: Date; originType?: string };
  errors?: WebhookError[];
  /** The status as received (through `safeRaw`), kept when a part was left out. */
  raw?: unknown;
  problems?: string[];
}

/**
 * Where in the delivery an event comes from. `path` is always set: `$` (the delivery),
 * `$.entry[0]`, `$.entry[0].time`, `$.entry[0].changes[1]`, `$.entry[0].changes[1].value.messages[2]`
 * (also `statuses`, `errors`, `contacts`, or `value.<part>` for a part that is not an array).
 * `index` is the element's index in its array.
 */
/**
 * A `system` message's identity change: `phone` for `user_changed_number` (and the older
 * `customer_changed_number`), `user_id` for `user_changed_user_id`. `to` is the new phone number or
 * user id; `from` the one it replaces, when the payload names it.
 */
export interface IdentityChange {
  kind: "phone" | "user_id";
  systemType: string;
  to: string;
  from?: string;
  /**
   * A number change's new user id, when Meta names one that differs from the previous: a
   * business-scoped user id is regenerated when the user changes number (`user_changed_number`
   * carries `user_id` and `previous_user_id`).
   */
  userId?: { to: string; from?: string };
}

export interface EventLocation {
  path: string;
  entry?: number;
  change?: number;
  index?: number;
}

export interface Route {
  wabaId: string;
  phoneNumberId: string;
  displayPhoneNumber?: string;
}

export type InboundEvent =
  | (Route & {
      kind: "message";
      /** The candidate: `wa_id`, or the business-scoped user id when `wa_id` is absent. */
      candidateKey: string;
      waId?: string;
      userId?: string;
      profileName?: string;
      /** The sender's WhatsApp username (`contacts[].profile.username`, or `contacts[].username`). */
      username?: string;
      /** The contact's `parent_user_id`, when Meta names one. */
      parentUserId?: string;
      /** For a `system` message that moves the candidate to a new phone number or user id. */
      identityChange?: IdentityChange;
      message: NormalizedMessage;
      location?: EventLocation;
    })
  | (Route & { kind: "status"; status: NormalizedStatus; location?: EventLocation })
  /**
   * `smb_message_echoes`: a message the business sent from the WhatsApp Business app on a
   * coexistence number, to be shown as outbound. The candidate is the echo's `to` (else `to_user_id`).
   */
  | (Route & {
      kind: "echo";
      /** The candidate: `to`, or `to_user_id` when the phone is hidden. */
      candidateKey: string;
      waId?: string;
      userId?: string;
      message: NormalizedMessage;
      location?: EventLocation;
    })
  | (Route & { kind: "value_errors"; errors: WebhookError[]; location?: EventLocation })
  | {
      kind: "account";
      wabaId: string;
      field: string;
      time?: Date;
      /** The value as received (through `safeRaw`), with the known field's primitive conversions applied. */
      value: unknown;
      /** False when the field has a schema here and the value does not match it; unknown fields are valid. */
      valid: boolean;
      problem?: string;
      location?: EventLocation;
    }
  | {
      kind: "malformed";
      wabaId?: string;
      phoneNumberId?: string;
      /** `delivery`, `entry`, `changes`, the change's field, or `messages` / `statuses` / `errors` / `contacts`. */
      field: string;
      reason: string;
      /** The part that could not be read, through `safeRaw`. */
      raw: unknown;
      /** Always set by `normalizeDelivery`. */
      location?: EventLocation;
    };

export interface NormalizeOptions {
  /** When the webhook was received; clamps timestamps. Default: now. */
  receivedAt?: Date;
  /** How far ahead of `receivedAt` a timestamp may be. Default MAX_FUTURE_SKEW_MS (5 minutes). */
  maxFutureSkewMs?: number;
}

/**
 * Kept for callers that still catch it: `normalizeDelivery` no longer throws it (even a delivery
 * that is not an object becomes one `malformed` event).
 */
export class InvalidDeliveryError extends Error {
  readonly code = "WA_ERR_INVALID_DELIVERY";
  constructor(message: string) {
    super(message);
    this.name = "InvalidDeliveryError";
  }
}
