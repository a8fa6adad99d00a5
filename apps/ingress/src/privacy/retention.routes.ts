import type { FastifyPluginCallback } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { objectIdSchema } from "@linkojob/db";
import type { TenantRetention } from "@linkojob/privacy";
import { retentionJson, retentionSchema } from "@linkojob/events";
import type { TenantAccess } from "../auth/tenant-access.js";
import { notFound } from "../http/errors.js";

/** A period: whole days or months from 1 to `max`, or null (never deleted). */
const period = (unit: string, max: number) =>
  z
    .number()
    .int(`must be a whole number of ${unit}, or null for never`)
    .min(1, `must be at least 1 ${unit.replace(/s$/, "")}, or null for never`)
    .max(max, `must be at most ${max} ${unit}, or null for never`)
    .nullable();

const retentionBodySchema = z.strictObject({
  /** Raw webhook records (webhook_events but dead letters), days. Absent: RETENTION_WEBHOOK_EVENTS_DAYS. */
  webhookEventsDays: period("days", 3_650).optional(),
  /** Dead letters (whole delivery bodies), days. Absent: RETENTION_DEAD_LETTERS_DAYS. */
  deadLettersDays: period("days", 3_650).optional(),
  /** Conversations, their messages and media, months after the last message. Absent: RETENTION_MESSAGES_MONTHS. */
  messagesMonths: period("months", 1_200).optional(),
});

const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

const params = z.strictObject({ clientId: objectIdSchema.describe("the client (tenant)") });

/**
 * A tenant's retention of its candidates' personal data (law 09-08): how long raw webhook records,
 * dead letters and conversations (messages, media) are kept before the scheduled retention purge
 * deletes them. `GET` shows the periods in force, the tenant's own settings and the defaults; `PUT`
 * replaces the tenant's settings (a field left out follows the default, null keeps for ever), honoured
 * from the purge's next run. The tenant's recruiter, the platform backend (`service`) and operators.
 */
export const retentionRoutes: FastifyPluginCallback<{ tenants: TenantAccess; retention: TenantRetention }> = (
  base,
  { tenants, retention },
  done,
) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", app.authenticate);

  app.get(
    "/api/clients/:clientId/retention",
    {
      schema: {
        tags: ["personal data"],
        summary: "How long the client's personal data is kept: raw webhook records, dead letters, conversations",
        params,
        response: { 200: retentionSchema, 403: errorSchema, 404: errorSchema },
      },
    },
    async (request) => {
      const tenant = await tenants.resolve(request.principal, request.params.clientId);
      const view = await retention.get(tenant.clientId.toHexString());
      if (!view) throw notFound("client");
      return retentionJson(view);
    },
  );

  app.put(
    "/api/clients/:clientId/retention",
    {
      schema: {
        tags: ["personal data"],
        summary:
          "Sets the client's retention periods (days, months, or null for never); a field left out follows the deployment's default",
        params,
        body: retentionBodySchema,
        response: { 200: retentionSchema, 400: errorSchema, 403: errorSchema, 404: errorSchema },
      },
    },
    async (request) => {
      const tenant = await tenants.resolve(request.principal, request.params.clientId);
      const view = await retention.set(tenant.clientId.toHexString(), request.body);
      if (!view) throw notFound("client");
      return retentionJson(view);
    },
  );
  done();
};
