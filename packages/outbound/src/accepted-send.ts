import { z } from "zod";
import type { OutboundKind, SentTemplate } from "@linkojob/db";
import type { OutboundRequest } from "./send-request.js";

const OUTBOUND_KINDS = ["text", "template", "media", "interactive", "reaction"] as const satisfies OutboundKind[];

/**
 * What the send API accepted and enqueued, for the outbound worker to store as the message (under
 * the id the API answered) before it decides and sends. The API's `kind` and `cost` are its
 * estimate from the state in Redis; the worker decides again from MongoDB.
 */
export const acceptedSendSchema = z.object({
  /** The normalised request (the send API's body as OutboundRequest; media by link or staged file id only). */
  request: z.custom<OutboundRequest>(
    (v) =>
      typeof v === "object" &&
      v !== null &&
      ("candidatePhone" in v || "candidateUserId" in v) &&
      (typeof (v as { candidatePhone?: unknown }).candidatePhone === "string" ||
        typeof (v as { candidateUserId?: unknown }).candidateUserId === "string"),
    "an outbound request needs candidatePhone or candidateUserId",
  ),
  idempotencyKey: z.string().min(1).max(200).nullable(),
  kind: z.enum(OUTBOUND_KINDS),
  cost: z.number(),
  costCategory: z.string(),
  /** What the API planned to send (text or caption, template), stored until the worker records what it sent. */
  planned: z.object({ text: z.string().nullable(), template: z.custom<SentTemplate>().nullable() }).nullable(),
  /** When the API accepted it (ms since epoch): the message's timestamp. */
  acceptedAt: z.number(),
  /** The campaign it is one of (POST /api/campaigns): stored on the message, checked for a cancel before it goes. */
  campaignId: z
    .string()
    .regex(/^[0-9a-f]{24}$/)
    .optional(),
  /**
   * The place the API's gate counted in the portfolio's messaging budget (SendGate's reservation):
   * given back when the message is refused before it goes (opted out, template no longer usable, cancelled).
   */
  budget: z
    .object({ portfolioId: z.string(), member: z.string(), at: z.number(), previous: z.number().nullable() })
    .optional(),
});
export type AcceptedSend = z.infer<typeof acceptedSendSchema>;
