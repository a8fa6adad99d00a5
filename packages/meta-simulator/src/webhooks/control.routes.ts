import type { FastifyReply } from "fastify";
import { z } from "zod";
import type { SimArea } from "../simulator.js";
import {
  adReferral,
  buttonReplyContent,
  contactsContent,
  echoMessage,
  fieldDelivery,
  businessCapabilityDelivery,
  qualityUpdateDelivery,
  flowReplyContent,
  forwardedContext,
  graphError,
  inboundMessage,
  listReplyContent,
  locationContent,
  mediaContent,
  messageEchoesDelivery,
  messagesDelivery,
  newWamid,
  orderContent,
  reactionContent,
  replyContext,
  statusDelivery,
  statusObject,
  statusPricing,
  systemContent,
  systemMessagesDelivery,
  textContent,
  unsupportedReasons,
  userChangedNumberMessage,
  userChangedUserIdMessage,
  userIdOf,
  userPreferencesDelivery,
  type Business,
  type Candidate,
  type MediaKind,
  type MessageExtra,
} from "./payloads.js";
import { newUserId, userIdForPhone } from "./user-ids.js";
import { setMarketingPreference } from "../graph/marketing-preferences.js";
import {
  NoWebhookTargetError,
  WebhookDeliveryError,
  type DeliveryRecord,
  type DeliveryResult,
  type SendOptions,
} from "./webhook-sender.js";

/**
 * The simulator's webhook control API, under /_sim/webhooks and /_sim/candidates: what tests, the
 * demo page and benchmarks call to make "Meta" deliver something to the ingress. Each endpoint builds
 * a Meta-shaped payload (payloads.ts), signs it and POSTs it to the webhook target, then answers with
 * the ingress's status. Bodies are validated with zod: a 400 names every problem.
 */

export const WEBHOOKS_AREA = "webhooks";
/** How many deliveries GET /_sim/webhooks/deliveries remembers (oldest dropped first). */
export const DELIVERY_LOG_SIZE = 200;
/** Bodies longer than this are kept truncated in the log (a 3 MB batch × 200 would be 600 MB). */
const LOGGED_BODY_CHARS = 64 * 1024;

interface WebhooksAreaState {
  deliveries: Array<DeliveryRecord & { bodyTruncated?: true }>;
}

// ---------------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------------

const id = z.string().min(1).max(200);
/** Which business number a delivery is for, as every delivering body names it. */
const businessNumber = {
  phoneNumberId: id,
  wabaId: id,
  /** The business number's display form in metadata (an echo's `from`). Default 212500000000. */
  displayPhoneNumber: z
    .string()
    .regex(/^\d{6,20}$/, "must be digits")
    .optional(),
};
const waId = z.string().regex(/^\d{6,20}$/, "must be a wa_id: the number's digits with country code, no + or spaces");
const userId = z
  .string()
  .regex(
    /^[A-Z]{2}\.[A-Za-z0-9]{1,128}$/,
    "must be a business-scoped user id: country code, a dot, alphanumerics (MA.12345678901234567890)",
  );
const unixSeconds = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, "must be Unix seconds")])
  .transform(String);

/** Deliveries and targets are HTTP endpoints (a bare `ingress:3000` parses as a URL with scheme "ingress"). */
const httpUrl = z.url({
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
const deliveryOptions = {
  /** Deliver somewhere else than the configured target (this call only). */
  targetUrl: httpUrl.optional(),
  encoding: z.enum(["utf8", "meta-escaped"]).optional(),
  /** Override the sender's retry policy for this call (false = one POST). */
  retry: retrySchema.optional(),
};

const deliverBody = z
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

const mediaSchema = z.strictObject({
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

const interactiveSchema = z.discriminatedUnion(
  "type",
  [
    z.strictObject({ type: z.literal("button_reply"), id, title: z.string().min(1).max(20) }),
    z.strictObject({
      type: z.literal("list_reply"),
      id,
      title: z.string().min(1).max(24),
      description: z.string().max(72).optional(),
    }),
    z.strictObject({
      type: z.literal("nfm_reply"),
      response: z.unknown(),
      body: z.string().optional(),
      name: z.string().optional(),
    }),
  ],
  { error: "must be one of button_reply, list_reply, nfm_reply" },
);

const contactCardSchema = z.strictObject({
  formattedName: z.string().min(1),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  phones: z
    .array(z.strictObject({ phone: z.string().min(1), waId: waId.optional(), type: z.string().optional() }))
    .optional(),
  emails: z.array(z.strictObject({ email: z.string().min(1), type: z.string().optional() })).optional(),
  org: z
    .strictObject({ company: z.string().optional(), department: z.string().optional(), title: z.string().optional() })
    .optional(),
  urls: z.array(z.strictObject({ url: z.string().min(1), type: z.string().optional() })).optional(),
  /** `contact_request`: the answer to a contact-information request (the user's own number). */
  origin: z.enum(["contact_request", "other"]).optional(),
});

const mediaTypes: readonly string[] = ["image", "video", "audio", "document", "sticker"] satisfies MediaKind[];

/** Which type-specific fields each message type may carry (others are refused, to catch typos). */
const fieldTypes: Record<string, (type: string, known: boolean) => boolean> = {
  text: (t) => t === "text" || t === "image" || t === "video" || t === "document",
  media: (t) => mediaTypes.includes(t),
  location: (t) => t === "location",
  contacts: (t) => t === "contacts",
  interactive: (t) => t === "interactive",
  button: (t) => t === "button",
  reaction: (t) => t === "reaction",
  order: (t) => t === "order",
  system: (t) => t === "system",
  unsupported: (t) => t === "unsupported",
  payload: (_t, known) => !known,
};
const requiredFor: Record<string, keyof typeof fieldTypes> = {
  text: "text",
  location: "location",
  interactive: "interactive",
  button: "button",
  reaction: "reaction",
};

/** Types built with their own builder; any other type is an "unknown future type" (sent with `payload`). */
export const KNOWN_REPLY_TYPES = [
  "text",
  ...mediaTypes,
  "location",
  "contacts",
  "interactive",
  "button",
  "reaction",
  "order",
  "system",
  "request_welcome",
  "unsupported",
] as const;

const candidateReplyBody = z
  .strictObject({
    ...businessNumber,
    /** The candidate's wa_id; absent for a username-only candidate who hides the number. */
    from: waId.optional(),
    /** The business-scoped user id. Default: the simulator's id for `from`; null sends a pre-2026 payload without user ids. */
    userId: id.nullable().optional(),
    /** Profile name in contacts[]. Default "Candidate". */
    name: z.string().max(200).optional(),
    /** The candidate's username (contacts[].profile.username). */
    username: z.string().min(1).max(35).optional(),
    /** The parent user id (one id across the portfolio's numbers): contacts[].parent_user_id and from_parent_user_id. */
    parentUserId: id.optional(),
    type: z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, "must be a message type in lowercase, such as text or image"),
    /** The wamid to use (to replay a message); default a fresh one. */
    id: id.optional(),
    /** Meta's timestamp (Unix seconds); default now. */
    timestamp: unixSeconds.optional(),
    /** A reply (`id` of the message answered, `from` its sender) or a forward. */
    context: z
      .strictObject({
        id: id.optional(),
        from: z.string().optional(),
        forwarded: z.boolean().optional(),
        frequentlyForwarded: z.boolean().optional(),
      })
      .refine((c) => c.id || c.forwarded || c.frequentlyForwarded, {
        message: "needs id (a reply) or forwarded/frequentlyForwarded",
      })
      .optional(),
    /** The click-to-WhatsApp ad the chat came from (true = a sample ad). */
    referral: z
      .union([
        z.literal(true),
        z.strictObject({
          sourceUrl: z.string().optional(),
          sourceId: z.string().optional(),
          sourceType: z.enum(["ad", "post"]).optional(),
          headline: z.string().optional(),
          body: z.string().optional(),
          mediaType: z.enum(["image", "video"]).optional(),
          imageUrl: z.string().optional(),
          videoUrl: z.string().optional(),
          thumbnailUrl: z.string().optional(),
          ctwaClid: z.string().optional(),
        }),
      ])
      .optional(),
    text: z.string().min(1).max(4096).optional(),
    media: mediaSchema.optional(),
    location: z
      .strictObject({
        latitude: z.number().min(-90).max(90),
        longitude: z.number().min(-180).max(180),
        name: z.string().optional(),
        address: z.string().optional(),
        url: z.string().optional(),
      })
      .optional(),
    contacts: z.array(contactCardSchema).min(1).optional(),
    interactive: interactiveSchema.optional(),
    button: z
      .strictObject({ text: z.string().min(1), payload: z.string().optional(), templateWamid: id.optional() })
      .optional(),
    reaction: z.strictObject({ messageId: id, emoji: z.string().max(16).optional() }).optional(),
    order: z
      .strictObject({
        catalogId: z.string().optional(),
        text: z.string().optional(),
        items: z
          .array(
            z.strictObject({
              productRetailerId: z.string().min(1),
              quantity: z.number().int().positive(),
              itemPrice: z.number().nonnegative(),
              currency: z.string().length(3),
            }),
          )
          .min(1)
          .optional(),
      })
      .optional(),
    system: z
      .strictObject({
        /** user_changed_number (default), user_changed_user_id, or an older/other type. */
        type: z.string().min(1).optional(),
        body: z.string().optional(),
        /** user_changed_number / customer_changed_number: the new number. */
        newWaId: waId.optional(),
        /** user_changed_user_id: the phone number, when the user shares it (Meta omits it by default). */
        waId: waId.optional(),
        identity: z.string().optional(),
        customer: z.string().optional(),
        /** user_changed_user_id: the new user id. */
        newUserId: userId.optional(),
        /** user_changed_user_id: the id replaced. Default the candidate's user id. */
        previousUserId: userId.optional(),
      })
      .optional(),
    unsupported: z
      .strictObject({ type: z.string().min(1).optional(), reason: z.enum(["unknownType", "unavailable"]).optional() })
      .optional(),
    /** For a type this simulator has no builder for: the object sent under the type's key. */
    payload: z.unknown().optional(),
    ...deliveryOptions,
  })
  .superRefine((b, ctx) => {
    if (!b.from && !b.userId)
      ctx.addIssue({
        code: "custom",
        path: ["from"],
        message: "give from (the candidate's wa_id) or userId (business-scoped user id)",
      });
    if (
      b.type === "system" &&
      (b.system?.type ?? "user_changed_number") === "user_changed_user_id" &&
      !b.system?.newUserId
    ) {
      ctx.addIssue({ code: "custom", path: ["system", "newUserId"], message: "is required for user_changed_user_id" });
    }
    if (
      b.type === "system" &&
      (b.system?.type ?? "user_changed_number") === "user_changed_number" &&
      !b.system?.newWaId
    ) {
      ctx.addIssue({ code: "custom", path: ["system", "newWaId"], message: "is required for user_changed_number" });
    }
    const known = (KNOWN_REPLY_TYPES as readonly string[]).includes(b.type);
    for (const [field, allowed] of Object.entries(fieldTypes)) {
      if (b[field as keyof typeof b] !== undefined && !allowed(b.type, known)) {
        ctx.addIssue({ code: "custom", path: [field], message: `does not apply to type ${b.type}` });
      }
    }
    const required = requiredFor[b.type];
    if (required && b[required as keyof typeof b] === undefined) {
      ctx.addIssue({ code: "custom", path: [required], message: `is required for type ${b.type}` });
    }
  });
export type CandidateReplyBody = z.input<typeof candidateReplyBody>;

const statusBody = z
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
const identityChangeBody = z.discriminatedUnion(
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
/** A message the business sent from the WhatsApp Business app (coexistence), echoed as smb_message_echoes. */
const userPreferencesBody = z
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

const echoBody = z
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

const fieldBody = z.strictObject({
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

const businessCapabilityBody = z.strictObject({
  wabaId: id,
  /** The portfolio's messaging limit: 250, 2000, 10000, 100000, or -1 for unlimited. */
  maxDailyConversationsPerBusiness: portfolioLimit,
  maxPhoneNumbersPerBusiness: z.number().int().positive().optional(),
  ...deliveryOptions,
});

const phoneQualityBody = z.strictObject({
  wabaId: id,
  displayPhoneNumber: z.string().min(1).max(30),
  /** FLAGGED (quality RED), UNFLAGGED, UPGRADE, DOWNGRADE, ONBOARDING… */
  event: z.string().regex(/^[A-Z_]{1,40}$/, "must be an event such as FLAGGED or UNFLAGGED"),
  oldLimit: z.string().max(40).optional(),
  currentLimit: z.string().max(40).optional(),
  maxDailyConversationsPerBusiness: portfolioLimit.optional(),
  ...deliveryOptions,
});

const targetBody = z.strictObject({ url: httpUrl });
const deliveriesQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(DELIVERY_LOG_SIZE).optional() });

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function sendProblem(reply: FastifyReply, status: number, code: string, message: string, details?: unknown) {
  return reply.code(status).send({ error: { code, message, ...(details !== undefined ? { details } : {}) } });
}

/** Parses with `schema` or answers 400 naming every problem; returns undefined when it answered. */
function parse<S extends z.ZodType>(
  schema: S,
  input: unknown,
  reply: FastifyReply,
  what = "body",
): z.output<S> | undefined {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const details = result.error.issues.map((i) => ({
    path: i.path.length ? i.path.join(".") : what,
    message: i.code === "invalid_type" && i.message.endsWith("received undefined") ? "is required" : i.message,
  }));
  void sendProblem(
    reply,
    400,
    "BAD_REQUEST",
    `invalid ${what}: ${details.map((d) => `${d.path}: ${d.message}`).join("; ")}`,
    details,
  );
  return undefined;
}

function sendOptionsOf(b: {
  targetUrl?: string;
  encoding?: SendOptions["encoding"];
  retry?: SendOptions["retry"];
}): SendOptions {
  return {
    ...(b.targetUrl ? { targetUrl: b.targetUrl } : {}),
    ...(b.encoding ? { encoding: b.encoding } : {}),
    ...(b.retry !== undefined ? { retry: b.retry } : {}),
  };
}

function buildCandidateMessage(b: z.output<typeof candidateReplyBody>, businessNumber: string) {
  const candidate: Candidate = {
    ...(b.from ? { waId: b.from } : {}),
    ...(b.userId !== undefined ? { userId: b.userId } : {}),
    ...(b.name ? { name: b.name } : {}),
    ...(b.username ? { username: b.username } : {}),
    ...(b.parentUserId ? { parentUserId: b.parentUserId } : {}),
  };
  const context = b.context
    ? b.context.id
      ? replyContext(b.context.id, b.context.from ?? businessNumber)
      : forwardedContext(Boolean(b.context.frequentlyForwarded))
    : undefined;
  const extra: MessageExtra = {
    ...(b.id ? { id: b.id } : {}),
    ...(b.timestamp ? { timestamp: b.timestamp } : {}),
    ...(context ? { context } : {}),
    ...(b.referral ? { referral: adReferral(b.referral === true ? {} : b.referral) } : {}),
  };
  const type = b.type;
  let message;
  if (type === "text") message = inboundMessage(candidate, type, textContent(b.text!), extra);
  else if (mediaTypes.includes(type)) {
    const caption = b.media?.caption ?? b.text;
    message = inboundMessage(
      candidate,
      type,
      mediaContent(type as MediaKind, { ...b.media, ...(caption !== undefined ? { caption } : {}) }),
      extra,
    );
  } else if (type === "location") message = inboundMessage(candidate, type, locationContent(b.location!), extra);
  else if (type === "contacts")
    message = inboundMessage(
      candidate,
      type,
      contactsContent(
        b.contacts ?? [
          { formattedName: "Karim El Idrissi", phones: [{ phone: "+212 6 61 23 45 67", waId: "212661234567" }] },
        ],
      ),
      extra,
    );
  else if (type === "interactive") {
    const i = b.interactive!;
    const content =
      i.type === "button_reply"
        ? buttonReplyContent(i.id, i.title)
        : i.type === "list_reply"
          ? listReplyContent(i.id, i.title, i.description)
          : flowReplyContent(i.response ?? {}, {
              ...(i.body ? { body: i.body } : {}),
              ...(i.name ? { name: i.name } : {}),
            });
    message = inboundMessage(candidate, type, content, extra);
  } else if (type === "button") {
    const btn = b.button!;
    // A quick-reply tap always names the template message it answers.
    const templateWamid = btn.templateWamid ?? b.context?.id ?? newWamid();
    message = inboundMessage(
      candidate,
      type,
      { text: btn.text, payload: btn.payload ?? btn.text },
      { ...extra, context: replyContext(templateWamid, businessNumber) },
    );
  } else if (type === "reaction")
    message = inboundMessage(candidate, type, reactionContent(b.reaction!.messageId, b.reaction!.emoji), extra);
  else if (type === "order") message = inboundMessage(candidate, type, orderContent(b.order ?? {}), extra);
  else if (type === "system") message = systemMessage(candidate, b.system ?? {}, extra);
  else if (type === "request_welcome") message = inboundMessage(candidate, type, undefined, extra);
  else if (type === "unsupported") {
    const reason = b.unsupported?.reason ?? "unknownType";
    message = inboundMessage(
      candidate,
      type,
      { type: b.unsupported?.type ?? "unknown" },
      { errors: [unsupportedReasons[reason]()], ...extra },
    );
  } else message = inboundMessage(candidate, type, b.payload ?? {}, extra);
  return { candidate, message };
}

/** A `system` message in the 2026 shapes, or an older/other type with the fields given. */
function systemMessage(
  c: Candidate,
  sys: NonNullable<z.output<typeof candidateReplyBody>["system"]>,
  extra: MessageExtra,
) {
  const type = sys.type ?? "user_changed_number";
  const body = sys.body !== undefined ? { body: sys.body } : {};
  if (type === "user_changed_number" && c.waId) {
    const m = userChangedNumberMessage({ ...c, waId: c.waId }, sys.newWaId!, extra);
    if (sys.body !== undefined) (m.system as { body: string }).body = sys.body;
    return m;
  }
  if (type === "user_changed_user_id") {
    const previous = sys.previousUserId ?? userIdOf(c) ?? newUserId();
    return inboundMessage(
      { userId: previous, ...(sys.waId ? { waId: sys.waId } : {}) },
      "system",
      systemContent({
        type,
        previousUserId: previous,
        userId: sys.newUserId!,
        ...(sys.waId ? { waId: sys.waId } : {}),
        ...(c.name ? { name: c.name } : {}),
        ...body,
      }),
      extra,
    );
  }
  if (type === "customer_changed_number") {
    return inboundMessage(
      c,
      "system",
      systemContent({
        type,
        ...(c.waId ? { waId: c.waId } : {}),
        ...(sys.newWaId ? { newWaId: sys.newWaId } : {}),
        ...(c.name ? { name: c.name } : {}),
        ...body,
      }),
      extra,
    );
  }
  const { newWaId, newUserId: next, previousUserId, ...rest } = sys;
  return inboundMessage(
    c,
    "system",
    systemContent({
      ...rest,
      type,
      ...(newWaId ? { newWaId } : {}),
      ...(next ? { userId: next } : {}),
      ...(previousUserId ? { previousUserId } : {}),
    }),
    extra,
  );
}

const businessOf = (b: {
  wabaId: string;
  phoneNumberId: string;
  displayPhoneNumber?: string | undefined;
}): Business => ({
  wabaId: b.wabaId,
  phoneNumberId: b.phoneNumberId,
  ...(b.displayPhoneNumber ? { displayPhoneNumber: b.displayPhoneNumber } : {}),
});

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

export const webhookControlArea: SimArea = (app, ctx, done) => {
  const state = () => ctx.state.area<WebhooksAreaState>(WEBHOOKS_AREA, () => ({ deliveries: [] }));
  // Every delivery, whichever area sent it, goes in this area's log.
  const unsubscribe = ctx.webhooks.onDelivery((record) => {
    const log = state().deliveries;
    log.push(
      record.body.length > LOGGED_BODY_CHARS
        ? { ...record, body: record.body.slice(0, LOGGED_BODY_CHARS), bodyTruncated: true }
        : record,
    );
    if (log.length > DELIVERY_LOG_SIZE) log.splice(0, log.length - DELIVERY_LOG_SIZE);
  });
  app.addHook("onClose", (_instance, closed) => {
    unsubscribe();
    closed();
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err }, "control request failed");
    return sendProblem(reply, status, err.code ?? "INTERNAL_ERROR", err.message);
  });

  /** Delivers and answers with the ingress's answer, or 409 / 502 when nothing could be delivered. */
  async function deliverAndReply(
    reply: FastifyReply,
    payload: unknown,
    opts: SendOptions,
    extra: Record<string, unknown> = {},
  ) {
    let result: DeliveryResult;
    try {
      result = await ctx.webhooks.send(payload, opts);
    } catch (err) {
      if (err instanceof NoWebhookTargetError) return sendProblem(reply, 409, err.code, err.message);
      if (err instanceof WebhookDeliveryError)
        return sendProblem(reply, 502, err.code, err.message, { attempts: err.attempts });
      throw err;
    }
    return reply.code(200).send({ ...extra, delivery: result, ...(typeof payload === "string" ? {} : { payload }) });
  }

  app.get("/_sim/webhooks/target", () => ({ url: ctx.webhooks.targetUrl ?? null }));

  app.put("/_sim/webhooks/target", async (request, reply) => {
    const body = parse(targetBody, request.body, reply);
    if (!body) return reply;
    ctx.webhooks.targetUrl = body.url;
    return { url: body.url };
  });

  app.get("/_sim/webhooks/deliveries", async (request, reply) => {
    const query = parse(deliveriesQuery, request.query, reply, "query");
    if (!query) return reply;
    const log = state().deliveries;
    return { deliveries: query.limit ? log.slice(-query.limit) : log };
  });

  app.delete("/_sim/webhooks/deliveries", async (_request, reply) => {
    state().deliveries.length = 0;
    return reply.code(204).send();
  });

  /** Signs and delivers a payload given as is (or exact raw text), e.g. a batch built by a test. */
  app.post("/_sim/webhooks/deliver", async (request, reply) => {
    const body = parse(deliverBody, request.body, reply);
    if (!body) return reply;
    const opts: SendOptions = {
      ...sendOptionsOf(body),
      ...(body.signature !== undefined ? { signature: body.signature } : {}),
    };
    return deliverAndReply(reply, body.raw ?? body.payload, opts);
  });

  /** A candidate writes to a business number: one message of any type, delivered as Meta would. */
  app.post("/_sim/candidates/reply", async (request, reply) => {
    const body = parse(candidateReplyBody, request.body, reply);
    if (!body) return reply;
    const business: Business = {
      wabaId: body.wabaId,
      phoneNumberId: body.phoneNumberId,
      ...(body.displayPhoneNumber ? { displayPhoneNumber: body.displayPhoneNumber } : {}),
    };
    const { candidate, message } = buildCandidateMessage(body, body.displayPhoneNumber ?? "212500000000");
    // Meta sends system messages without a contacts array.
    const payload =
      message.type === "system"
        ? systemMessagesDelivery(business, [message])
        : messagesDelivery(business, candidate, [message]);
    return deliverAndReply(reply, payload, sendOptionsOf(body), { wamid: message.id });
  });

  /** A candidate changes number or business-scoped user id: the 2026 `system` message, delivered. */
  app.post("/_sim/candidates/identity-change", async (request, reply) => {
    const body = parse(identityChangeBody, request.body, reply);
    if (!body) return reply;
    const extra: MessageExtra = {
      ...(body.id ? { id: body.id } : {}),
      ...(body.timestamp ? { timestamp: body.timestamp } : {}),
    };
    let message;
    let identity: { waId?: string; userId: string; previousWaId?: string; previousUserId?: string };
    if (body.change === "number") {
      const candidate = {
        waId: body.from,
        ...(body.userId ? { userId: body.userId } : {}),
        ...(body.name ? { name: body.name } : {}),
      };
      const previousUserId = userIdOf(candidate)!;
      // The regenerated id defaults to the simulator's id for the new number, so that the candidate's
      // later messages from it (whose id defaults the same way) carry it.
      const regenerated = userIdForPhone(body.newWaId);
      const next =
        body.newUserId === null
          ? null
          : (body.newUserId ?? (regenerated !== previousUserId ? regenerated : newUserId("MA")));
      message = userChangedNumberMessage(candidate, body.newWaId, { ...extra, newUserId: next });
      identity = {
        waId: body.newWaId,
        userId: next ?? previousUserId,
        previousWaId: body.from,
        ...(next ? { previousUserId } : {}),
      };
    } else {
      const previous = body.previousUserId ?? (body.waId ? userIdOf({ waId: body.waId }) : undefined);
      if (!previous)
        return sendProblem(reply, 400, "BAD_REQUEST", "invalid body: previousUserId: give previousUserId or waId", [
          { path: "previousUserId", message: "give previousUserId or waId" },
        ]);
      const next = body.newUserId ?? newUserId(previous.slice(0, 2));
      message = userChangedUserIdMessage(previous, next, {
        ...(body.waId ? { waId: body.waId } : {}),
        ...(body.name ? { name: body.name } : {}),
        ...extra,
      });
      identity = { ...(body.waId ? { waId: body.waId } : {}), userId: next, previousUserId: previous };
    }
    return deliverAndReply(reply, systemMessagesDelivery(businessOf(body), [message]), sendOptionsOf(body), {
      wamid: message.id,
      identity,
    });
  });

  /**
   * A candidate stops (or resumes) the business's marketing messages in WhatsApp: the simulator
   * remembers it (a MARKETING template to them is then accepted and failed with 131050, as Meta does)
   * and delivers the `user_preferences` webhook.
   */
  app.post("/_sim/candidates/user-preferences", async (request, reply) => {
    const body = parse(userPreferencesBody, request.body, reply);
    if (!body) return reply;
    const candidate: Candidate = {
      ...(body.from ? { waId: body.from } : {}),
      ...(body.userId ? { userId: body.userId } : {}),
      ...(body.name ? { name: body.name } : {}),
    };
    const ids = [body.from, userIdOf(candidate) ?? undefined].filter((x): x is string => !!x);
    if ((body.category ?? "marketing_messages") === "marketing_messages")
      setMarketingPreference(ctx.state, body.wabaId, ids, body.value === "stop");
    const payload = userPreferencesDelivery(businessOf(body), candidate, body.value, {
      ...(body.category ? { category: body.category } : {}),
      ...(body.detail ? { detail: body.detail } : {}),
      ...(body.timestamp !== undefined ? { timestamp: body.timestamp } : {}),
    });
    return deliverAndReply(reply, payload, sendOptionsOf(body));
  });

  /** The recruiter writes from the WhatsApp Business app on a coexistence number: an smb_message_echoes delivery. */
  app.post("/_sim/business/echo", async (request, reply) => {
    const body = parse(echoBody, request.body, reply);
    if (!body) return reply;
    const to: Candidate = {
      ...(body.to ? { waId: body.to } : {}),
      ...(body.toUserId ? { userId: body.toUserId } : {}),
    };
    const content =
      body.type === "text"
        ? textContent(body.text!)
        : mediaTypes.includes(body.type)
          ? mediaContent(body.type as MediaKind, {
              ...body.media,
              ...(body.text !== undefined && body.media?.caption === undefined ? { caption: body.text } : {}),
            })
          : body.payload;
    const echo = echoMessage(body.displayPhoneNumber ?? "212500000000", to, body.type, content, {
      ...(body.id ? { id: body.id } : {}),
      ...(body.timestamp ? { timestamp: body.timestamp } : {}),
    });
    return deliverAndReply(reply, messageEchoesDelivery(businessOf(body), [echo]), sendOptionsOf(body), {
      wamid: echo.id,
    });
  });

  /** A status update for a message the business sent (sent, delivered, read, failed…). */
  app.post("/_sim/webhooks/status", async (request, reply) => {
    const body = parse(statusBody, request.body, reply);
    if (!body) return reply;
    const errors =
      body.errors?.map((e) => graphError(e.code, e.title, e.details, e.message)) ??
      (body.status === "failed" ? [graphError(131026, "Message undeliverable", "Message Undeliverable.")] : undefined);
    // recipient_user_id on every status (the simulator's id for the number when none is given).
    const recipient: Candidate = {
      ...(body.recipientId ? { waId: body.recipientId } : {}),
      ...(body.recipientUserId ? { userId: body.recipientUserId } : {}),
    };
    const status = statusObject(body.wamid, body.status, recipient, {
      ...(body.timestamp ? { timestamp: body.timestamp } : {}),
      ...(body.bizOpaqueCallbackData ? { bizOpaque: body.bizOpaqueCallbackData } : {}),
      ...(body.pricing ? { pricing: statusPricing(body.pricing.category, body.pricing) } : {}),
      ...(errors ? { errors } : {}),
    });
    return deliverAndReply(reply, statusDelivery(businessOf(body), [status], [recipient]), sendOptionsOf(body));
  });

  /** `business_capability_update`: the portfolio's messaging limit changed. */
  app.post("/_sim/webhooks/business-capability", async (request, reply) => {
    const body = parse(businessCapabilityBody, request.body, reply);
    if (!body) return reply;
    return deliverAndReply(
      reply,
      businessCapabilityDelivery(body.wabaId, {
        maxDailyConversationsPerBusiness: body.maxDailyConversationsPerBusiness,
        ...(body.maxPhoneNumbersPerBusiness ? { maxPhoneNumbersPerBusiness: body.maxPhoneNumbersPerBusiness } : {}),
      }),
      sendOptionsOf(body),
    );
  });

  /** `phone_number_quality_update`, 2026 shape: `event` and the portfolio's `max_daily_conversations_per_business`. */
  app.post("/_sim/webhooks/phone-quality", async (request, reply) => {
    const body = parse(phoneQualityBody, request.body, reply);
    if (!body) return reply;
    return deliverAndReply(
      reply,
      qualityUpdateDelivery(body.wabaId, {
        displayPhoneNumber: body.displayPhoneNumber,
        event: body.event,
        ...(body.oldLimit ? { oldLimit: body.oldLimit } : {}),
        ...(body.currentLimit ? { currentLimit: body.currentLimit } : {}),
        ...(body.maxDailyConversationsPerBusiness !== undefined
          ? { maxDailyConversationsPerBusiness: body.maxDailyConversationsPerBusiness }
          : {}),
      }),
      sendOptionsOf(body),
    );
  });

  /** A change of a non-messages field (account_update, message_template_status_update, …), value as given. */
  app.post("/_sim/webhooks/field", async (request, reply) => {
    const body = parse(fieldBody, request.body, reply);
    if (!body) return reply;
    return deliverAndReply(reply, fieldDelivery(body.wabaId, body.field, body.value, body.time), sendOptionsOf(body));
  });
  done();
};
