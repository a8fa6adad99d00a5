import { z } from "zod";
import { isoDate, objectId } from "./scalars.js";
import { OPT_OUT_SCOPE_VALUES } from "./payloads.js";

/**
 * REST answers a dashboard reads besides the conversation and message records (payloads.ts): their
 * shapes, for the inbox's type-check (`inbox/static/types.js` imports these types) and the routes'
 * contract tests. Ids are strings, dates ISO-8601 strings. Strict at the top: a contract test refuses
 * an answer with a key the schema does not name.
 */

/**
 * POST /api/messages/send → 202. The platform's `{ success, messageId, cost }`, plus what was planned
 * (`kind`), whether it goes now (`status`) and, when it waits, until when and why.
 */
export const sendAnswerSchema = z.strictObject({
  success: z.literal(true),
  /** Our id of the message: the `messageId` of its message:sent and message:status events. */
  messageId: objectId,
  /** `held`: waits for the client to be active again (or a quality pause); `scheduled`: goes at `scheduledFor`. */
  status: z.enum(["queued", "held", "scheduled"]),
  kind: z.enum(["text", "template", "media", "interactive", "reaction"]),
  /** Expected cost in MAD; confirmed or corrected by the pricing Meta reports. */
  cost: z.number(),
  /** Only when the request has media: whether it is planned to go (not with the window closed). */
  media: z.object({ willSend: z.boolean(), reason: z.string().optional() }).optional(),
  scheduledFor: isoDate.optional(),
  /** Why it waits: MESSAGING_LIMIT, QUIET_HOURS or QUALITY_PAUSED. */
  reason: z.enum(["MESSAGING_LIMIT", "QUIET_HOURS", "QUALITY_PAUSED"]).optional(),
  /** The reason in words, for a held send. */
  detail: z.string().optional(),
});
export type SendAnswerPayload = z.infer<typeof sendAnswerSchema>;

/** GET /inbox/config.json: what the inbox page needs to start. */
export const inboxConfigSchema = z.strictObject({
  /** The realtime server's URL (Socket.io), null when none is configured. */
  realtimeUrl: z.string().nullable(),
  /** Whether the demo's simulated candidate is available. */
  demo: z.boolean(),
  /** The price table the send API estimates with (OUTBOUND_PRICE_TABLE). */
  prices: z.record(z.string(), z.unknown()),
  currency: z.string(),
});
export type InboxConfigPayload = z.infer<typeof inboxConfigSchema>;

/**
 * GET /inbox/api/send-preview: what POST /api/messages/send would do for this candidate now (the
 * server's planSend), what it costs, and what the candidate's opt-out would refuse.
 */
export const sendPreviewSchema = z.strictObject({
  /** The candidate's opt-out in force, and what the send API would refuse because of it (null: nothing). */
  optOut: z
    .object({
      scope: z.enum(OPT_OUT_SCOPE_VALUES).nullable(),
      text: z.string().nullable(),
      template: z.string().nullable(),
    })
    .nullable(),
  candidatePhone: z.string().nullable(),
  candidateUserId: z.string().nullable(),
  conversationId: objectId.nullable(),
  firstContact: z.boolean(),
  windowExpiresAt: isoDate.nullable(),
  inWindow: z.boolean(),
  /** What a send with a message would be now: text inside the window, else the template. */
  kind: z.enum(["text", "template"]),
  currency: z.literal("MAD"),
  text: z.object({ cost: z.number(), category: z.string() }),
  template: z.object({
    name: z.string(),
    language: z.string(),
    category: z.string(),
    cost: z.number(),
    body: z.string().nullable(),
    parameterCount: z.number().int().nonnegative(),
    usable: z.boolean(),
    problem: z.string().nullable(),
    /** The template's header: a media one must be given by the send (`usableWithHeader`: then it can go). */
    header: z
      .object({
        format: z.string(),
        media: z.enum(["image", "video", "document"]).nullable(),
        usableWithHeader: z.boolean(),
      })
      .nullable(),
  }),
});
export type SendPreviewPayload = z.infer<typeof sendPreviewSchema>;
