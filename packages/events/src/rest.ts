import { z } from "zod";

/**
 * REST answers a dashboard reads besides the conversation and message records (payloads.ts): their
 * shapes, for the inbox's type-check (`inbox/static/types.js` imports these types) and the routes'
 * contract tests. Ids are strings, dates ISO-8601 strings.
 */

const objectId = z.string().regex(/^[0-9a-f]{24}$/, "a 24-character hex id");
const isoDate = z.iso.datetime({ offset: true });

/**
 * POST /api/messages/send → 202. The platform's `{ success, messageId, cost }`, plus what was planned
 * (`kind`), whether it goes now (`status`) and, when it waits, until when and why.
 */
export const sendAnswerSchema = z.object({
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
export const inboxConfigSchema = z.object({
  /** The realtime server's URL (Socket.io), null when none is configured. */
  realtimeUrl: z.string().nullable(),
  /** Whether the demo's simulated candidate is available. */
  demo: z.boolean(),
  /** The price table the send API estimates with (OUTBOUND_PRICE_TABLE). */
  prices: z.record(z.string(), z.unknown()),
  currency: z.string(),
});
export type InboxConfigPayload = z.infer<typeof inboxConfigSchema>;
