import type { FastifyPluginCallback } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { objectIdSchema } from "@linkojob/db";
import { FLOW_CATEGORIES } from "@linkojob/whatsapp";
import {
  flowActionSchema,
  flowKeyListSchema,
  flowKeySchema,
  flowListSchema,
  flowUploadedSchema,
  interviewSlotListSchema,
} from "@linkojob/events";
import type { TenantAccess } from "../auth/tenant-access.js";
import type { FlowManagement } from "./flow-management.js";

/**
 * WhatsApp Flows of a client's WABA through the Graph API (JWT: the client's recruiter, or the
 * platform naming the client): list, create (optionally with its Flow JSON), upload a Flow JSON,
 * publish, deprecate, delete a draft; the number's business key pair for the data-exchange endpoint;
 * the interview slots that endpoint offers. See flow-management.ts for how Meta's answers map to ours.
 */

const params = z.strictObject({ clientId: objectIdSchema });
const flowParams = z.strictObject({
  clientId: objectIdSchema,
  flowId: z.string().regex(/^\d{1,32}$/, "a Meta flow id (digits)"),
});

const slotInput = z.strictObject({
  id: z.string().trim().min(1).max(200),
  title: z.string().trim().min(1).max(30).describe("what the candidate reads (Meta: option titles ≤ 30 characters)"),
  startsAt: z.iso.datetime({ offset: true }),
  description: z.string().trim().min(1).max(300).optional(),
});
const flowJsonBody = z
  .record(z.string(), z.unknown())
  .describe(
    "the Flow JSON (checked: version, screens with id and layout, data_api_version and routing_model for an endpoint)",
  );
const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown() }) });
const errors = {
  400: errorSchema,
  403: errorSchema,
  404: errorSchema,
  409: errorSchema,
  422: errorSchema,
  502: errorSchema,
};

export const flowRoutes: FastifyPluginCallback<{ tenants: TenantAccess; flows: FlowManagement }> = (
  base,
  { tenants, flows },
  done,
) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", app.authenticate);
  const tenantOf = async (principal: Parameters<TenantAccess["resolve"]>[0], clientId: string) =>
    (await tenants.resolve(principal, clientId)).clientId;

  app.get(
    "/api/clients/:clientId/flows",
    {
      schema: {
        tags: ["flows"],
        summary: "The flows of the client's WABA, as Meta lists them",
        params,
        response: { 200: flowListSchema, ...errors },
      },
    },
    async (request) => ({ flows: await flows.list(await tenantOf(request.principal, request.params.clientId)) }),
  );

  app.post(
    "/api/clients/:clientId/flows",
    {
      schema: {
        tags: ["flows"],
        summary: "Creates a flow (DRAFT), with its Flow JSON when given (checked here, then validated by Meta)",
        params,
        body: z.strictObject({
          name: z.string().trim().min(1).max(200),
          categories: z.array(z.enum(FLOW_CATEGORIES)).min(1),
          flowJson: flowJsonBody.optional(),
        }),
        response: { 201: flowUploadedSchema, ...errors },
      },
    },
    async (request, reply) => {
      const clientId = await tenantOf(request.principal, request.params.clientId);
      return reply.code(201).send(await flows.create(clientId, request.body));
    },
  );

  app.put(
    "/api/clients/:clientId/flows/:flowId/json",
    {
      schema: {
        tags: ["flows"],
        summary: "Uploads a draft flow's Flow JSON (Meta's assets upload: flow.json, FLOW_JSON)",
        params: flowParams,
        body: flowJsonBody,
        response: { 200: flowUploadedSchema, ...errors },
      },
    },
    async (request) => {
      const clientId = await tenantOf(request.principal, request.params.clientId);
      return flows.uploadJson(clientId, request.params.flowId, request.body);
    },
  );

  app.patch(
    "/api/clients/:clientId/flows/:flowId",
    {
      schema: {
        tags: ["flows"],
        summary: "Renames a flow or changes its categories (Meta's POST /{flow-id})",
        params: flowParams,
        body: z
          .strictObject({
            name: z.string().trim().min(1).max(200).optional(),
            categories: z.array(z.enum(FLOW_CATEGORIES)).min(1).optional(),
          })
          .refine((b) => b.name !== undefined || b.categories !== undefined, {
            message: "give name or categories",
            path: ["name"],
          }),
        response: { 200: flowActionSchema, ...errors },
      },
    },
    async (request) => {
      const clientId = await tenantOf(request.principal, request.params.clientId);
      await flows.updateMetadata(clientId, request.params.flowId, request.body);
      return { success: true as const };
    },
  );

  for (const [action, summary] of [
    ["publish", "Publishes a draft flow (Meta refuses one with validation errors: 139002)"],
    ["deprecate", "Deprecates a published flow (Meta refuses a draft: 139003)"],
  ] as const) {
    app.post(
      `/api/clients/:clientId/flows/:flowId/${action}`,
      { schema: { tags: ["flows"], summary, params: flowParams, response: { 200: flowActionSchema, ...errors } } },
      async (request) => {
        const clientId = await tenantOf(request.principal, request.params.clientId);
        await (action === "publish"
          ? flows.publish(clientId, request.params.flowId)
          : flows.deprecate(clientId, request.params.flowId));
        return { success: true as const };
      },
    );
  }

  app.delete(
    "/api/clients/:clientId/flows/:flowId",
    {
      schema: {
        tags: ["flows"],
        summary: "Deletes a draft flow (Meta refuses a published one: 139004)",
        params: flowParams,
        response: { 200: flowActionSchema, ...errors },
      },
    },
    async (request) => {
      await flows.remove(await tenantOf(request.principal, request.params.clientId), request.params.flowId);
      return { success: true as const };
    },
  );

  app.post(
    "/api/clients/:clientId/flows/keys",
    {
      schema: {
        tags: ["flows"],
        summary:
          "Generates the number's business key pair (2048-bit RSA) for the data-exchange endpoint and sets its public key at Meta",
        params,
        response: { 201: flowKeySchema, ...errors },
      },
    },
    async (request, reply) => {
      const clientId = await tenantOf(request.principal, request.params.clientId);
      return reply.code(201).send(await flows.rotateKey(clientId));
    },
  );

  app.get(
    "/api/clients/:clientId/flows/keys",
    {
      schema: {
        tags: ["flows"],
        summary: "The number's business public keys (current first), and when Meta accepted each",
        params,
        response: { 200: flowKeyListSchema, ...errors },
      },
    },
    async (request) => ({ keys: await flows.keys(await tenantOf(request.principal, request.params.clientId)) }),
  );

  app.put(
    "/api/clients/:clientId/flows/interview-slots",
    {
      schema: {
        tags: ["flows"],
        summary: "Sets the interview slots the data-exchange endpoint offers (the INTERVIEW_SLOTS screen)",
        params,
        body: z
          .strictObject({ slots: z.array(slotInput).max(200) })
          .refine((b) => new Set(b.slots.map((s) => s.id)).size === b.slots.length, {
            message: "slot ids must be unique",
            path: ["slots"],
          }),
        response: { 200: interviewSlotListSchema, ...errors },
      },
    },
    async (request) => {
      const clientId = await tenantOf(request.principal, request.params.clientId);
      const slots = request.body.slots.map((s) => ({
        id: s.id,
        title: s.title,
        startsAt: new Date(s.startsAt),
        description: s.description ?? null,
      }));
      await flows.setInterviewSlots(clientId, slots);
      return { slots: slots.map(slotJson) };
    },
  );

  app.get(
    "/api/clients/:clientId/flows/interview-slots",
    {
      schema: {
        tags: ["flows"],
        summary: "The interview slots set for the data-exchange endpoint",
        params,
        response: { 200: interviewSlotListSchema, ...errors },
      },
    },
    async (request) => ({
      slots: (await flows.interviewSlots(await tenantOf(request.principal, request.params.clientId))).map(slotJson),
    }),
  );
  done();
};

const slotJson = (s: { id: string; title: string; startsAt: Date; description?: string | null }) => ({
  id: s.id,
  title: s.title,
  startsAt: new Date(s.startsAt).toISOString(),
  description: s.description ?? null,
});
