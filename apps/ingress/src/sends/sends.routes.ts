import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { normalizePhone } from "@linkojob/whatsapp";
import { badRequest } from "../http/errors";
import type { TenantAccess } from "../auth/tenant-access";
import type { SendAcceptance } from "./send-acceptance";

const objectId = z.string().regex(/^[0-9a-fA-F]{24}$/, "must be a 24-character hex ObjectId");
const shortText = (max: number) => z.string().trim().min(1).max(max);

/** The brief's send body. Unknown fields are ignored (the platform backend may send more). */
export const sendBodySchema = z.object({
  clientId: objectId.optional(),
  candidatePhone: z.string().min(3).max(40),
  candidateName: shortText(200).optional(),
  /** Free-form text (sent as text inside the 24-hour window; else the template goes). */
  message: z.string().min(1).max(4096).optional(),
  /** Meta template names: lower case, digits and underscores. */
  templateName: z.string().regex(/^[a-z0-9_]{1,512}$/, "must be a template name (a-z, 0-9, _)").optional(),
  templateLanguage: z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, "must be a language code such as fr or en_US").optional(),
  templateVars: z.array(z.string().max(1024)).max(30).optional(),
  jobTitle: shortText(200).optional(),
  companyName: shortText(200).optional(),
  applicationId: shortText(100).optional(),
});

const idempotencyKey = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces");

export interface SendRoutesOptions {
  tenants: TenantAccess;
  acceptance: SendAcceptance;
}

/** POST /api/messages/send (issue 4): validate, store `queued`, enqueue, answer 202. */
export const sendRoutes: FastifyPluginAsync<SendRoutesOptions> = async (base, { tenants, acceptance }) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", app.authenticate);

  app.post(
    "/api/messages/send",
    {
      schema: {
        tags: ["messages"],
        summary: "Queues a message to a candidate: a template for first contact or a closed window, else text",
        body: sendBodySchema,
        headers: z.object({ "idempotency-key": idempotencyKey.optional() }).loose(),
      },
    },
    async (request, reply) => {
      const body = request.body;
      const tenant = await tenants.resolve(request.principal, body.clientId);
      const phone = normalizePhone(body.candidatePhone);
      if (!phone) throw badRequest("candidatePhone is not a phone number (digits with country code, or a Moroccan 06/07 number)", { field: "candidatePhone" });
      const { answer, replay } = await acceptance.accept(
        tenant,
        {
          candidatePhone: phone,
          candidateName: body.candidateName ?? null,
          message: body.message ?? null,
          templateName: body.templateName ?? null,
          templateLanguage: body.templateLanguage ?? null,
          templateVars: body.templateVars ?? null,
          jobTitle: body.jobTitle ?? null,
          companyName: body.companyName ?? null,
          applicationId: body.applicationId ?? null,
        },
        request.headers["idempotency-key"] ?? null,
      );
      if (replay) reply.header("idempotent-replayed", "true");
      return reply.code(202).send(answer);
    },
  );
};
