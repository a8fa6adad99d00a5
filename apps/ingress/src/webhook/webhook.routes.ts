import { timingSafeEqual } from "node:crypto";
import type { FastifyPluginCallback, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import { verifyWebhookSignature, webhookSigningKey } from "@linkojob/whatsapp";
import type { WebhookInbox } from "./webhook-inbox.js";

/** Meta's documented maximum payload (3 MB); larger bodies get 413. */
export const MAX_WEBHOOK_BYTES = 3 * 1024 * 1024;

export interface WebhookRoutesOptions {
  inbox: WebhookInbox;
  appSecret: string;
  verifyToken: string;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const problem = (code: string, message: string) => ({ error: { code, message } });

/** The only shape Meta's signature header takes: `sha256=` and 64 hex digits. */
const SIGNATURE_HEADER = /^sha256=[0-9a-fA-F]{64}$/;

/**
 * Meta's webhook endpoint. The POST path verifies the signature over the raw bytes, checks the JSON,
 * appends the body to the ingress stream and only then answers 200. No MongoDB work, no parsing
 * beyond what it takes to refuse garbage. Rate limiting never applies here: signed bursts are
 * legitimate.
 */
export const webhookRoutes: FastifyPluginCallback<WebhookRoutesOptions> = (app, opts, done) => {
  const signingKey = webhookSigningKey(opts.appSecret);
  // Keep the exact bytes Meta signed, whatever the content type says.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: MAX_WEBHOOK_BYTES }, (_req, body, done) =>
    done(null, body),
  );

  app.get("/webhook", { config: { public: true, rateLimit: false } }, async (request, reply) => {
    const q = request.query as Record<string, unknown>;
    const mode = q["hub.mode"];
    const token = q["hub.verify_token"];
    const challenge = q["hub.challenge"];
    if (
      mode === "subscribe" &&
      typeof token === "string" &&
      typeof challenge === "string" &&
      sameSecret(token, opts.verifyToken)
    ) {
      return reply.code(200).type("text/plain; charset=utf-8").send(challenge);
    }
    return reply
      .code(403)
      .send(problem("WEBHOOK_VERIFICATION_FAILED", "hub.mode must be subscribe and hub.verify_token must match"));
  });

  // Before the body is read: a request without a well-formed signature header cannot be Meta's, so it
  // is refused at once and its connection closed, rather than reading (and hashing) up to 3 MB first.
  const signaturePresent = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const header = request.headers["x-hub-signature-256"];
    if (typeof header === "string" && SIGNATURE_HEADER.test(header)) return done();
    reply
      .header("connection", "close")
      .code(401)
      .send(problem("INVALID_SIGNATURE", "X-Hub-Signature-256 is missing or malformed"));
  };

  app.post(
    "/webhook",
    { config: { public: true, rateLimit: false }, bodyLimit: MAX_WEBHOOK_BYTES, onRequest: signaturePresent },
    async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      if (!verifyWebhookSignature(raw, request.headers["x-hub-signature-256"], signingKey)) {
        return reply
          .code(401)
          .send(problem("INVALID_SIGNATURE", "X-Hub-Signature-256 is missing or does not match the body"));
      }
      let parsed: unknown;
      try {
        // Only validity and shape are checked here (the worker parses the stored bytes as UTF-8).
        // Latin-1 decoding accepts and rejects exactly the same documents: UTF-8 lead and continuation
        // bytes are all >= 0x80, so they can only stand inside JSON strings, where any such character
        // is allowed, and can never be a quote, a backslash or a control character. It yields a
        // one-byte string, cheaper to build and to parse (apps/ingress/bench/README.md).
        parsed = JSON.parse(raw.toString("latin1"));
      } catch {
        return reply.code(400).send(problem("MALFORMED_JSON", "the body is not valid JSON"));
      }
      if (typeof parsed !== "object" || parsed === null || !Array.isArray((parsed as { entry?: unknown }).entry)) {
        return reply.code(400).send(problem("NOT_A_WEBHOOK", "expected an object with an entry array"));
      }
      try {
        await opts.inbox.append(raw, String(request.headers["x-hub-signature-256"]));
      } catch (err) {
        request.log.error({ err }, "webhook not stored; answering 503 so that Meta retries");
        return reply
          .code(503)
          .header("retry-after", "5")
          .send(problem("STORE_UNAVAILABLE", "the delivery could not be stored; retry later"));
      }
      return reply.code(200).type("text/plain").send("EVENT_RECEIVED");
    },
  );
  done();
};
