import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { objectIdSchema, type Database } from "@linkojob/db";
import { DEFAULT_PRICE_TABLE_MAD, SendCaches, previewSend, type PriceTable } from "@linkojob/outbound";
import { normalizePhone } from "@linkojob/whatsapp";
import { badRequest, notFound } from "../http/errors";
import type { TenantAccess } from "../auth/tenant-access";

export interface SendPreviewRoutesOptions {
  tenants: TenantAccess;
  db: Database;
  /** The send API's caches (clients, templates). Default: uncached reads. */
  caches?: SendCaches;
  /** OUTBOUND_PRICE_TABLE. Default: DEFAULT_PRICE_TABLE_MAD. */
  prices?: PriceTable;
}

/**
 * GET /inbox/api/send-preview: what POST /api/messages/send would do for this candidate now, so the
 * composer can say it before sending. Decided by @linkojob/outbound's previewSend, i.e. planSend, the
 * same function the send API answers with and the outbound worker sends with, at the same prices.
 * Reads only.
 */
export const sendPreviewRoutes: FastifyPluginAsync<SendPreviewRoutesOptions> = async (base, opts) => {
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
        querystring: z.strictObject({
          clientId: objectIdSchema.optional(),
          candidatePhone: z.string().min(3).max(40),
          candidateName: z.string().trim().max(200).optional(),
          jobTitle: z.string().trim().max(200).optional(),
        }),
      },
    },
    async (request) => {
      const q = request.query;
      const tenant = await tenants.resolve(request.principal, q.clientId);
      const phone = normalizePhone(q.candidatePhone);
      if (!phone) throw badRequest("candidatePhone is not a phone number", { field: "candidatePhone" });
      const client = await caches.client(tenant.clientId.toHexString());
      if (!client) throw notFound("client");
      const conversation = await db.conversations
        .findOne({ clientId: tenant.clientId, candidateKey: phone }, { _id: 1, windowExpiresAt: 1, candidateName: 1, jobTitle: 1 })
        .lean<{ _id: { toHexString(): string }; windowExpiresAt?: Date | null; candidateName?: string | null; jobTitle?: string | null }>();
      const preview = await previewSend({
        client,
        conversation,
        templates: caches.templatesOf(client.wabaId),
        prices,
        candidatePhone: phone,
        candidateName: q.candidateName || null,
        jobTitle: q.jobTitle || null,
      });
      const windowExpiresAt = conversation?.windowExpiresAt ? new Date(conversation.windowExpiresAt) : null;
      return {
        candidatePhone: phone,
        conversationId: conversation?._id.toHexString() ?? null,
        firstContact: !conversation,
        windowExpiresAt: windowExpiresAt?.toISOString() ?? null,
        ...preview,
      };
    },
  );
};
