import type { FastifyPluginCallback } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { objectIdSchema, type ClientDoc, type Database } from "@linkojob/db";
import {
  templateJson,
  templateListSchema,
  templateSyncAnswerSchema,
  type TemplateListPayload,
  type TemplateSyncAnswerPayload,
} from "@linkojob/events";
import type { TokenVault } from "@linkojob/vault";
import { GraphApiError, isGraphError, type GraphClient } from "@linkojob/whatsapp";
import { syncTemplates, type SendState } from "@linkojob/outbound";
import { TemplateSyncError } from "./template-sync-error.js";
import type { TenantAccess } from "../auth/tenant-access.js";

export interface TemplateRoutesOptions {
  tenants: TenantAccess;
  db: Database;
  /** Graph client and token vault for the on-demand sync; without them the sync answers 503. */
  sync?: { graph: GraphClient; vault: TokenVault };
  /** The send API's state in Redis: synced templates are copied there. */
  sendState?: SendState;
}

/** GET /api/templates?clientId and POST /api/templates/sync (on demand; also on connect and on a schedule). */
export const templateRoutes: FastifyPluginCallback<TemplateRoutesOptions> = (
  base,
  { tenants, db, sync, sendState },
  done,
) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", app.authenticate);

  app.get(
    "/api/templates",
    {
      schema: {
        tags: ["templates"],
        summary: "The client's WABA templates as last synced",
        querystring: z.strictObject({ clientId: objectIdSchema.optional() }),
        response: { 200: templateListSchema },
      },
    },
    async (request): Promise<TemplateListPayload> => {
      const tenant = await tenants.resolve(request.principal, request.query.clientId);
      return { templates: (await tenant.templates.list()).map(templateJson) };
    },
  );

  app.post(
    "/api/templates/sync",
    {
      schema: {
        tags: ["templates"],
        summary: "Syncs the client's WABA templates from Meta now (all pages)",
        body: z.strictObject({ clientId: objectIdSchema.optional() }).optional(),
        querystring: z.strictObject({ clientId: objectIdSchema.optional() }),
        response: { 200: templateSyncAnswerSchema },
      },
    },
    async (request): Promise<TemplateSyncAnswerPayload> => {
      const tenant = await tenants.resolve(request.principal, request.body?.clientId ?? request.query.clientId);
      if (!sync) throw new TemplateSyncError("SYNC_UNAVAILABLE");
      const client = await db.clients.findById(tenant.clientId).lean<ClientDoc>();
      if (!client?.accessToken || client.status !== "active") throw new TemplateSyncError("CLIENT_NOT_CONNECTED");
      try {
        const res = await syncTemplates(
          sync.graph,
          tenant.templates,
          sync.vault.decrypt(client.accessToken, client._id.toHexString()),
        );
        await sendState?.writeTemplates(client.wabaId);
        return { success: true as const, wabaId: res.wabaId, count: res.upserted, removed: res.removed };
      } catch (err) {
        if (isGraphError(err)) {
          const details = err instanceof GraphApiError ? { metaCode: err.code, fbtraceId: err.fbtraceId } : undefined;
          throw new TemplateSyncError("META_ERROR", `Meta refused the template list: ${err.message}`, details);
        }
        throw err;
      }
    },
  );
  done();
};
