import type { FastifyPluginCallback } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { badRequest } from "../http/errors.js";
import type { TenantAccess } from "../auth/tenant-access.js";
import { objectIdSchema } from "@linkojob/db";
import { costTotalsJson, costTotalsSchema } from "@linkojob/events";

/** GET /api/messages/costs?clientId&from&to: outbound costs in MAD, by pricing category and by kind. */
export const costRoutes: FastifyPluginCallback<{ tenants: TenantAccess }> = (base, { tenants }, done) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", app.authenticate);

  app.get(
    "/api/messages/costs",
    {
      schema: {
        tags: ["messages"],
        summary: "Outbound costs in MAD between two instants (default: this month), by category and kind",
        querystring: z.strictObject({
          clientId: objectIdSchema.optional(),
          from: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
          to: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
        }),
        response: { 200: costTotalsSchema },
      },
    },
    async (request) => {
      const tenant = await tenants.resolve(request.principal, request.query.clientId);
      const now = new Date();
      const from = request.query.from
        ? new Date(request.query.from)
        : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
      const to = request.query.to ? new Date(request.query.to) : now;
      if (!(from < to)) throw badRequest("from must be before to");
      return costTotalsJson(tenant.clientId, from, to, await tenant.outbound.costTotals(from, to));
    },
  );
  done();
};
