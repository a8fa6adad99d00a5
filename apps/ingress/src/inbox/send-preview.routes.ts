import type { FastifyPluginCallback } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { objectIdSchema, type Database } from "@linkojob/db";
import {
  DEFAULT_PRICE_TABLE_MAD,
  SendCaches,
  optOutRefusal,
  planSend,
  previewSend,
  templateShape,
  type OptOutState,
  type PriceTable,
} from "@linkojob/outbound";
import type { SendPreviewPayload } from "@linkojob/events";
import { normalizePhone } from "@linkojob/whatsapp";
import { badRequest, notFound } from "../http/errors.js";
import type { TenantAccess } from "../auth/tenant-access.js";

export interface SendPreviewRoutesOptions {
  tenants: TenantAccess;
  db: Database;
  /** The send API's caches (clients, templates). Default: uncached reads. */
  caches?: SendCaches;
  /** OUTBOUND_PRICE_TABLE. Default: DEFAULT_PRICE_TABLE_MAD. */
  prices?: PriceTable;
  /** The candidates' opt-outs in the send state: the preview says what the send API would refuse. */
  optOuts?: OptOutState;
}

/**
 * GET /inbox/api/send-preview: what POST /api/messages/send would do for this candidate now, so the
 * composer can say it before sending. Decided by @linkojob/outbound's previewSend, i.e. planSend, the
 * same function the send API answers with and the outbound worker sends with, at the same prices.
 * The candidate is named by phone or, for a candidate known only by username, by WhatsApp user id.
 * `template.header` says what header the template's synced components ask of a send (a media header
 * needs `templateHeader` with a link or id) and whether the template is usable once it is given.
 * Reads only.
 */
export const sendPreviewRoutes: FastifyPluginCallback<SendPreviewRoutesOptions> = (base, opts, done) => {
  const { tenants, db } = opts;
  const caches = opts.caches ?? new SendCaches(db);
  const prices = opts.prices ?? DEFAULT_PRICE_TABLE_MAD;
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", app.authenticate);

  app.get(
    "/inbox/api/send-preview",
    {
      schema: {
        hide: true,
        querystring: z
          .strictObject({
            clientId: objectIdSchema.optional(),
            candidatePhone: z.string().min(3).max(40).optional(),
            candidateUserId: z.string().min(3).max(128).optional(),
            candidateName: z.string().trim().max(200).optional(),
            jobTitle: z.string().trim().max(200).optional(),
          })
          .refine((q) => (q.candidatePhone === undefined) !== (q.candidateUserId === undefined), {
            message: "exactly one of candidatePhone and candidateUserId is required",
          }),
      },
    },
    async (request) => {
      const q = request.query;
      const tenant = await tenants.resolve(request.principal, q.clientId);
      const userId = q.candidateUserId ?? null;
      const phone = q.candidatePhone === undefined ? null : normalizePhone(q.candidatePhone);
      if (!userId && !phone) throw badRequest("candidatePhone is not a phone number", { field: "candidatePhone" });
      const client = await caches.client(tenant.clientId.toHexString());
      if (!client) throw notFound("client");
      // By phone too where the conversation learnt it later (a username-only candidate who shared it).
      const who = userId
        ? { $or: [{ candidateUserId: userId }, { candidateKey: userId }] }
        : { $or: [{ candidatePhone: phone }, { candidateKey: phone }] };
      const conversation = await db.conversations
        .findOne({ clientId: tenant.clientId, ...who }, { _id: 1, windowExpiresAt: 1, candidateName: 1, jobTitle: 1 })
        .lean<{
          _id: { toHexString(): string };
          windowExpiresAt?: Date | null;
          candidateName?: string | null;
          jobTitle?: string | null;
        }>();
      const templates = caches.templatesOf(client.wabaId);
      const candidate = {
        candidatePhone: phone,
        candidateUserId: userId,
        candidateName: q.candidateName || null,
        jobTitle: q.jobTitle || null,
      };
      const preview = await previewSend({ client, conversation, templates, prices, ...candidate });
      const doc = await templates(preview.template.name, preview.template.language);
      const format = doc ? templateShape(doc).headerFormat : null;
      const media =
        format === "IMAGE" || format === "VIDEO" || format === "DOCUMENT"
          ? (format.toLowerCase() as "image" | "video" | "document")
          : null;
      // A media header is the send's to give: planned again with one of that kind (what Meta fetches is not checked here).
      const usableWithHeader =
        media && !preview.template.usable
          ? (
              await planSend({
                client,
                conversation,
                templates,
                prices,
                request: { ...candidate, templateHeader: { type: media, link: "https://example.invalid/header" } },
              })
            ).kind === "template"
          : preview.template.usable;
      const windowExpiresAt = conversation?.windowExpiresAt ? new Date(conversation.windowExpiresAt) : null;
      // The candidate's opt-out, by the send API's own rule: what it would refuse now (409 CANDIDATE_OPTED_OUT).
      const view = await opts.optOuts?.read(tenant.clientId.toHexString(), [phone, userId]);
      const refusesText = view ? optOutRefusal(view, { kind: "text" }) : null;
      const refusesTemplate = view
        ? optOutRefusal(view, { kind: "template", templateCategory: doc?.category ?? null })
        : null;
      const optOut = view
        ? {
            scope: view.scope,
            text: refusesText?.reason ?? null,
            template: refusesTemplate?.reason ?? null,
          }
        : null;
      return {
        optOut,
        candidatePhone: phone,
        candidateUserId: userId,
        conversationId: conversation?._id.toHexString() ?? null,
        firstContact: !conversation,
        windowExpiresAt: windowExpiresAt?.toISOString() ?? null,
        ...preview,
        template: { ...preview.template, header: format ? { format, media, usableWithHeader } : null },
      } satisfies SendPreviewPayload;
    },
  );
  done();
};
