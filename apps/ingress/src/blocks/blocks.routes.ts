import type { FastifyPluginCallback } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { objectIdSchema, toObjectId } from "@linkojob/db";
import { blockAnswerJson, blockAnswerSchema, blockListJson, blockListSchema } from "@linkojob/events";
import { BlockingError, type CandidateBlocking } from "@linkojob/outbound";
import { normalizePhone } from "@linkojob/whatsapp";
import type { TenantAccess } from "../auth/tenant-access.js";
import { pageQueryFields } from "../http/page-query.js";
import { badRequest } from "../http/errors.js";

export interface BlockRoutesOptions {
  tenants: TenantAccess;
  /** Absent when the node has no Graph client (no onboarding deps): the routes answer 503. */
  blocking?: CandidateBlocking;
}

const candidateBody = z
  .strictObject({
    /** The candidate's conversation (the inbox names it so). */
    conversationId: objectIdSchema.optional(),
    /** The candidate's number (digits with country code, or a Moroccan 06/07 number). */
    candidatePhone: z.string().min(3).max(40).optional(),
    /** Meta's business-scoped user id, for a candidate known without a phone number. */
    candidateUserId: z
      .string()
      .regex(/^[A-Z]{2}\.[A-Za-z0-9]{1,128}$/, "must be a WhatsApp user id such as MA.13491208655302741918")
      .optional(),
  })
  .refine((b) => [b.conversationId, b.candidatePhone, b.candidateUserId].filter((v) => v !== undefined).length === 1, {
    message: "name the candidate by exactly one of conversationId, candidatePhone or candidateUserId",
  });

/**
 * Blocking candidates on the tenant's business number (Meta's Block Users API):
 * - `POST /api/clients/:clientId/blocks` `{ conversationId | candidatePhone | candidateUserId }` blocks;
 * - `DELETE /api/clients/:clientId/blocks` with the same body unblocks;
 * - `GET /api/clients/:clientId/blocks` lists the blocked candidates' conversations, latest first.
 * Meta's refusals (only candidates who wrote in the last 24 hours; a full blocklist…) are 4xx with
 * Meta's code in `details.metaCode`. Recruiters for their own client, the platform service and
 * operators for any (TenantAccess).
 */
export const blockRoutes: FastifyPluginCallback<BlockRoutesOptions> = (base, { tenants, blocking }, done) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", app.authenticate);
  const params = z.strictObject({ clientId: objectIdSchema });

  const available = () => {
    if (!blocking) throw new BlockingError("BLOCKING_UNAVAILABLE");
    return blocking;
  };
  const candidateOf = (b: z.infer<typeof candidateBody>) => {
    const phone = b.candidatePhone === undefined ? null : normalizePhone(b.candidatePhone);
    if (b.candidatePhone !== undefined && !phone)
      throw badRequest("candidatePhone is not a phone number (digits with country code, or a Moroccan 06/07 number)", {
        field: "candidatePhone",
      });
    return {
      ...(b.conversationId ? { conversationId: toObjectId(b.conversationId) } : {}),
      phone,
      userId: b.candidateUserId ?? null,
    };
  };
  app.get(
    "/api/clients/:clientId/blocks",
    {
      schema: {
        tags: ["blocks"],
        summary: "The client's blocked candidates (their conversations), latest block first",
        params,
        querystring: z.strictObject(pageQueryFields),
        response: { 200: blockListSchema },
      },
    },
    async (request) => {
      const tenant = await tenants.resolve(request.principal, request.params.clientId);
      if (request.query.clientId && request.query.clientId !== request.params.clientId)
        throw badRequest("the clientId query names another client than the path", { field: "clientId" });
      const page = await available().list(tenant.clientId, request.query.limit, request.query.cursor);
      return blockListJson(tenant.clientId, page);
    },
  );

  for (const [method, block] of [
    ["POST", true],
    ["DELETE", false],
  ] as const) {
    app.route({
      method,
      url: "/api/clients/:clientId/blocks",
      schema: {
        tags: ["blocks"],
        summary: block
          ? "Blocks a candidate on the client's number (Meta's Block Users API; only candidates who wrote in the last 24 hours)"
          : "Unblocks a candidate on the client's number",
        params,
        body: candidateBody,
        response: { 200: blockAnswerSchema },
      },
      handler: async (request, reply) => {
        const tenant = await tenants.resolve(request.principal, request.params.clientId);
        const req = {
          clientId: tenant.clientId,
          candidate: candidateOf(request.body),
          actor: { role: request.principal.role, userId: request.principal.userId },
        };
        const outcome = await (block ? available().block(req) : available().unblock(req));
        return reply.code(200).send(blockAnswerJson(tenant.clientId, outcome));
      },
    });
  }
  done();
};
