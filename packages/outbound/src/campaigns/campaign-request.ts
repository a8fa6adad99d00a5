import { z } from "zod";
import { objectIdSchema } from "@linkojob/db";
import { idempotencyKeySchema } from "../send-request.js";
import { templateVarsSchema } from "../template-components.js";
import { MAX_CAMPAIGN_RECIPIENTS } from "./campaign-ids.js";

/** One recipient of a campaign: the candidate (exactly one of phone and user id) and the template's variables. */
export const campaignRecipientSchema = z
  .strictObject({
    /** The candidate's number (digits with country code, or a Moroccan 06/07 number). */
    candidatePhone: z.string().min(3).max(40).optional(),
    /** Meta's business-scoped user id of a candidate known without a phone number. */
    candidateUserId: z
      .string()
      .regex(/^[A-Z]{2}\.[A-Za-z0-9]{1,128}$/, "must be a WhatsApp user id such as MA.13491208655302741918")
      .optional(),
    templateVars: templateVarsSchema.optional(),
    applicationId: z.string().trim().min(1).max(100).optional(),
  })
  .refine((r) => (r.candidatePhone === undefined) !== (r.candidateUserId === undefined), {
    message: "exactly one of candidatePhone and candidateUserId is required",
    path: ["candidatePhone"],
  });
export type CampaignRecipient = z.infer<typeof campaignRecipientSchema>;

/** The body of `POST /api/campaigns`: one template to up to 10,000 candidates of one client. */
export const campaignRequestSchema = z.strictObject({
  clientId: objectIdSchema,
  templateName: z.string().regex(/^[a-z0-9_]{1,512}$/, "must be a template name (a-z, 0-9, _)"),
  language: z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, "must be a language code such as fr or en_US"),
  recipients: z
    .array(campaignRecipientSchema)
    .min(1, "a campaign needs at least one recipient")
    .max(MAX_CAMPAIGN_RECIPIENTS, `a campaign has at most ${MAX_CAMPAIGN_RECIPIENTS} recipients`),
  /** The same key answers the same campaign (a retried request queues nothing twice). */
  idempotencyKey: idempotencyKeySchema,
});
export type CampaignRequest = z.infer<typeof campaignRequestSchema>;
