import type { FastifyPluginCallback } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { objectIdSchema, toObjectId, type Database } from "@linkojob/db";
import { demoCandidateAnswerSchema, type DemoCandidateAnswerPayload } from "@linkojob/events";
import { notFound } from "../http/errors.js";
import { DemoCandidateError } from "./demo-candidate-error.js";
import type { TenantAccess } from "../auth/tenant-access.js";

export interface DemoCandidateRoutesOptions {
  tenants: TenantAccess;
  db: Database;
  /** The Meta simulator's base URL (DEMO_SIM_URL). */
  simUrl: string;
}

const demoBody = z.strictObject({
  conversationId: objectIdSchema,
  clientId: objectIdSchema.optional(),
  /** reply: a text; document: a CV (PDF); reaction: an emoji on the conversation's latest message. */
  action: z.enum(["reply", "document", "reaction"]),
  text: z.string().trim().min(1).max(1000).optional(),
  /** The candidate's profile name, as WhatsApp would show it. */
  name: z.string().trim().min(1).max(200).optional(),
  emoji: z.string().min(1).max(16).optional(),
});

const SAMPLE_REPLIES = [
  "Bonjour, merci pour votre message ! Je suis toujours intéressée par le poste.",
  "مرحبا، شكرا على الرسالة. أنا مهتمة بالوظيفة",
  "Je suis disponible pour un entretien cette semaine.",
];

/**
 * Demo only (registered when DEMO_SIM_URL is set): makes the simulator play the candidate of a
 * conversation — it builds and signs a Meta webhook and delivers it to /webhook, so the message
 * takes the real inbound path. The page cannot call the simulator itself: it does not know the
 * client's phone_number_id / WABA, and the simulator serves no CORS.
 */
export const demoCandidateRoutes: FastifyPluginCallback<DemoCandidateRoutesOptions> = (
  base,
  { tenants, db, simUrl },
  done,
) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", app.authenticate);
  let turn = 0;

  app.post(
    "/inbox/api/demo/candidate",
    { schema: { hide: true, body: demoBody, response: { 200: demoCandidateAnswerSchema } } },
    async (request): Promise<DemoCandidateAnswerPayload> => {
      const b = request.body;
      const id = toObjectId(b.conversationId);
      const tenant = await tenants.resolveForConversation(request.principal, id, b.clientId);
      const conversation = await tenant.conversations.get(id);
      if (!conversation) throw notFound("conversation");
      const client = await db.clients.findById(tenant.clientId, { phoneNumberId: 1, wabaId: 1 }).lean();
      if (!client) throw notFound("client");
      const who = /^\d{6,20}$/.test(conversation.candidateKey)
        ? { from: conversation.candidateKey }
        : { userId: conversation.candidateKey };
      const name = b.name ?? conversation.candidateName ?? undefined;
      const common = { phoneNumberId: client.phoneNumberId, wabaId: client.wabaId, ...who, ...(name ? { name } : {}) };

      let body: Record<string, unknown>;
      if (b.action === "reply") {
        body = { ...common, type: "text", text: b.text ?? SAMPLE_REPLIES[turn++ % SAMPLE_REPLIES.length] };
      } else if (b.action === "document") {
        const file = `CV_${(name ?? "candidat").replace(/[^\p{L}\p{N}]+/gu, "_")}.pdf`;
        body = {
          ...common,
          type: "document",
          media: { filename: file, mimeType: "application/pdf" },
          text: b.text ?? "Voici mon CV",
        };
      } else {
        const page = await tenant.messages.listByConversation(id, { limit: 30 });
        const target = page.messages.find((m) => m.wamid && m.type !== "reaction");
        if (!target?.wamid) throw new DemoCandidateError("NOTHING_TO_REACT_TO");
        body = { ...common, type: "reaction", reaction: { messageId: target.wamid, emoji: b.emoji ?? "👍" } };
      }

      const res = await fetch(`${simUrl.replace(/\/+$/, "")}/_sim/candidates/reply`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      }).catch((err: unknown) => {
        throw new DemoCandidateError(
          "SIMULATOR_UNREACHABLE",
          `the simulator did not answer: ${(err as Error).message}`,
        );
      });
      const answer = (await res.json().catch(() => ({}))) as {
        wamid?: string;
        delivery?: { status?: number };
        error?: { message?: string };
      };
      if (!res.ok)
        throw new DemoCandidateError(
          "SIMULATOR_REFUSED",
          answer.error?.message ?? `the simulator answered ${res.status}`,
        );
      return { success: true, wamid: answer.wamid ?? null, ingressStatus: answer.delivery?.status ?? null };
    },
  );
  done();
};
