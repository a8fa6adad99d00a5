import { z } from "zod";
import type { MediaKind } from "../payloads.js";
import { DELIVERY_LOG_SIZE } from "./delivery-log.js";

/**
 * The bodies of the webhook control API, as zod schemas: a bad body gets a 400 naming every problem
 * (replies.ts), and a handler reads the parsed, typed value. The candidate reply's schema, the largest,
 * has its own file (candidate-reply.schema.ts); the pieces every body shares are here.
 */

export const id = z.string().min(1).max(200);
/** Which business number a delivery is for, as every delivering body names it. */
export const businessNumber = {
  phoneNumberId: id,
  wabaId: id,
  /** The business number's display form in metadata (an echo's `from`). Default 212500000000. */
  displayPhoneNumber: z
    .string()
    .regex(/^\d{6,20}$/, "must be digits")
    .optional(),
};
export const waId = z
  .string()
  .regex(/^\d{6,20}$/, "must be a wa_id: the number's digits with country code, no + or spaces");
export const userId = z
  .string()
  .regex(
    /^[A-Z]{2}\.[A-Za-z0-9]{1,128}$/,
    "must be a business-scoped user id: country code, a dot, alphanumerics (MA.12345678901234567890)",
  );
export const unixSeconds = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, "must be Unix seconds")])
  .transform(String);

/** Deliveries and targets are HTTP endpoints (a bare `ingress:3000` parses as a URL with scheme "ingress"). */
export const httpUrl = z.url({
  protocol: /^https?$/,
  message: "must be an absolute http(s) URL such as http://127.0.0.1:3000/webhook",
});

const retrySchema = z.union([
  z.literal(false),
  z.strictObject({
    attempts: z.number().int().min(1).max(20),
    initialDelayMs: z.number().int().min(0).max(600_000).optional(),
    factor: z.number().min(1).max(10).optional(),
    maxDelayMs: z.number().int().min(0).max(3_600_000).optional(),
  }),
]);

/** Options every delivering endpoint accepts. */
export const deliveryOptions = {
  /** Deliver somewhere else than the configured target (this call only). */
  targetUrl: httpUrl.optional(),
  encoding: z.enum(["utf8", "meta-escaped"]).optional(),
  /** Override the sender's retry policy for this call (false = one POST). */
  retry: retrySchema.optional(),
};

export const mediaSchema = z.strictObject({
  id: id.optional(),
  mimeType: z.string().min(1).optional(),
  sha256: z.string().min(1).optional(),
  caption: z.string().max(1024).optional(),
  filename: z.string().min(1).max(240).optional(),
  voice: z.boolean().optional(),
  animated: z.boolean().optional(),
  /** Meta's lookaside link (default one for the id); null leaves it out, as payloads before 2026. */
  url: z.url().nullable().optional(),
});

export const mediaTypes: readonly string[] = ["image", "video", "audio", "document", "sticker"] satisfies MediaKind[];

// ---------------------------------------------------------------------------------------------
// The log and the target
// ---------------------------------------------------------------------------------------------

export const targetBody = z.strictObject({ url: httpUrl });
export const deliveriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(DELIVERY_LOG_SIZE).optional(),
});

// ---------------------------------------------------------------------------------------------
// What a delivering endpoint is asked to deliver
// ---------------------------------------------------------------------------------------------

/** A payload given as is (or exact raw text), e.g. a batch built by a test. */
export const deliverBody = z
  .strictObject({
    /** A JSON payload, sent as JSON.stringify gives it (or escaped, see encoding). */
    payload: z.unknown().optional(),
    /** Exact text to send instead, e.g. malformed JSON. */
    raw: z.string().optional(),
    /** X-Hub-Signature-256 value to send instead of the right one; null sends no header. */
    signature: z.string().max(200).nullable().optional(),
    ...deliveryOptions,
  })
  .refine((b) => (b.payload !== undefined) !== (b.raw !== undefined), {
    message: "give exactly one of payload (JSON) or raw (text)",
    path: ["payload"],
  });

export const statusBody = z
  .strictObject({
    ...businessNumber,
    /** The business's message the status is about. */
    wamid: id,
    /** sent, delivered, read, played, failed (or any other value, to test unknown ones). */
    status: z.string().regex(/^[a-z_]{1,30}$/, "must be a status in lowercase, such as delivered"),
    recipientId: waId.optional(),
    recipientUserId: id.optional(),
    timestamp: unixSeconds.optional(),
    bizOpaqueCallbackData: z.string().max(512).optional(),
    /** type: regular, free_customer_service or free_entry_point (default from the category). */
    pricing: z
      .strictObject({ category: z.string().min(1), billable: z.boolean().optional(), type: z.string().optional() })
      .optional(),
    /** For failed: default one 131026 (undeliverable). */
    errors: z
      .array(
        z.strictObject({
          code: z.number().int(),
          title: z.string().min(1),
          details: z.string().optional(),
          message: z.string().optional(),
        }),
      )
      .optional(),
    ...deliveryOptions,
  })
  .refine((b) => b.recipientId || b.recipientUserId, {
    message: "give recipientId (wa_id) or recipientUserId",
    path: ["recipientId"],
  });

/** One of the two identity changes of 2026, as a `system` message without contacts. */
export const identityChangeBody = z.discriminatedUnion(
  "change",
  [
    z.strictObject({
      change: z.literal("number"),
      ...businessNumber,
      /** The number the candidate had. */
      from: waId,
      newWaId: waId,
      /** The candidate's user id before the change. Default the simulator's id for `from`. */
      userId: userId.optional(),
      /**
       * The user id after it: Meta regenerates it with the number (August 2026 reference). Default the
       * simulator's id for the new number; `null` plays the older payload where the id stayed.
       */
      newUserId: userId.nullable().optional(),
      name: z.string().max(200).optional(),
      id: id.optional(),
      timestamp: unixSeconds.optional(),
      ...deliveryOptions,
    }),
    z.strictObject({
      change: z.literal("user_id"),
      ...businessNumber,
      /** The id being replaced. Default the simulator's id for `waId`. */
      previousUserId: userId.optional(),
      /** Default a fresh id in the same country. */
      newUserId: userId.optional(),
      /** The candidate's number, sent only when given (Meta omits it). */
      waId: waId.optional(),
      name: z.string().max(200).optional(),
      id: id.optional(),
      timestamp: unixSeconds.optional(),
      ...deliveryOptions,
    }),
  ],
  { error: "change must be number or user_id" },
);

const echoTypes = ["text", ...mediaTypes, "location", "template", "interactive", "reaction"] as const;
export const userPreferencesBody = z
  .strictObject({
    ...businessNumber,
    /** The candidate's number; absent for a user who hides it (then userId). */
    from: waId.optional(),
    /** The business-scoped user id. Default: the simulator's id for `from`. */
    userId: userId.optional(),
    name: z.string().max(200).optional(),
    /** `stop`: the user stopped the business's marketing messages; `resume`: turned them back on. */
    value: z.enum(["stop", "resume"]),
    /** Meta's category; only `marketing_messages` exists today. */
    category: z.string().min(1).max(60).optional(),
    detail: z.string().max(500).optional(),
    /** Unix seconds. Default now. */
    timestamp: z.number().int().nonnegative().optional(),
    ...deliveryOptions,
  })
  .refine((b) => b.from !== undefined || b.userId !== undefined, {
    message: "give from (the wa_id) or userId",
    path: ["from"],
  });

/** A message the business sent from the WhatsApp Business app (coexistence), echoed as smb_message_echoes. */
export const echoBody = z
  .strictObject({
    ...businessNumber,
    /** The candidate's number; absent for a username-only candidate. */
    to: waId.optional(),
    /** The candidate's user id. Default the simulator's id for `to`. */
    toUserId: userId.optional(),
    type: z.enum(echoTypes).default("text"),
    text: z.string().min(1).max(4096).optional(),
    media: mediaSchema.optional(),
    /** The object sent under the type's key, for types other than text and media. */
    payload: z.record(z.string(), z.unknown()).optional(),
    id: id.optional(),
    timestamp: unixSeconds.optional(),
    ...deliveryOptions,
  })
  .superRefine((b, ctx) => {
    if (!b.to && !b.toUserId)
      ctx.addIssue({ code: "custom", path: ["to"], message: "give to (the candidate's wa_id) or toUserId" });
    if (b.type === "text" && !b.text)
      ctx.addIssue({ code: "custom", path: ["text"], message: "is required for type text" });
    if (b.media && !mediaTypes.includes(b.type))
      ctx.addIssue({ code: "custom", path: ["media"], message: `does not apply to type ${b.type}` });
    if (!["text", ...mediaTypes].includes(b.type) && !b.payload)
      ctx.addIssue({ code: "custom", path: ["payload"], message: `is required for type ${b.type}` });
  });

export const fieldBody = z.strictObject({
  wabaId: id,
  /** account_update, message_template_status_update, phone_number_quality_update, or any other field. */
  field: z.string().regex(/^[a-z_]{1,60}$/, "must be a webhook field name such as account_update"),
  /** The change's value, sent as given (not validated: tests may send a malformed one on purpose). */
  value: z.record(z.string(), z.unknown()),
  /** entry[].time, Unix seconds. Default now. */
  time: z.number().int().nonnegative().optional(),
  ...deliveryOptions,
});

const portfolioLimit = z
  .number()
  .int()
  .refine((n) => n === -1 || n > 0, "must be a positive number of recipients, or -1 for unlimited");

export const businessCapabilityBody = z.strictObject({
  wabaId: id,
  /** The portfolio's messaging limit: 250, 2000, 10000, 100000, or -1 for unlimited. */
  maxDailyConversationsPerBusiness: portfolioLimit,
  maxPhoneNumbersPerBusiness: z.number().int().positive().optional(),
  ...deliveryOptions,
});

export const phoneQualityBody = z.strictObject({
  wabaId: id,
  displayPhoneNumber: z.string().min(1).max(30),
  /** FLAGGED (quality RED), UNFLAGGED, UPGRADE, DOWNGRADE, ONBOARDING… */
  event: z.string().regex(/^[A-Z_]{1,40}$/, "must be an event such as FLAGGED or UNFLAGGED"),
  oldLimit: z.string().max(40).optional(),
  currentLimit: z.string().max(40).optional(),
  maxDailyConversationsPerBusiness: portfolioLimit.optional(),
  ...deliveryOptions,
});
