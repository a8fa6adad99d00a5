import type { FastifyPluginCallback } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { objectIdSchema } from "@linkojob/db";
import { sendingPolicyJson, sendingPolicySchema, type SendingPolicyPayload } from "@linkojob/events";
import {
  DEFAULT_SENDING_POLICY,
  sendingPolicyUpdateSchema,
  type SendClient,
  type SendGate,
  type SendingPolicy,
} from "@linkojob/outbound";
import { notFound } from "../http/errors.js";
import { SendError } from "../sends/send-error.js";
import type { SendAcceptance } from "../sends/send-acceptance.js";

export interface SendingPolicyRoutesOptions {
  acceptance: SendAcceptance;
  gate: SendGate;
}

const params = z.object({ clientId: objectIdSchema.describe("the client (tenant)") });

const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

/** GET / PUT /api/clients/:clientId/sending-policy: quiet hours, zone, and what protects the number now. */
export const sendingPolicyRoutes: FastifyPluginCallback<SendingPolicyRoutesOptions> = (
  base,
  { acceptance, gate },
  done,
) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", app.authenticate);

  const clientOf = async (
    principal: Parameters<SendAcceptance["tenantFor"]>[0],
    clientId: string,
  ): Promise<SendClient> => {
    await acceptance.tenantFor(principal, clientId);
    const client = await acceptance.caches.client(clientId);
    if (!client) throw notFound("client");
    return client;
  };

  /** The answer of GET and PUT, through the contract's serialiser (@linkojob/events' sendingPolicySchema). */
  const view = async (client: SendClient): Promise<SendingPolicyPayload> => {
    const v = await gate.state.view(client);
    const stored = await gate.state.hasPolicy(client._id.toHexString());
    const usage =
      v.limit === null || v.limit < 0
        ? { used: 0, scheduled: 0, nextFreeAt: null }
        : await gate.budget.usage(client.wabaId, v.limit, Date.now());
    return sendingPolicyJson({
      clientId: client._id,
      policy: v.policy,
      isDefault: !stored,
      limit: v.limit,
      usage,
      windowMs: gate.budget.windowMs,
      quality: v.quality,
    });
  };

  app.get(
    "/api/clients/:clientId/sending-policy",
    {
      schema: {
        tags: ["sending policy"],
        summary:
          "The client's quiet hours and zone, its portfolio's messaging limit (usage, next free slot) and its number's quality",
        params,
        response: { 200: sendingPolicySchema, 403: errorSchema, 404: errorSchema },
      },
    },
    async (request) => view(await clientOf(request.principal, request.params.clientId)),
  );

  app.put(
    "/api/clients/:clientId/sending-policy",
    {
      schema: {
        tags: ["sending policy"],
        summary:
          'Sets the quiet hours ({ start, end } as "HH:MM", or null to turn them off) and the tenant\'s IANA zone; first contacts inside them are scheduled',
        params,
        body: sendingPolicyUpdateSchema,
        response: { 200: sendingPolicySchema, 400: errorSchema, 403: errorSchema, 404: errorSchema },
      },
    },
    async (request) => {
      const client = await clientOf(request.principal, request.params.clientId);
      const current = (await gate.state.view(client)).policy;
      const policy: SendingPolicy = {
        quietHours: request.body.quietHours,
        timeZone: request.body.timeZone ?? current.timeZone ?? DEFAULT_SENDING_POLICY.timeZone,
      };
      try {
        await gate.state.setPolicy(client._id.toHexString(), policy, request.principal.userId);
      } catch {
        throw new SendError("POLICY_UNAVAILABLE");
      }
      return view(client);
    },
  );
  done();
};
