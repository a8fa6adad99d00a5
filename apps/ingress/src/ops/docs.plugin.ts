import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance, RouteOptions } from "fastify";
import { createJsonSchemaTransform, jsonSchemaTransformObject } from "fastify-type-provider-zod";

export const DOCS_PATH = "/docs";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * Callable without the dashboard's JWT (Meta's webhook and OAuth redirect, probes, /metrics with
     * its own token): the route's operation in /docs has no bearer requirement. Every other route
     * requires `Authorization: Bearer`.
     */
    public?: boolean;
  }
}

/** Whether a route is flagged `config: { public: true }`. */
export const isPublicRoute = (route: Pick<RouteOptions, "config">): boolean => route.config?.public === true;

const errorBody = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: { code: { type: "string" }, message: { type: "string" } },
      required: ["code", "message"],
    },
  },
} as const;

/**
 * The webhook takes Meta's exact bytes (no body schema, so that the signature is checked over what
 * Meta signed); it is documented here by hand.
 */
const webhookDocs: Record<string, Record<string, unknown>> = {
  GET: {
    tags: ["webhook"],
    summary: "Meta's subscription check",
    description:
      "Meta calls this once when the webhook is configured. Answers `hub.challenge` as text/plain with 200 when " +
      "`hub.mode` is `subscribe` and `hub.verify_token` equals META_WEBHOOK_VERIFY_TOKEN; 403 otherwise.",
    querystring: {
      type: "object",
      properties: {
        "hub.mode": { type: "string", enum: ["subscribe"] },
        "hub.verify_token": { type: "string" },
        "hub.challenge": { type: "string" },
      },
      required: ["hub.mode", "hub.verify_token", "hub.challenge"],
    },
    response: {
      200: { description: "the challenge, echoed", type: "string" },
      403: { description: "verification failed", ...errorBody },
    },
  },
  POST: {
    tags: ["webhook"],
    summary: "Meta's event deliveries (messages, statuses, account and template updates)",
    description:
      "The body is Meta's WhatsApp Business Account notification (`{ object, entry: [{ id, changes: [{ field, value }] }] }`), " +
      "signed with the app secret in `X-Hub-Signature-256: sha256=<hex HMAC of the raw bytes>`. The raw bytes are appended " +
      "to a Redis stream and the answer is 200 `EVENT_RECEIVED` only once Redis has them; 503 when they could not be " +
      "stored, so that Meta retries. Never rate limited: signed bursts are legitimate. At most 3 MB.",
    headers: {
      type: "object",
      properties: { "x-hub-signature-256": { type: "string", pattern: "^sha256=[0-9a-f]{64}$" } },
      required: ["x-hub-signature-256"],
    },
    response: {
      200: { description: "stored; Meta will not redeliver", type: "string" },
      400: { description: "not JSON, or not a webhook (no entry array)", ...errorBody },
      401: { description: "X-Hub-Signature-256 missing or wrong; nothing stored", ...errorBody },
      413: { description: "over 3 MB", ...errorBody },
      503: { description: "could not be stored (Redis unavailable); Meta retries", ...errorBody },
    },
  },
};

/**
 * OpenAPI 3 from the routes' zod schemas (@fastify/swagger with fastify-type-provider-zod's
 * transform), as JSON at /docs/json and browsable at /docs (Swagger UI, served from the package,
 * nothing fetched from a CDN). Register before the routes: the document is built from onRoute.
 */
export async function registerDocs(app: FastifyInstance, info: { version: string; serverUrl?: string }): Promise<void> {
  const zodTransform = createJsonSchemaTransform({
    skipList: [
      `${DOCS_PATH}`,
      `${DOCS_PATH}/`,
      `${DOCS_PATH}/json`,
      `${DOCS_PATH}/yaml`,
      `${DOCS_PATH}/uiConfig`,
      `${DOCS_PATH}/initOAuth`,
      `${DOCS_PATH}/*`,
      `${DOCS_PATH}/static/*`,
    ],
  });
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "LinkoJob WhatsApp gateway",
        version: info.version,
        description:
          "Signed Meta webhooks in; the recruiter dashboard's API and the platform backend's send API out. JWT (HS256) bearer tokens with role recruiter, service or admin.",
      },
      ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
      components: { securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } },
      security: [{ bearerAuth: [] }],
    },
    transform: (input) => {
      const { url, route } = input;
      const method = String(Array.isArray(route.method) ? route.method[0] : route.method);
      const open = isPublicRoute(route);
      if (url === "/webhook" && webhookDocs[method])
        return { url, schema: { ...webhookDocs[method], ...(open ? { security: [] } : {}) } };
      const out = zodTransform(input);
      if (open && !out.schema?.hide) return { url: out.url, schema: { ...(out.schema ?? {}), security: [] } };
      return out;
    },
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(async (scope) => {
    await scope.register(swaggerUi, { routePrefix: DOCS_PATH, uiConfig: { docExpansion: "list", deepLinking: false } });
  });
}
