import type { FastifyError, FastifyInstance } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { AuthError } from "@linkojob/auth";
import { InvalidIdError, InvalidCursorError } from "@linkojob/db";

/** An error the API reports as such: stable code, HTTP status, readable message. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export const badRequest = (message: string, details?: unknown) => new HttpError(400, "BAD_REQUEST", message, details);
export const notFound = (what: string) => new HttpError(404, "NOT_FOUND", `${what} not found`);
export const forbidden = (message: string) => new HttpError(403, "FORBIDDEN", message);

/** Every error leaves as `{ error: { code, message, details? } }` with a 4xx or 5xx status. */
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
    if (err instanceof HttpError) {
      return reply
        .status(err.statusCode)
        .send({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
    }
    if (err instanceof AuthError) {
      return reply.status(401).send({ error: { code: err.code, message: err.message } });
    }
    if (err instanceof InvalidIdError || err instanceof InvalidCursorError) {
      return reply.status(400).send({ error: { code: err.code, message: err.message } });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err }, "request failed");
    return reply.status(status).send({
      error: {
        code: err.code ?? (status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST"),
        message: status >= 500 ? "internal error" : err.message,
      },
    });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ error: { code: "NOT_FOUND", message: `no route ${request.method} ${request.url.split("?")[0]}` } }),
  );
}
