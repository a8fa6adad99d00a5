import { createPrivateKey, type KeyObject } from "node:crypto";
import type { FastifyPluginCallback, FastifyReply } from "fastify";
import { z } from "zod";
import type { ClientDoc, Database, FlowEndpointDoc, FlowEndpointRepository } from "@linkojob/db";
import type { TokenVault } from "@linkojob/vault";
import {
  FlowDecryptError,
  decryptFlowRequest,
  encryptFlowResponse,
  verifyWebhookSignature,
  webhookSigningKey,
} from "@linkojob/whatsapp";
import { flowOfToken } from "@linkojob/outbound";
import { NoFlowHandlerError, type FlowScreenRegistry } from "./flow-screens.js";

/**
 * WhatsApp Flows' data-exchange endpoint of a business number, `POST /flows/data-exchange/:phoneNumberId`
 * (the `endpoint_uri` the flows routes give Meta), as Meta's "Implementing your Flow endpoint" asks:
 * 1. `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the app secret, as webhooks) must match:
 *    432 otherwise (Meta's code for a signature that does not verify);
 * 2. the body `{ encrypted_flow_data, encrypted_aes_key, initial_vector }` is decrypted with the number's
 *    private key (RSA-OAEP SHA-256, then AES-128-GCM): 421 when it cannot be (Meta's client then
 *    fetches the public key again and retries), garbage included;
 * 3. `ping` (Meta's health check) is answered `{ data: { status: "active" } }`;
 * 4. any other action needs the `flow_token` of a flow message this client sent: 427 otherwise
 *    (Meta's INVALID_FLOW_TOKEN: the client shows an error and closes the flow);
 * 5. an error notification (`data.error`) is acknowledged; INIT, BACK and data_exchange go to the
 *    screen handlers (flow-screens.ts);
 * 6. the answer is encrypted with the request's AES key and the flipped IV, base64, `text/plain`.
 * Nothing of the request's content is logged: only the action, the screen and the outcome.
 */

export interface FlowExchangeRoutesOptions {
  db: Database;
  endpoints: FlowEndpointRepository;
  vault: TokenVault;
  appSecret: string;
  screens: FlowScreenRegistry;
}

/** Meta's data-exchange answers that are not 200. */
export const FLOW_STATUS = { decryptFailed: 421, invalidFlowToken: 427, badSignature: 432 } as const;

const MAX_BODY_BYTES = 1024 * 1024;

const requestSchema = z.looseObject({
  version: z.string().optional(),
  action: z.enum(["ping", "INIT", "BACK", "data_exchange"]),
  screen: z.string().max(200).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  flow_token: z.string().max(1024).optional(),
});

const problem = (code: string, message: string) => ({ error: { code, message } });

export const flowExchangeRoutes: FastifyPluginCallback<FlowExchangeRoutesOptions> = (app, opts, done) => {
  const signingKey = webhookSigningKey(opts.appSecret);
  // Private keys parsed once per key (the PEM decrypted by the vault, then parsed): a bounded cache.
  const parsedKeys = new Map<string, KeyObject>();
  const privateKeysOf = (client: ClientDoc, doc: FlowEndpointDoc | null): KeyObject[] =>
    (doc?.keys ?? []).flatMap((k) => {
      const cacheKey = `${client._id.toHexString()}:${k.keyId}`;
      let key = parsedKeys.get(cacheKey);
      if (!key) {
        try {
          key = createPrivateKey(opts.vault.decrypt(k.privateKey, client._id.toHexString()));
        } catch {
          return []; // a key the vault cannot open is no key
        }
        if (parsedKeys.size >= 1_000) parsedKeys.delete(parsedKeys.keys().next().value!);
        parsedKeys.set(cacheKey, key);
      }
      return [key];
    });

  // The exact bytes Meta signed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: MAX_BODY_BYTES }, (_req, body, done) =>
    done(null, body),
  );

  app.post<{ Params: { phoneNumberId: string } }>(
    "/flows/data-exchange/:phoneNumberId",
    {
      config: { public: true, rateLimit: false },
      bodyLimit: MAX_BODY_BYTES,
      schema: {
        tags: ["flows"],
        summary: "WhatsApp Flows data-exchange endpoint of a number (Meta's encrypted requests; signed like webhooks)",
        params: z.strictObject({ phoneNumberId: z.string().regex(/^\d{1,32}$/) }),
      },
    },
    async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      if (!verifyWebhookSignature(raw, request.headers["x-hub-signature-256"], signingKey))
        return reply
          .code(FLOW_STATUS.badSignature)
          .send(problem("INVALID_SIGNATURE", "X-Hub-Signature-256 is missing or does not match the body"));

      const cannotDecrypt = (reason: string) => {
        request.log.warn({ reason }, "flow data-exchange request not decrypted");
        return reply.code(FLOW_STATUS.decryptFailed).send(problem("DECRYPTION_FAILED", reason));
      };
      const client = await opts.db.clients.findOne({ phoneNumberId: request.params.phoneNumberId }).lean<ClientDoc>();
      if (!client) return cannotDecrypt("no key is held for this number");
      const keys = privateKeysOf(client, await opts.endpoints.get(client._id));
      if (keys.length === 0) return cannotDecrypt("no key is held for this number");

      let body: unknown;
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        return cannotDecrypt("the body is not JSON");
      }
      let decrypted: ReturnType<typeof decryptFlowRequest>;
      try {
        decrypted = decryptFlowRequest(body, keys);
      } catch (err) {
        if (err instanceof FlowDecryptError) return cannotDecrypt(err.message);
        throw err;
      }
      const answer = (response: unknown) =>
        reply
          .code(200)
          .type("text/plain")
          .send(encryptFlowResponse(response, decrypted.aesKey, decrypted.iv));

      const parsed = requestSchema.safeParse(decrypted.payload);
      if (!parsed.success)
        return reply
          .code(400)
          .send(
            problem("BAD_FLOW_REQUEST", "the decrypted request has no valid action (ping, INIT, BACK, data_exchange)"),
          );
      const req = parsed.data;
      const outcome = (what: string) =>
        request.log.info({ action: req.action, screen: req.screen, outcome: what }, "flow data exchange");
      if (req.action === "ping") {
        outcome("ping");
        return answer({ data: { status: "active" } });
      }

      const token = req.flow_token;
      if (!token || !(await sentFlowToken(opts.db, client, token))) {
        outcome("invalid_flow_token");
        return invalidToken(reply);
      }
      if (req.data && "error" in req.data) {
        // Meta's client reports a problem with an earlier answer: acknowledged, as Meta asks.
        outcome("error_notification");
        return answer({ data: { acknowledged: true } });
      }
      try {
        const next = await opts.screens.answer({
          clientId: client._id,
          flowToken: token,
          flowId: flowOfToken(token)?.flowId ?? null,
          action: req.action,
          screen: req.screen ?? null,
          data: req.data ?? {},
          now: new Date(),
        });
        outcome(next.screen === "SUCCESS" ? "completed" : "screen");
        return answer(next);
      } catch (err) {
        if (err instanceof NoFlowHandlerError) {
          outcome("no_handler");
          return reply.code(404).send(problem("NO_FLOW_HANDLER", err.message));
        }
        throw err;
      }
    },
  );
  done();
};

const invalidToken = (reply: FastifyReply) =>
  reply
    .code(FLOW_STATUS.invalidFlowToken)
    .send(problem("INVALID_FLOW_TOKEN", "the flow token is not one of a flow this business sent"));

/**
 * Whether this client sent a flow carrying this token: an interactive flow message, or a template's
 * FLOW button. The outbound message keeps it top-level (`flowToken`, @linkojob/db flow-token.ts),
 * found by one equality on the `{ clientId, flowToken }` index.
 */
async function sentFlowToken(db: Database, client: ClientDoc, token: string): Promise<boolean> {
  return (await db.messages.exists({ clientId: client._id, flowToken: token })) !== null;
}
