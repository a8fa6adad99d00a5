import { randomUUID } from "node:crypto";
import type { FastifyPluginCallback } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { Types } from "mongoose";
import { OPT_OUT_SCOPES, objectIdSchema } from "@linkojob/db";
import {
  candidateOptOutsSchema,
  optOutChangeAnswerJson,
  optOutChangeAnswerSchema,
  optOutChangeJson,
  optOutEntryJson,
  optOutListSchema,
  type CandidateOptOutsPayload,
  type OptOutListPayload,
} from "@linkojob/events";
import { idempotencyKeySchema, isHashedKey, type OptOutRegister } from "@linkojob/outbound";
import { normalizePhone } from "@linkojob/whatsapp";
import { badRequest } from "../http/errors.js";
import { pageQueryFields } from "../http/page-query.js";
import type { TenantAccess } from "../auth/tenant-access.js";

export interface OptOutRoutesOptions {
  tenants: TenantAccess;
  register: OptOutRegister;
}

const userIdSchema = z
  .string()
  .regex(/^[A-Z]{2}\.[A-Za-z0-9]{1,128}$/, "must be a WhatsApp user id such as MA.13491208655302741918");

const candidateFields = {
  /** The candidate's number (digits with country code, or a Moroccan 06/07 number). */
  candidatePhone: z.string().min(3).max(40).optional(),
  /** Meta's business-scoped user id of a candidate known without a phone number. */
  candidateUserId: userIdSchema.optional(),
};

const changeBody = z
  .strictObject({
    ...candidateFields,
    /** `all`: nothing may be sent; `marketing`: marketing templates may not. Default `all`. */
    scope: z.enum(OPT_OUT_SCOPES).default("all"),
    /** `opt_out` (default) records one; `resume` lifts one a recruiter or the platform recorded. */
    action: z.enum(["opt_out", "resume"]).default("opt_out"),
    /** Why (shown in the audit trail), e.g. "asked by phone". */
    reason: z.string().trim().min(1).max(500).optional(),
  })
  .refine((b) => b.candidatePhone !== undefined || b.candidateUserId !== undefined, {
    message: "name the candidate by candidatePhone or candidateUserId",
  });

const listQuery = z.strictObject({ ...candidateFields, ...pageQueryFields });

/**
 * The candidates' opt-out register of one client (tenant):
 * - `GET /api/clients/:clientId/opt-outs` lists the opt-outs in force, newest first (`limit`,
 *   `cursor`); with `candidatePhone` or `candidateUserId`, that candidate's entries (lifted ones too)
 *   and their audit trail;
 * - `POST /api/clients/:clientId/opt-outs` records a recruiter's (or the platform's) opt-out, or
 *   lifts one a recruiter or the platform recorded: the candidate's own (their STOP, WhatsApp's
 *   marketing setting, 131050) only the candidate lifts (403 CANDIDATE_OWN_OPT_OUT).
 * Recruiters for their own client, the platform service and operators for any (TenantAccess).
 */
export const optOutRoutes: FastifyPluginCallback<OptOutRoutesOptions> = (base, { tenants, register }, done) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", app.authenticate);
  const params = z.strictObject({ clientId: objectIdSchema });

  const candidateOf = (q: { candidatePhone?: string | undefined; candidateUserId?: string | undefined }) => {
    const phone = q.candidatePhone === undefined ? null : normalizePhone(q.candidatePhone);
    if (q.candidatePhone !== undefined && !phone)
      throw badRequest("candidatePhone is not a phone number (digits with country code, or a Moroccan 06/07 number)", {
        field: "candidatePhone",
      });
    return { phones: phone ? [phone] : [], userIds: q.candidateUserId ? [q.candidateUserId] : [] };
  };

  app.get(
    "/api/clients/:clientId/opt-outs",
    {
      schema: {
        tags: ["opt-outs"],
        summary: "The client's candidates who opted out (or one candidate's entries and audit trail)",
        params,
        querystring: listQuery,
        // The answers' contract (@linkojob/events): exactly these keys, built by its serialisers.
        response: { 200: z.union([candidateOptOutsSchema, optOutListSchema]) },
      },
    },
    async (request): Promise<CandidateOptOutsPayload | OptOutListPayload> => {
      const tenant = await tenants.resolve(request.principal, request.params.clientId);
      const q = request.query;
      if (q.clientId && q.clientId !== request.params.clientId)
        throw badRequest("the clientId query names another client than the path", { field: "clientId" });
      if (q.candidatePhone !== undefined || q.candidateUserId !== undefined) {
        const status = await register.status(tenant.clientId, candidateOf(q));
        return {
          clientId: tenant.clientId.toHexString(),
          scope: status.optOut?.scope ?? null,
          conversationId: status.conversationId?.toHexString() ?? null,
          optOuts: status.docs.map(optOutEntryJson),
          changes: status.changes.map((c) => optOutChangeJson(c, isHashedKey)),
        };
      }
      let after: { updatedAt: Date; id: Types.ObjectId } | undefined;
      if (q.cursor) {
        const [ms, id] = q.cursor.split(".");
        after = { updatedAt: new Date(Number(ms)), id: new Types.ObjectId(id) };
      }
      const docs = await register.listActive(tenant.clientId, q.limit + 1, after);
      const page = docs.slice(0, q.limit);
      const last = page.at(-1);
      return {
        clientId: tenant.clientId.toHexString(),
        optOuts: page.map(optOutEntryJson),
        nextCursor:
          docs.length > q.limit && last ? `${new Date(last.updatedAt).getTime()}.${last._id.toHexString()}` : null,
      };
    },
  );

  app.post(
    "/api/clients/:clientId/opt-outs",
    {
      schema: {
        tags: ["opt-outs"],
        summary: "Records a candidate's opt-out (or lifts one a recruiter or the platform recorded)",
        params,
        body: changeBody,
        headers: z.object({ "idempotency-key": idempotencyKeySchema.optional() }).loose(),
        response: { 200: optOutChangeAnswerSchema, 201: optOutChangeAnswerSchema },
      },
    },
    async (request, reply) => {
      const tenant = await tenants.resolve(request.principal, request.params.clientId);
      const { principal, body } = request;
      const key = request.headers["idempotency-key"];
      const result = await register.change({
        clientId: tenant.clientId,
        candidate: candidateOf(body),
        action: body.action,
        scope: body.scope,
        source: principal.role === "recruiter" ? "recruiter" : "platform",
        at: new Date(),
        dedupeKey: key ? `api:${principal.userId}:${key}` : `api:${randomUUID()}`,
        actor: { role: principal.role, userId: principal.userId },
        reason: body.reason ?? null,
      });
      return reply.code(result.created ? 201 : 200).send(optOutChangeAnswerJson(tenant.clientId, result, isHashedKey));
    },
  );
  done();
};
