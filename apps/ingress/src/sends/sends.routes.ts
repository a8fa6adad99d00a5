import type { FastifyPluginCallback } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { normalizePhone } from "@linkojob/whatsapp";
import { badRequest } from "../http/errors.js";
import type { TenantAccess } from "../auth/tenant-access.js";
import type { SendAcceptance } from "./send-acceptance.js";
// The one send request schema lives with the send domain (@linkojob/outbound send-request.ts).
import { idempotencyKeySchema, outboundRequestOf, sendRequestSchema } from "@linkojob/outbound";
import { resolveChatFields } from "./chat-references.js";

/**
 * Largest send body: 8 MiB of JSON. Base64 adds a third, so this carries ~6 MB of file: every image
 * Meta accepts (5 MB) and documents up to ~6 MB. Larger documents (Meta takes
 * up to 100 MB) go by `media.url`, which Meta fetches itself. Over it: 413.
 */
export const SEND_BODY_LIMIT_BYTES = 8 * 1024 * 1024;

export interface SendRoutesOptions {
  tenants: TenantAccess;
  acceptance: SendAcceptance;
}

/**
 * POST /api/messages/send: validate (the send domain's one request schema), resolve the tenant,
 * normalise, then SendAcceptance decides from the send state in Redis, enqueues and answers 202.
 */
export const sendRoutes: FastifyPluginCallback<SendRoutesOptions> = (base, { tenants, acceptance }, done) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", app.authenticate);

  app.post(
    "/api/messages/send",
    {
      bodyLimit: SEND_BODY_LIMIT_BYTES,
      schema: {
        tags: ["messages"],
        summary: "Queues a message to a candidate: a template for first contact or a closed window, else text or media",
        description:
          "Answers 202 `{ success, messageId, status, kind, cost }`. `status` is `queued`, `held` (the client cannot send now, or `reason: \"QUALITY_PAUSED\"`: a marketing first contact while Meta flags the number's quality), or `scheduled` with `scheduledFor` (ISO 8601) and `reason`: `MESSAGING_LIMIT` (the portfolio's 24-hour budget of business-initiated recipients is spent until then) or `QUIET_HOURS` (the candidate's local quiet hours, see /api/clients/{clientId}/sending-policy). A reply inside an open window is never held or scheduled by these.",
        body: sendRequestSchema,
        headers: z.object({ "idempotency-key": idempotencyKeySchema.optional() }).loose(),
      },
    },
    async (request, reply) => {
      const body = request.body;
      // Named client: resolved from the send caches (no database request once cached).
      const tenant = body.clientId
        ? await acceptance.tenantFor(request.principal, body.clientId)
        : await tenants.resolve(request.principal);
      const phone = body.candidatePhone === undefined ? null : normalizePhone(body.candidatePhone);
      if (body.candidatePhone !== undefined && !phone)
        throw badRequest(
          "candidatePhone is not a phone number (digits with country code, or a Moroccan 06/07 number)",
          { field: "candidatePhone" },
        );
      // The messages a send names (reply, reaction) resolved to wamids, checked to be this conversation's.
      const chat = await resolveChatFields(acceptance.db, tenant.clientId, {
        candidatePhone: phone,
        candidateUserId: body.candidateUserId ?? null,
        interactive: body.interactive,
        replyTo: body.replyTo,
        reaction: body.reaction,
      });
      const { answer, replay } = await acceptance.accept(
        tenant,
        outboundRequestOf(body, phone, chat),
        request.headers["idempotency-key"] ?? null,
        body.media ?? null,
      );
      if (replay) reply.header("idempotent-replayed", "true");
      return reply.code(202).send(answer);
    },
  );
  done();
};
