import { z } from "zod";
import { businessNumber, deliveryOptions, id, mediaSchema, mediaTypes, unixSeconds, userId, waId } from "./schemas.js";

/**
 * POST /_sim/candidates/reply: one message of any type a candidate can send, with the fields of its
 * type only (a field of another type, or a misspelt key, is refused).
 */

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

export const candidateReplyBody = z
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

/** The body once parsed (defaults applied): what the builders read. */
export type CandidateReply = z.output<typeof candidateReplyBody>;
