import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { expectedCost, templateProblem, type ClientDoc, type Database } from "@linkojob/db";
import { normalizePhone } from "@linkojob/whatsapp";
import { badRequest, notFound } from "../http/errors";
import type { TenantAccess } from "../auth/tenant-access";

const objectId = z.string().regex(/^[0-9a-fA-F]{24}$/, "must be a 24-character hex ObjectId");

export interface SendPreviewRoutesOptions {
  tenants: TenantAccess;
  db: Database;
}

/**
 * GET /inbox/api/send-preview: what POST /api/messages/send would do for this candidate now, so the
 * composer can say it before sending. The same rules as the send API (SendAcceptance: text only with
 * a message inside the 24-hour window, else the named or default template, `expectedCost`) and the
 * outbound worker's template check (`templateProblem` with the default variables
 * [candidateName, jobTitle(, companyName)], as planSend fills them). Reads only.
 */
export const sendPreviewRoutes: FastifyPluginAsync<SendPreviewRoutesOptions> = async (base, { tenants, db }) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", app.authenticate);

  app.get(
    "/inbox/api/send-preview",
    {
      schema: {
        hide: true,
        querystring: z.strictObject({
          clientId: objectId.optional(),
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
      const clientId = tenant.clientId;
      const client = await db.clients
        .findById(clientId, { defaultTemplate: 1, companyName: 1 })
        .lean<Pick<ClientDoc, "defaultTemplate" | "companyName">>();
      if (!client) throw notFound("client");
      const conversation = await db.conversations
        .findOne({ clientId, candidateKey: phone }, { _id: 1, windowExpiresAt: 1, candidateName: 1, jobTitle: 1 })
        .lean<{ _id: { toHexString(): string }; windowExpiresAt?: Date | null; candidateName?: string | null; jobTitle?: string | null }>();
      const windowExpiresAt = conversation?.windowExpiresAt ? new Date(conversation.windowExpiresAt) : null;
      const inWindow = !!windowExpiresAt && windowExpiresAt.getTime() > Date.now();

      const name = client.defaultTemplate?.name ?? "application_received";
      const language = client.defaultTemplate?.language ?? "fr";
      const doc = await tenant.templates.find(name, language);
      const expected = doc ? doc.headerParams.length + doc.bodyParams.length : 2;
      const defaults = [q.candidateName || conversation?.candidateName || "", q.jobTitle || conversation?.jobTitle || "", client.companyName ?? ""];
      const problem = templateProblem(doc, language, defaults.slice(0, Math.min(expected, defaults.length)));
      const template = expectedCost("template", doc?.category ?? null, inWindow);
      const text = expectedCost("text", null, inWindow);
      return {
        candidatePhone: phone,
        conversationId: conversation?._id.toHexString() ?? null,
        firstContact: !conversation,
        inWindow,
        windowExpiresAt: windowExpiresAt?.toISOString() ?? null,
        /** What a send with a message would be now: text inside the window, else the template. */
        kind: inWindow ? ("text" as const) : ("template" as const),
        currency: "MAD" as const,
        text: { cost: text.cost, category: text.category },
        template: {
          name,
          language,
          category: template.category,
          cost: template.cost,
          body: doc ? templateBody(doc.components) : null,
          parameterCount: expected,
          usable: !problem,
          problem: problem?.reason ?? null,
        },
      };
    },
  );
};

/** The BODY text of a synced template ("Bonjour {{1}}, …"), for the composer to show. */
function templateBody(components: unknown): string | null {
  if (!Array.isArray(components)) return null;
  const body = components.find((c) => (c as { type?: string })?.type?.toUpperCase() === "BODY") as { text?: string } | undefined;
  return typeof body?.text === "string" ? body.text : null;
}
