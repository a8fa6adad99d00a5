import { z } from "zod";
import { userPreferencesValueSchema } from "./user-preferences.js";

/**
 * Schemas of Meta's WhatsApp webhook payloads (Graph API v21+, with the 2025-2026 business-scoped
 * user ids). They are loose at the edges: unknown keys are allowed (Meta adds fields over time).
 * `normalizeDelivery` uses them only to validate, element by element, and reads the data it keeps
 * from the payload itself: zod's output of a loose object turns an own `__proto__` key into a
 * prototype. Look schemas up by a payload string only through `messageContentSchemaFor` and
 * `accountFieldSchemaFor` (own entries only; `constructor` or `__proto__` is an unknown type).
 */

/** Unix seconds as a string (Meta) or number (entry.time of non-message fields). */
const unixSeconds = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform(Number);

export const graphErrorSchema = z.looseObject({
  code: z.number().int(),
  title: z.string().optional(),
  message: z.string().optional(),
  href: z.string().optional(),
  error_data: z.looseObject({ details: z.string().optional() }).optional(),
});
export type WebhookError = z.infer<typeof graphErrorSchema>;

const media = z.looseObject({
  id: z.string(),
  mime_type: z.string().optional(),
  sha256: z.string().optional(),
  caption: z.string().optional(),
  url: z.string().optional(),
});

/** The content of each known inbound message type, keyed by `type`. */
export const messageContentSchemas = {
  text: z.looseObject({ body: z.string() }),
  image: media,
  video: media,
  audio: media.extend({ voice: z.boolean().optional() }),
  document: media.extend({ filename: z.string().optional() }),
  sticker: media.extend({ animated: z.boolean().optional() }),
  location: z.looseObject({
    latitude: z.number(),
    longitude: z.number(),
    name: z.string().optional(),
    address: z.string().optional(),
    url: z.string().optional(),
  }),
  contacts: z.array(
    z.looseObject({
      name: z.looseObject({ formatted_name: z.string().optional() }).optional(),
      phones: z
        .array(
          z.looseObject({ phone: z.string().optional(), wa_id: z.string().optional(), type: z.string().optional() }),
        )
        .optional(),
      emails: z.array(z.looseObject({ email: z.string().optional(), type: z.string().optional() })).optional(),
      org: z.looseObject({}).optional(),
      urls: z.array(z.looseObject({ url: z.string().optional() })).optional(),
    }),
  ),
  interactive: z.discriminatedUnion("type", [
    z.looseObject({
      type: z.literal("button_reply"),
      button_reply: z.looseObject({ id: z.string(), title: z.string() }),
    }),
    z.looseObject({
      type: z.literal("list_reply"),
      list_reply: z.looseObject({ id: z.string(), title: z.string(), description: z.string().optional() }),
    }),
    z.looseObject({
      type: z.literal("nfm_reply"),
      nfm_reply: z.looseObject({
        name: z.string().optional(),
        body: z.string().optional(),
        response_json: z.string().optional(),
      }),
    }),
  ]),
  button: z.looseObject({ text: z.string().optional(), payload: z.string().optional() }),
  reaction: z.looseObject({ message_id: z.string(), emoji: z.string().optional() }),
  order: z.looseObject({
    catalog_id: z.string().optional(),
    text: z.string().optional(),
    product_items: z.array(z.looseObject({})).optional(),
  }),
  system: z.looseObject({
    body: z.string().optional(),
    type: z.string().optional(),
    wa_id: z.string().optional(),
    new_wa_id: z.string().optional(),
    identity: z.string().optional(),
    customer: z.string().optional(),
    user_id: z.string().optional(),
    new_user_id: z.string().optional(),
    previous_user_id: z.string().optional(),
  }),
  request_welcome: z.unknown(),
  unsupported: z.looseObject({ type: z.string().optional() }).optional(),
} as const;
export type KnownMessageType = keyof typeof messageContentSchemas;
/** A known message type with its part as the payload holds it once `messageContentSchemas[type]` accepted it. */
export type KnownMessageContent = {
  [K in KnownMessageType]: { type: K; content: z.input<(typeof messageContentSchemas)[K]> };
}[KnownMessageType];
export const knownMessageTypes = Object.keys(messageContentSchemas) as KnownMessageType[];

const contentSchemaByType: ReadonlyMap<string, z.ZodType> = new Map(Object.entries(messageContentSchemas));

export const isKnownMessageType = (type: string): type is KnownMessageType => contentSchemaByType.has(type);

/** The content schema of a message type named in a payload; undefined for any type not listed above. */
export const messageContentSchemaFor = (type: string): z.ZodType | undefined => contentSchemaByType.get(type);

export const messageContextSchema = z.looseObject({
  from: z.string().optional(),
  id: z.string().optional(),
  forwarded: z.boolean().optional(),
  frequently_forwarded: z.boolean().optional(),
  referred_product: z.looseObject({}).optional(),
});

export const referralSchema = z.looseObject({
  source_url: z.string().optional(),
  source_type: z.string().optional(),
  source_id: z.string().optional(),
  headline: z.string().optional(),
  body: z.string().optional(),
  media_type: z.string().optional(),
  image_url: z.string().optional(),
  video_url: z.string().optional(),
  thumbnail_url: z.string().optional(),
  ctwa_clid: z.string().optional(),
});

/** Envelope of one inbound message; the type-specific part is checked separately (see normalize). */
export const inboundMessageSchema = z.looseObject({
  id: z.string().min(1),
  from: z.string().optional(),
  from_user_id: z.string().optional(),
  timestamp: unixSeconds,
  type: z.string().min(1),
  context: messageContextSchema.optional(),
  referral: referralSchema.optional(),
  errors: z.array(graphErrorSchema).optional(),
});

export const statusSchema = z.looseObject({
  id: z.string().min(1),
  status: z.string().min(1),
  timestamp: unixSeconds,
  recipient_id: z.string().optional(),
  recipient_user_id: z.string().optional(),
  biz_opaque_callback_data: z.string().optional(),
  conversation: z
    .looseObject({
      id: z.string().optional(),
      expiration_timestamp: unixSeconds.optional(),
      origin: z.looseObject({ type: z.string().optional() }).optional(),
    })
    .optional(),
  pricing: z
    .looseObject({
      billable: z.boolean().optional(),
      pricing_model: z.string().optional(),
      type: z.string().optional(),
      category: z.string().optional(),
    })
    .optional(),
  errors: z.array(graphErrorSchema).optional(),
});

export const contactSchema = z.looseObject({
  wa_id: z.string().optional(),
  user_id: z.string().optional(),
  username: z.string().optional(),
  parent_user_id: z.string().optional(),
  profile: z.looseObject({ name: z.string().optional(), username: z.string().optional() }).optional(),
});

export const messagesValueSchema = z.looseObject({
  messaging_product: z.string().optional(),
  metadata: z.looseObject({ display_phone_number: z.string().optional(), phone_number_id: z.string().min(1) }),
  contacts: z.array(contactSchema).optional(),
  // Each element is validated on its own so one odd element cannot hide the others.
  messages: z.array(z.unknown()).optional(),
  statuses: z.array(z.unknown()).optional(),
  errors: z.array(graphErrorSchema).optional(),
});

export const changeSchema = z.looseObject({ field: z.string().min(1), value: z.unknown() });

export const entrySchema = z.looseObject({
  id: z.string(),
  time: unixSeconds.optional(),
  changes: z.array(changeSchema).default([]),
});

/**
 * The top level of every WhatsApp Business Account webhook delivery, as documentation and for
 * producers (the simulator); `normalizeDelivery` checks each level itself so one bad part cannot
 * hide the others.
 */
export const webhookDeliverySchema = z.looseObject({
  object: z.literal("whatsapp_business_account"),
  entry: z.array(entrySchema),
});
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;

/** `account_update` value: the events that change a tenant's connection. */
export const accountUpdateValueSchema = z.looseObject({
  event: z.string(),
  phone_number: z.string().optional(),
  waba_info: z.looseObject({ waba_id: z.string().optional(), owner_business_id: z.string().optional() }).optional(),
  ban_info: z.looseObject({}).optional(),
  restriction_info: z.array(z.looseObject({})).optional(),
  violation_info: z.looseObject({}).optional(),
});

/** `message_template_status_update` value. */
export const templateStatusValueSchema = z.looseObject({
  event: z.string(),
  message_template_id: z.union([z.number(), z.string()]).transform(String),
  message_template_name: z.string(),
  message_template_language: z.string(),
  reason: z.string().nullish(),
  message_template_category: z.string().optional(),
  other_info: z.looseObject({}).optional(),
  rejection_info: z.looseObject({}).optional(),
});

/**
 * `phone_number_quality_update` value. 2026 shape: `event` and the portfolio's
 * `max_daily_conversations_per_business` (`current_limit` and the per-phone limit are being removed).
 */
export const qualityUpdateValueSchema = z.looseObject({
  display_phone_number: z.string().optional(),
  event: z.string(),
  current_limit: z.string().optional(),
  max_daily_conversation_per_phone: z.number().optional(),
  // Meta's reference shows it as a string placeholder, its examples as a number: both accepted.
  max_daily_conversations_per_business: z.union([z.number(), z.string()]).optional(),
  old_limit: z.string().optional(),
});

/** `business_capability_update` value: the portfolio's messaging limit (-1: unlimited). */
export const businessCapabilityValueSchema = z.looseObject({
  max_daily_conversations_per_business: z.union([z.number(), z.string()]).optional(),
  max_daily_conversation_per_phone: z.number().optional(),
  max_phone_numbers_per_business: z.number().optional(),
});

/** Which schema validates the `value` of each non-message field we act on. */
export const accountFieldSchemas = {
  account_update: accountUpdateValueSchema,
  message_template_status_update: templateStatusValueSchema,
  phone_number_quality_update: qualityUpdateValueSchema,
  user_preferences: userPreferencesValueSchema,
  business_capability_update: businessCapabilityValueSchema,
} as const;

const accountSchemaByField: ReadonlyMap<string, z.ZodType> = new Map(Object.entries(accountFieldSchemas));

/** The value schema of a webhook field named in a payload; undefined for fields not listed above. */
export const accountFieldSchemaFor = (field: string): z.ZodType | undefined => accountSchemaByField.get(field);
