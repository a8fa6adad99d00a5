import cors from "@fastify/cors";
import type { FastifyInstance } from "fastify";

/**
 * CORS for dashboards served from another origin (CORS_ORIGIN). A list of origins gets credentials
 * (`fetch(…, { credentials: "include" })`), which the connect flow needs for its browser-binding
 * cookie; `true` ("*") allows any origin without credentials (a cookie is then never set from
 * another origin). Requests without an Origin header (Meta's webhooks, servers) get no CORS work.
 */
export async function registerCors(app: FastifyInstance, allowed: true | string[]): Promise<void> {
  const origins = allowed === true ? "*" : allowed;
  await app.register(cors, {
    origin: (origin, callback) => callback(null, origin === undefined ? false : origins),
    credentials: allowed !== true,
    methods: ["GET", "HEAD", "POST", "PATCH", "DELETE"],
    allowedHeaders: ["authorization", "content-type", "idempotency-key", "x-request-id"],
    maxAge: 600,
  });
}
