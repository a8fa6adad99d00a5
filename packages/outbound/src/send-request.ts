import { z } from "zod";
import { objectIdSchema, type StoredOutboundRequest } from "@linkojob/db";
import { outboundMediaSchema } from "./outbound-media.js";
import { interactiveSchema, reactionSchema, type ChatFields } from "./interactive.js";
import {
  templateButtonSchema,
  templateHeaderSchema,
  templateVarsSchema,
  type TemplateButtonInput,
  type TemplateHeaderInput,
  type TemplateVarsInput,
} from "./template-components.js";

/**
 * The one send request: the platform's body of `POST /api/messages/send` (the ingress validates with
 * it and the OpenAPI document is generated from it), its type, and what it becomes once normalised
 * (`outboundRequestOf`: the OutboundRequest the job carries and the message stores).
 */

const shortText = (max: number) => z.string().trim().min(1).max(max);

/** Meta's caption limit: the `message` text becomes the caption when the media has none. */
const CAPTION_MAX = 1024;

/** The platform's send body. Unknown fields are ignored (the platform backend may send more). */
export const sendRequestSchema = z
  .object({
    clientId: objectIdSchema.optional(),
    /** The candidate's number. Exactly one of candidatePhone and candidateUserId. */
    candidatePhone: z.string().min(3).max(40).optional(),
    /**
     * Meta's business-scoped user id (e.g. `MA.13491208655302741918`: ISO country code, a dot, up to
     * 128 alphanumerics) of a candidate whose phone is hidden: the worker sends with `recipient`.
     */
    candidateUserId: z
      .string()
      .regex(/^[A-Z]{2}\.[A-Za-z0-9]{1,128}$/, "must be a WhatsApp user id such as MA.13491208655302741918")
      .describe(
        "Meta's business-scoped user id of a candidate known without a phone number; exactly one of candidatePhone and candidateUserId.",
      )
      .optional(),
    candidateName: shortText(200).optional(),
    /** Free-form text (sent as text inside the 24-hour window; else the template goes). */
    message: z.string().min(1).max(4096).optional(),
    /** Meta template names: lower case, digits and underscores. */
    templateName: z
      .string()
      .regex(/^[a-z0-9_]{1,512}$/, "must be a template name (a-z, 0-9, _)")
      .optional(),
    templateLanguage: z
      .string()
      .regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, "must be a language code such as fr or en_US")
      .optional(),
    /**
     * The template's variables: positional `["Yasmine", "Comptable"]` (a text header's first, then the
     * body's), or by name `{ "candidate_name": "Yasmine" }` for named-variable templates.
     */
    templateVars: templateVarsSchema.optional(),
    /**
     * The template's header when it is a media or needs a variable: `{ type: "image" | "video" |
     * "document", id | link (https), filename? }` or `{ type: "text", text }`. Checked against the
     * synced template (400 TEMPLATE_HEADER_MISSING / TEMPLATE_HEADER_FORMAT).
     */
    templateHeader: templateHeaderSchema.optional(),
    /**
     * Button parameters: `[{ index, subType: "url" | "quick_reply" | "copy_code" | "flow", parameter, flowActionData? }]` — the
     * URL's variable, the quick reply's payload, the code to copy — by the button's position in the
     * template (400 TEMPLATE_BUTTON_MISSING / TEMPLATE_BUTTON_MISMATCH).
     */
    templateButtons: z.array(templateButtonSchema).max(10).optional(),
    jobTitle: shortText(200).optional(),
    companyName: shortText(200).optional(),
    applicationId: shortText(100).optional(),
    /**
     * An image or document, sent inside the 24-hour window instead of text, captioned with
     * `media.caption` or else `message`. By `url` (Meta fetches it), or `base64` bytes with `mimeType`
     * (and `filename` for documents), staged in GridFS until the worker uploads them to Meta.
     */
    media: outboundMediaSchema.optional(),
    /**
     * Reply buttons (`type: "button"`, up to 3) or a list (`type: "list"`), inside the 24-hour window;
     * outside it the template goes instead, as for text. Meta's limits are checked here.
     */
    interactive: interactiveSchema.optional(),
    /** Replies to this message (our message id or a wamid of this candidate's conversation): Meta's context. */
    replyTo: z.string().trim().min(1).max(512).optional(),
    /** Reacts to a message of this candidate's conversation (inside the window); `emoji: ""` removes the reaction. */
    reaction: reactionSchema.optional(),
  })
  .refine((b) => !b.interactive || (!b.media && !b.message), {
    message: "interactive carries its own body: send it without message or media",
    path: ["interactive"],
  })
  .refine((b) => !b.reaction || (!b.media && !b.message && !b.interactive && !b.replyTo && !b.templateName), {
    message: "a reaction is sent alone: without message, media, interactive, replyTo or templateName",
    path: ["reaction"],
  })
  .refine((b) => (b.candidatePhone === undefined) !== (b.candidateUserId === undefined), {
    message: "exactly one of candidatePhone and candidateUserId is required",
    path: ["candidatePhone"],
  })
  .refine((b) => !b.media || b.media.caption !== undefined || !b.message || b.message.length <= CAPTION_MAX, {
    message: `with media and no media.caption, message becomes the caption: at most ${CAPTION_MAX} characters`,
    path: ["message"],
  });

export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces");

/** A valid send request body. */
export type SendRequestBody = z.infer<typeof sendRequestSchema>;

/**
 * What the sender asked for, normalised (`outboundRequestOf`): what the job carries, the plan reads
 * and the message stores (`request`, which @linkojob/db reads as StoredOutboundRequest).
 */
export interface OutboundRequest extends StoredOutboundRequest {
  templateName?: string | null;
  templateLanguage?: string | null;
  /** Positional values (header text first, then body), or values by variable name. */
  templateVars?: TemplateVarsInput | null;
  /** A media header (image, video, document by Meta media id or https link) or a text header's variable. */
  templateHeader?: TemplateHeaderInput | null;
  /** Button parameters by the button's index in the template. */
  templateButtons?: TemplateButtonInput[] | null;
  companyName?: string | null;
}

/**
 * The normalised request: `candidatePhone` as normalised by the caller (null for a user id), absent
 * fields null, the chat references resolved (`chat`: wamids of replyTo / reaction, the interactive).
 * The media is added by the caller once staged.
 */
export function outboundRequestOf(
  body: SendRequestBody,
  candidatePhone: string | null,
  chat: ChatFields,
): Omit<OutboundRequest, "media"> {
  return {
    ...chat,
    candidatePhone,
    candidateUserId: body.candidateUserId ?? null,
    candidateName: body.candidateName ?? null,
    message: body.message ?? null,
    templateName: body.templateName ?? null,
    templateLanguage: body.templateLanguage ?? null,
    templateVars: body.templateVars ?? null,
    templateHeader: body.templateHeader ?? null,
    templateButtons: body.templateButtons ?? null,
    jobTitle: body.jobTitle ?? null,
    companyName: body.companyName ?? null,
    applicationId: body.applicationId ?? null,
  };
}
