import type { FastifyError, FastifyInstance } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { DomainError } from "@linkojob/errors";
import { statusOf } from "./error-status.js";

export { ApiError, badRequest, forbidden, notFound } from "./api-error.js";

const isDomainError = (err: unknown): err is DomainError => err instanceof DomainError;

const INTERNAL = { error: { code: "INTERNAL_ERROR", message: "internal error" } } as const;

/**
 * The one error handler: every error leaves as `{ error: { code, message, details? } }` with a 4xx
 * or 5xx status.
 * - a schema validation failure: 400 VALIDATION_ERROR naming each field;
 * - a domain error (@linkojob/errors): its code, message and details, with the status ERROR_STATUS
 *   gives its catalog and code (http/error-status.ts);
 * - Fastify's own 4xx (body too large, unsupported media type, malformed JSON): its status and code;
 * - anything else, and a domain code without a status: 500 INTERNAL_ERROR (or the 5xx the error
 *   carries), logged with its stack and never described to the caller: neither its message nor its
 *   code (a driver's message can name a duplicated phone number, its code the failing host).
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    // Read through FastifyError's own type: the narrowed one from fastify-type-provider-zod does not
    // resolve under NodeNext (its .d.ts imports "fastify/types/schema" without an extension).
    const validation = err.validation;
    if (validation && hasZodFastifySchemaValidationErrors(err)) {
      return reply.status(400).send({
        error: {
          code: "VALIDATION_ERROR",
          message: `invalid ${err.validationContext ?? "request"}`,
          details: validation.map((v) => ({ path: v.instancePath || "/", message: v.message })),
        },
      });
    }
    if (isDomainError(err)) {
      const status = statusOf(err);
      if (status !== undefined)
        return reply
          .status(status)
          .send({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
      request.log.error({ err, catalog: err.catalog, code: err.code }, "request failed: no HTTP status for this code");
      return reply.status(500).send(INTERNAL);
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err }, "request failed");
      return reply.status(status).send(INTERNAL);
    }
    return reply.status(status).send({ error: { code: err.code ?? "BAD_REQUEST", message: err.message } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ error: { code: "NOT_FOUND", message: `no route ${request.method} ${request.url.split("?")[0]}` } }),
  );
}
