import type {
  FastifyBaseLogger,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { RedisClient } from "@linkojob/queues";
import { z } from "zod";
import { objectIdSchema, clientJson, userIdFilter, type ClientJson, type Database } from "@linkojob/db";
import {
  clientConnectedSchema,
  clientDisconnectedSchema,
  clientListSchema,
  connectionCheckSchema,
  onboardingInitiateSchema,
  type ClientPayload,
  type DashboardEvents,
} from "@linkojob/events";
import type { TokenVault } from "@linkojob/vault";
import type { GraphClient } from "@linkojob/whatsapp";
import type { TenantAccess } from "../auth/tenant-access.js";
import { badRequest } from "../http/errors.js";
import { readCookie } from "../auth/cookies.js";
import { ClientStatusAnnouncer, type SendState } from "@linkojob/outbound";
import { clearedOauthCookie, oauthCookie, oauthCookieName } from "./oauth-browser-cookie.js";
import { OAuthStateStore } from "./oauth-state.js";
import { OnboardingError } from "./onboarding-error.js";
import { OnboardingService, type TemplateSyncHook } from "./onboarding.service.js";

export interface OnboardingConfig {
  appId: string;
  appSecret: string;
  /** Graph API version of the dialog URL (META_API_VERSION). */
  apiVersion: string;
  /** BASE_URL: the OAuth redirect URI is BASE_URL + CALLBACK_PATH. */
  baseUrl: string;
  /** Where the callback sends the recruiter back, with the outcome in the query (DASHBOARD_URL). */
  dashboardUrl: string;
  /** Base URL of Meta's OAuth dialog (META_DIALOG_URL): https://www.facebook.com, or the simulator. */
  dialogUrl: string;
  /** Login-for-Business configuration id (META_CONFIG_ID), added as config_id when set. */
  configId?: string;
  /** Secret the OAuth state's HMAC key is derived from (JWT_SECRET). */
  stateSecret: string;
  /** Prefix of this deployment's Redis keys (QUEUE_PREFIX). */
  keyPrefix: string;
  /** Lifetime of an OAuth state in seconds. Default 600. */
  stateTtlSeconds?: number;
  /** Shortest interval between two connection checks of one client, in seconds (0 = none). Default 30. */
  checkIntervalSeconds?: number;
}

/** What buildApp needs to serve onboarding (the routes are absent without it). */
export interface OnboardingDeps {
  config: OnboardingConfig;
  graph: GraphClient;
  vault: TokenVault;
  /** Outbound issue's template sync, called after each connect; a no-op when absent. */
  templateSync?: TemplateSyncHook;
}

export interface OnboardingRoutesOptions extends OnboardingDeps {
  db: Database;
  redis: RedisClient;
  events: DashboardEvents;
  tenants: TenantAccess;
  /** The send API's state in Redis: a connected client and its synced templates are copied there. */
  sendState?: SendState;
}

export const CALLBACK_PATH = "/api/auth/whatsapp/callback";
/** The two scopes Embedded Signup asks for. */
export const WHATSAPP_OAUTH_SCOPES = "whatsapp_business_management,whatsapp_business_messaging";

/** Meta's dialog/oauth URL for a state. */
export function buildOAuthUrl(config: OnboardingConfig, state: string): string {
  const url = new URL(`${config.dialogUrl.replace(/\/+$/, "")}/${config.apiVersion}/dialog/oauth`);
  url.searchParams.set("client_id", config.appId);
  url.searchParams.set("redirect_uri", config.baseUrl + CALLBACK_PATH);
  url.searchParams.set("state", state);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("scope", WHATSAPP_OAUTH_SCOPES);
  if (config.configId) url.searchParams.set("config_id", config.configId);
  return url.toString();
}

/** The dashboard URL with the outcome: `whatsapp_status=connected&client_id=…` or `whatsapp_status=error&whatsapp_error=CODE`. */
export function dashboardRedirect(dashboardUrl: string, outcome: { clientId: string } | { error: string }): string {
  const url = new URL(dashboardUrl);
  if ("clientId" in outcome) {
    url.searchParams.set("whatsapp_status", "connected");
    url.searchParams.set("client_id", outcome.clientId);
  } else {
    url.searchParams.set("whatsapp_status", "error");
    url.searchParams.set("whatsapp_error", outcome.error);
  }
  return url.toString();
}

const graphId = z.string().regex(/^\d{1,30}$/, "must be a numeric Meta id");

const connectedResponse = { success: true as const };

// The stored client's JSON (@linkojob/db's clientJson) is the contract's client: this fails to compile when they drift.
const clientFits = (c: ClientJson): ClientPayload => c;
void clientFits;

/** The manual connection's input, shared by the admin endpoint and the `connect` command. */
export const manualConnectBody = z.strictObject({
  userId: z.string().trim().min(1).max(200),
  companyName: z.string().trim().min(1).max(200),
  phoneNumberId: graphId,
  wabaId: graphId,
  whatsappNumber: z.string().trim().min(6).max(30),
  accessToken: z.string().trim().min(20).max(4096),
});
export type ManualConnectInput = z.infer<typeof manualConnectBody>;

function logFailure(log: FastifyBaseLogger, err: unknown, context: Record<string, unknown>) {
  if (err instanceof OnboardingError)
    log.warn({ ...context, code: err.code, details: err.details }, "whatsapp connection refused");
  else log.error({ ...context, err }, "whatsapp connection failed");
}

/**
 * Recruiter onboarding: Embedded Signup by redirect and by popup, disconnection, the
 * connection check, and the admin-only manual connection. No token ever appears in a URL, a log or a
 * response; the callback's answer carries `Referrer-Policy: no-referrer` so that the code in its own
 * URL does not follow the recruiter to the dashboard.
 */
export const onboardingRoutes: FastifyPluginCallback<OnboardingRoutesOptions> = (base, opts, done) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const { config } = opts;
  // Route-level hooks are typed in Fastify's callback form; app.authenticate returns a promise.
  const authenticate = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    app.authenticate(request, reply).then(() => done(), done);
  };
  const announcer = new ClientStatusAnnouncer({
    db: opts.db,
    events: opts.events,
    publisher: opts.redis,
    log: app.log,
    ...(opts.sendState ? { sendState: opts.sendState } : {}),
  });
  const { templateSync, sendState } = opts;
  // After a connect's sync, the WABA's templates are copied to the send state (the send API reads them there).
  const syncHook: TemplateSyncHook | undefined =
    templateSync && sendState
      ? {
          async syncTemplatesForClient(client) {
            await templateSync.syncTemplatesForClient(client);
            await sendState.writeTemplatesOfClient(client.clientId);
          },
        }
      : templateSync;
  const service = new OnboardingService({
    db: opts.db,
    graph: opts.graph,
    vault: opts.vault,
    app: { appId: config.appId, appSecret: config.appSecret },
    announcer,
    redis: opts.redis,
    keyPrefix: config.keyPrefix,
    ...(syncHook ? { templateSync: syncHook } : {}),
    log: app.log,
    error: (obj, msg) => app.log.error(obj, msg),
  });
  const states = new OAuthStateStore(opts.redis, {
    secret: config.stateSecret,
    keyPrefix: config.keyPrefix,
    ...(config.stateTtlSeconds !== undefined ? { ttlSeconds: config.stateTtlSeconds } : {}),
  });

  const secureCookie = config.baseUrl.startsWith("https:");
  const checkInterval = config.checkIntervalSeconds ?? 30;

  app.post(
    "/api/auth/whatsapp/initiate",
    {
      preHandler: authenticate,
      schema: {
        tags: ["onboarding"],
        summary: "Starts Embedded Signup: Meta's dialog URL with a signed, single-use state bound to this browser",
        description:
          "Sets an HttpOnly, SameSite=Lax cookie that the callback requires: the browser that calls initiate must be the one that comes back " +
          'from Meta\'s dialog. A dashboard on another origin of the same site calls it with `credentials: "include"` (CORS_ORIGIN lists it).',
        response: { 200: onboardingInitiateSchema },
      },
    },
    async (request, reply) => {
      const issued = states.issue(request.principal.userId);
      reply.header(
        "set-cookie",
        oauthCookie(issued.nonce, issued.browserSecret, {
          maxAge: issued.expiresAt - Math.floor(Date.now() / 1000),
          secure: secureCookie,
        }),
      );
      reply.header("cache-control", "no-store");
      return { oauthUrl: buildOAuthUrl(config, issued.state) };
    },
  );

  app.get(
    CALLBACK_PATH,
    {
      // Meta's redirect in the recruiter's browser: bound by the signed state and its cookie, no JWT.
      config: { public: true },
      schema: {
        tags: ["onboarding"],
        summary: "Meta's redirect after the dialog: connects, then redirects to the dashboard with the outcome",
        // Meta adds parameters of its own (granted_scopes, error_reason…): not a strict object.
        querystring: z.looseObject({
          code: z.string().max(4096).optional(),
          state: z.string().max(1024).optional(),
          error: z.string().max(200).optional(),
        }),
      },
    },
    async (request, reply) => {
      reply.header("cache-control", "no-store").header("referrer-policy", "no-referrer");
      let userId: string | undefined;
      try {
        // The attempt's cookie goes whatever the outcome: a state works once.
        const nonce = states.verify(request.query.state).nonce;
        reply.header("set-cookie", clearedOauthCookie(nonce, secureCookie));
        const { userId: owner } = await states.consume(
          request.query.state,
          readCookie(request.headers.cookie, oauthCookieName(nonce, secureCookie)),
        );
        userId = owner;
        if (request.query.error) throw new OnboardingError("ACCESS_DENIED");
        if (!request.query.code) throw new OnboardingError("CODE_MISSING");
        const result = await service.connectWithCode({
          userId,
          code: request.query.code,
          redirectUri: config.baseUrl + CALLBACK_PATH,
        });
        return reply.redirect(dashboardRedirect(config.dashboardUrl, { clientId: result.client.id }), 302);
      } catch (err) {
        logFailure(request.log, err, { userId, flow: "redirect" });
        const code = err instanceof OnboardingError ? err.code : "INTERNAL_ERROR";
        return reply.redirect(dashboardRedirect(config.dashboardUrl, { error: code }), 302);
      }
    },
  );

  app.post(
    "/api/auth/whatsapp/exchange",
    {
      preHandler: authenticate,
      schema: {
        tags: ["onboarding"],
        summary: "Completes Embedded Signup for the JavaScript-SDK popup flow",
        body: z.strictObject({
          code: z.string().min(1).max(4096),
          /** From the page's WA_EMBEDDED_SIGNUP message. */
          wabaId: graphId.optional(),
          phoneNumberId: graphId.optional(),
          companyName: z.string().trim().min(1).max(200).optional(),
        }),
        response: { 200: clientConnectedSchema },
      },
    },
    async (request) => {
      const { code, ...rest } = request.body;
      try {
        const result = await service.connectWithCode({ userId: request.principal.userId, code, ...rest });
        return { ...connectedResponse, client: result.client, reconnected: result.reconnected };
      } catch (err) {
        logFailure(request.log, err, { userId: request.principal.userId, flow: "popup" });
        throw err;
      }
    },
  );

  app.delete(
    "/api/auth/whatsapp/disconnect",
    {
      preHandler: authenticate,
      schema: {
        tags: ["onboarding"],
        summary: "Disconnects a client: token wiped, WABA unsubscribed when no other connected client uses it",
        querystring: z.strictObject({ clientId: objectIdSchema.optional() }),
        response: { 200: clientDisconnectedSchema },
      },
    },
    async (request) => {
      const tenant = await opts.tenants.resolve(request.principal, request.query.clientId);
      await service.disconnect(tenant.clientId);
      return { success: true as const };
    },
  );

  app.post(
    "/api/auth/whatsapp/check",
    {
      preHandler: authenticate,
      schema: {
        tags: ["onboarding"],
        summary: "Checks a client's token against Meta (a revoked token marks it reauth_required)",
        querystring: z.strictObject({ clientId: objectIdSchema.optional() }),
        response: { 200: connectionCheckSchema },
      },
    },
    async (request, reply) => {
      const tenant = await opts.tenants.resolve(request.principal, request.query.clientId);
      // One check per client per interval (in Redis, across ingress processes): each one calls Meta
      // with the tenant's token.
      if (checkInterval > 0) {
        const key = `${config.keyPrefix}:onboarding:check:${String(tenant.clientId)}`;
        const first = await opts.redis.set(key, "1", "EX", checkInterval, "NX");
        if (first !== "OK") {
          const left = await opts.redis.ttl(key);
          reply.header("retry-after", String(left > 0 ? left : checkInterval));
          throw new OnboardingError(
            "CHECK_THROTTLED",
            { retryAfterSeconds: left > 0 ? left : checkInterval },
            `this connection was checked less than ${checkInterval} s ago; try again later`,
          );
        }
      }
      return service.checkConnection(tenant.clientId);
    },
  );

  app.get(
    "/api/auth/whatsapp/clients",
    {
      preHandler: authenticate,
      schema: {
        tags: ["onboarding"],
        summary: "The caller's WhatsApp connections (admin and service name a userId)",
        querystring: z.strictObject({ userId: z.string().min(1).max(200).optional() }),
        response: { 200: clientListSchema },
      },
    },
    async (request) => {
      const p = request.principal;
      let userId = p.userId;
      if (p.role !== "recruiter") {
        if (!request.query.userId) throw badRequest("userId is required for this role");
        userId = request.query.userId;
      }
      const docs = await opts.db.clients
        .find({ userId: userIdFilter(userId) })
        .sort({ createdAt: 1 })
        .lean();
      return { clients: docs.map(clientJson) };
    },
  );

  app.post(
    "/api/admin/whatsapp/connect",
    {
      preHandler: [app.authenticate, app.requireRole("admin")],
      schema: {
        tags: ["onboarding", "admin"],
        summary: "Connects a number set up outside Embedded Signup (operators only)",
        body: manualConnectBody,
        response: { 200: clientConnectedSchema, 201: clientConnectedSchema },
      },
    },
    async (request, reply) => {
      const { accessToken, ...rest } = request.body;
      try {
        const result = await service.connectWithToken({ ...rest, accessToken });
        return reply
          .code(result.reconnected ? 200 : 201)
          .send({ ...connectedResponse, client: result.client, reconnected: result.reconnected });
      } catch (err) {
        logFailure(request.log, err, { userId: rest.userId, flow: "manual" });
        throw err;
      }
    },
  );
  done();
};
