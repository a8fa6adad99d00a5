import type { FastifyPluginCallback } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { objectIdSchema, toObjectId } from "@linkojob/db";
import type { ErasureRequests } from "@linkojob/privacy";
import { normalizePhone } from "@linkojob/whatsapp";
import { erasureJson, erasureSchema } from "@linkojob/events";
import type { TenantAccess } from "../auth/tenant-access.js";
import { badRequest, forbidden, notFound } from "../http/errors.js";

const erasureBodySchema = z
  .strictObject({
    /** The candidate's number (any form the send API takes). At least one of candidatePhone and candidateUserId. */
    candidatePhone: z.string().min(3).max(40).optional(),
    /** Meta's business-scoped user id of the candidate. */
    candidateUserId: z
      .string()
      .regex(/^[A-Z]{2}\.[A-Za-z0-9]{1,128}$/, "must be a WhatsApp user id such as MA.13491208655302741918")
      .optional(),
    /** Why (the candidate's request, its reference): kept with the erasure's record, never shown in an answer. */
    reason: z.string().trim().min(3).max(500),
    /** Admin only: erase this person in every tenant (one person, every recruiter). */
    allTenants: z.boolean().optional(),
  })
  .refine((b) => b.candidatePhone !== undefined || b.candidateUserId !== undefined, {
    message: "candidatePhone or candidateUserId is required",
    path: ["candidatePhone"],
  });

const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown() }) });

/**
 * A candidate's erasure (law 09-08, GDPR art. 17). A recruiter erases in its own client, the platform
 * backend (`service`) in the client it names, an admin in any client or, with `allTenants`, in every
 * one. The answer names no identifier: only the erasure's id, status and counts.
 */
export const erasureRoutes: FastifyPluginCallback<{ tenants: TenantAccess; erasures: ErasureRequests }> = (
  base,
  { tenants, erasures },
  done,
) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", app.authenticate);

  app.post(
    "/api/clients/:clientId/candidates/erase",
    {
      schema: {
        tags: ["personal data"],
        summary:
          "Erase one candidate's data: messages, conversations, media, jobs, webhook records (202, runs as a job)",
        params: z.strictObject({ clientId: objectIdSchema }),
        body: erasureBodySchema,
        response: { 202: erasureSchema, 400: errorSchema, 403: errorSchema, 404: errorSchema },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const principal = request.principal;
      const tenant = await tenants.resolve(principal, request.params.clientId);
      if (body.allTenants && principal.role !== "admin") throw forbidden("only an admin erases in every tenant");
      const phone = body.candidatePhone === undefined ? null : normalizePhone(body.candidatePhone);
      if (body.candidatePhone !== undefined && !phone)
        throw badRequest(
          "candidatePhone is not a phone number (digits with country code, or a Moroccan 06/07 number)",
          {
            field: "candidatePhone",
          },
        );
      const view = await erasures.request({
        clientIds: [tenant.clientId],
        allTenants: body.allTenants === true,
        phones: phone ? [phone] : [],
        userIds: body.candidateUserId ? [body.candidateUserId] : [],
        reason: body.reason,
        requestedBy: { role: principal.role, sub: principal.userId },
      });
      return reply.code(202).send(erasureJson(view));
    },
  );

  app.get(
    "/api/clients/:clientId/candidates/erase/:erasureId",
    {
      schema: {
        tags: ["personal data"],
        summary: "Where an erasure stands (running, done, failed) and what it removed, by collection",
        params: z.strictObject({ clientId: objectIdSchema, erasureId: objectIdSchema }),
        response: { 200: erasureSchema, 403: errorSchema, 404: errorSchema },
      },
    },
    async (request) => {
      const tenant = await tenants.resolve(request.principal, request.params.clientId);
      const view = await erasures.get(toObjectId(request.params.erasureId, "erasureId"), [tenant.clientId]);
      // An admin's erasure in every tenant is seen from any of them by an admin.
      const adminView =
        !view && request.principal.role === "admin"
          ? await erasures.get(toObjectId(request.params.erasureId, "erasureId"), "all")
          : null;
      const found = view ?? (adminView?.allTenants ? adminView : null);
      if (!found) throw notFound("erasure");
      return erasureJson(found);
    },
  );
  done();
};
