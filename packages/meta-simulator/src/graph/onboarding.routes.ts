import { limitTier, portfolioState } from "./portfolio.state.js";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { SimArea } from "../simulator.js";
import { accountUpdateDelivery } from "../webhooks/payloads.js";
import {
  ONBOARDING_AREA,
  ONBOARDING_ROUTES,
  businessOfNumber,
  graphErrorBody,
  issueCode,
  issueToken,
  onboardingState,
  revokeTokens,
  seedBusiness,
  type OnboardingRoute,
  type OnboardingSimState,
  type SimBusiness,
  type SimToken,
} from "./onboarding.state.js";

/**
 * Meta's onboarding endpoints (Embedded Signup), served for real over HTTP:
 * the OAuth dialog (approves and redirects with a code), the code exchange, debug_token, a WABA's
 * phone numbers and webhook subscription, number registration; plus /_sim/onboarding/* controls to
 * seed businesses, hand out codes and tokens, revoke tokens, send account_update webhooks, and switch
 * on failure modes (expired or reused codes, no WABA granted, Graph error bodies, slow answers).
 */

const version = z.string().regex(/^v\d+\.\d+$/);

function bearer(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (h?.startsWith("Bearer ")) return h.slice(7);
  const q = (request.query as Record<string, unknown> | undefined)?.access_token;
  return typeof q === "string" ? q : undefined;
}

const sendGraphError = (reply: FastifyReply, status: number, e: Parameters<typeof graphErrorBody>[0]) =>
  reply.code(status).send(graphErrorBody(e));

/** Applies the configured latency and fault of a route; returns true when it answered. */
async function failureMode(s: OnboardingSimState, route: OnboardingRoute, reply: FastifyReply): Promise<boolean> {
  const delay = s.delays.get(route);
  if (delay) await new Promise((r) => setTimeout(r, delay));
  const fault = s.faults.get(route);
  if (!fault || fault.remaining <= 0) return false;
  fault.remaining -= 1;
  if (fault.remaining <= 0) s.faults.delete(route);
  await sendGraphError(reply, fault.status, fault);
  return true;
}

export const onboardingArea: SimArea = (app, ctx, done) => {
  const s = () => onboardingState(ctx.state);
  const appId = ctx.options.appId;

  /** The token of a WABA call: valid, not revoked, not expired, granting the WABA. Answers the error otherwise. */
  async function authorize(request: FastifyRequest, reply: FastifyReply, wabaId: string): Promise<SimToken | null> {
    const value = bearer(request);
    const token = value ? s().tokens.get(value) : undefined;
    if (!token || token.revoked) {
      await sendGraphError(reply, 401, {
        code: 190,
        message:
          "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.",
        subcode: 460,
      });
      return null;
    }
    if (token.expiresAt > 0 && token.expiresAt <= Date.now() / 1000) {
      await sendGraphError(reply, 401, {
        code: 190,
        message: "Error validating access token: Session has expired.",
        subcode: 463,
      });
      return null;
    }
    if (!token.wabaIds.includes(wabaId)) {
      await sendGraphError(reply, 403, { code: 200, message: "(#200) Permissions error", type: "OAuthException" });
      return null;
    }
    return token;
  }

  function unknownObject(reply: FastifyReply, id: string) {
    return sendGraphError(reply, 400, {
      code: 100,
      subcode: 33,
      type: "GraphMethodException",
      message: `Unsupported request - method type: get. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // The OAuth dialog (www.facebook.com/{version}/dialog/oauth): "approves" at once and redirects.
  // ---------------------------------------------------------------------------------------------
  app.get("/:version/dialog/oauth", async (request, reply) => {
    const params = z.object({ version }).safeParse(request.params);
    const q = z
      .looseObject({
        client_id: z.string(),
        redirect_uri: z.url(),
        state: z.string().optional(),
        response_type: z.string().optional(),
      })
      .safeParse(request.query);
    if (!params.success || !q.success)
      return reply
        .code(400)
        .send({ error: "invalid dialog request", details: q.error?.issues ?? params.error?.issues });
    if (await failureMode(s(), "dialog", reply)) return;
    if (appId && q.data.client_id !== appId) return reply.code(400).send({ error: "Invalid App ID" });
    const target = new URL(q.data.redirect_uri);
    const approval = s().nextApproval ?? {};
    s().nextApproval = null;
    if (approval.deny) {
      target.searchParams.set("error", "access_denied");
      target.searchParams.set("error_code", "200");
      target.searchParams.set("error_description", "Permissions error");
      target.searchParams.set("error_reason", "user_denied");
    } else {
      const code = issueCode(ctx.state, {
        ...(approval.wabaIds ? { wabaIds: approval.wabaIds } : {}),
        ...(approval.appId ? { appId: approval.appId } : {}),
        redirectUri: q.data.redirect_uri,
      });
      target.searchParams.set("code", code);
    }
    if (q.data.state !== undefined) target.searchParams.set("state", q.data.state);
    return reply.redirect(target.toString(), 302);
  });

  // ---------------------------------------------------------------------------------------------
  // GET /{version}/oauth/access_token?client_id&client_secret&code[&redirect_uri]
  // ---------------------------------------------------------------------------------------------
  app.get("/:version/oauth/access_token", async (request, reply) => {
    const q = (request.query ?? {}) as Record<string, string | undefined>;
    if (await failureMode(s(), "access_token", reply)) return;
    if ((appId && q.client_id !== appId) || q.client_secret !== ctx.options.appSecret) {
      return sendGraphError(reply, 400, { code: 1, message: "Error validating client secret." });
    }
    const code = q.code ? s().codes.get(q.code) : undefined;
    if (!code) return sendGraphError(reply, 400, { code: 100, message: "Invalid verification code format." });
    if (code.used)
      return sendGraphError(reply, 400, {
        code: 100,
        subcode: 36009,
        message: "This authorization code has been used.",
      });
    if (code.expiresAt <= Date.now())
      return sendGraphError(reply, 400, { code: 100, subcode: 36007, message: "This authorization code has expired." });
    if (code.redirectUri !== null && q.redirect_uri !== code.redirectUri) {
      return sendGraphError(reply, 400, {
        code: 100,
        subcode: 36008,
        message:
          "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
      });
    }
    code.used = true;
    const token = issueToken(ctx.state, { wabaIds: code.wabaIds, ...(code.appId ? { appId: code.appId } : {}) });
    const t = s().tokens.get(token)!;
    return {
      [s().settings.tokenField]: token,
      token_type: "bearer",
      ...(t.expiresAt > 0 ? { expires_in: t.expiresAt - Math.floor(Date.now() / 1000) } : {}),
    };
  });

  // ---------------------------------------------------------------------------------------------
  // GET /{version}/debug_token?input_token=…  (as the app: appId|appSecret)
  // ---------------------------------------------------------------------------------------------
  app.get("/:version/debug_token", async (request, reply) => {
    const q = (request.query ?? {}) as Record<string, string | undefined>;
    if (await failureMode(s(), "debug_token", reply)) return;
    if (bearer(request) !== `${appId ?? ""}|${ctx.options.appSecret}`) {
      return sendGraphError(reply, 400, {
        code: 190,
        message: "Invalid OAuth access token - Cannot parse access token",
      });
    }
    const token = q.input_token ? s().tokens.get(q.input_token) : undefined;
    const now = Math.floor(Date.now() / 1000);
    if (!token || token.revoked || (token.expiresAt > 0 && token.expiresAt <= now)) {
      return {
        data: {
          ...(token ? { app_id: token.appId ?? appId ?? null, type: token.type, expires_at: token.expiresAt } : {}),
          is_valid: false,
          error: {
            code: 190,
            message: token?.revoked
              ? "The session has been invalidated."
              : token
                ? "Session has expired."
                : "Invalid OAuth access token.",
            subcode: token ? 460 : undefined,
          },
          scopes: [],
        },
      };
    }
    const scopes = ["whatsapp_business_management", "whatsapp_business_messaging"];
    return {
      data: {
        app_id: token.appId ?? appId ?? null,
        type: token.type,
        application: "LinkoJob (simulated)",
        data_access_expires_at: 0,
        expires_at: token.expiresAt,
        is_valid: true,
        issued_at: token.issuedAt,
        scopes: [...scopes, "public_profile"],
        // No WABA granted: the scopes come back without target ids.
        granular_scopes: token.wabaIds.length
          ? scopes.map((scope) => ({ scope, target_ids: [...token.wabaIds] }))
          : scopes.map((scope) => ({ scope })),
        user_id: "1000000000000001",
      },
    };
  });

  // ---------------------------------------------------------------------------------------------
  // A WABA's phone numbers and webhook subscription
  // ---------------------------------------------------------------------------------------------
  const wabaParams = z.object({ version, id: z.string().min(1) });

  app.get("/:version/:id/phone_numbers", async (request, reply) => {
    const { id } = wabaParams.parse(request.params);
    if (await failureMode(s(), "phone_numbers", reply)) return;
    const business = s().businesses.get(id);
    if (!business) return unknownObject(reply, id);
    if (!(await authorize(request, reply, id))) return;
    return {
      data: business.phoneNumbers.map((p) => ({
        id: p.id,
        display_phone_number: p.displayPhoneNumber,
        verified_name: p.verifiedName,
        quality_rating: p.qualityRating,
        code_verification_status: p.codeVerificationStatus,
        status: p.registered ? "CONNECTED" : "PENDING",
        platform_type: p.registered ? "CLOUD_API" : "NOT_APPLICABLE",
        throughput: { level: p.throughputLevel },
        // The portfolio's messaging limit (messaging_limit_tier is deprecated), when one is set.
        ...(limitTier(portfolioState(ctx.state).limits.get(id))
          ? { whatsapp_business_manager_messaging_limit: limitTier(portfolioState(ctx.state).limits.get(id)) }
          : {}),
      })),
      paging: { cursors: { before: "QVFIUb", after: "QVFIUa" } },
    };
  });

  const subscribedApp = () => ({
    whatsapp_business_api_data: {
      id: appId ?? "0",
      link: "https://www.linkojob.example/",
      name: "LinkoJob (simulated)",
    },
  });

  app.post("/:version/:id/subscribed_apps", async (request, reply) => {
    const { id } = wabaParams.parse(request.params);
    if (await failureMode(s(), "subscribed_apps", reply)) return;
    if (!s().businesses.has(id)) return unknownObject(reply, id);
    if (!(await authorize(request, reply, id))) return;
    let apps = s().subscriptions.get(id);
    if (!apps) s().subscriptions.set(id, (apps = new Set()));
    apps.add(appId ?? "0");
    return { success: true };
  });

  app.get("/:version/:id/subscribed_apps", async (request, reply) => {
    const { id } = wabaParams.parse(request.params);
    if (await failureMode(s(), "subscribed_apps", reply)) return;
    if (!s().businesses.has(id)) return unknownObject(reply, id);
    if (!(await authorize(request, reply, id))) return;
    return { data: [...(s().subscriptions.get(id) ?? [])].map(() => subscribedApp()) };
  });

  app.delete("/:version/:id/subscribed_apps", async (request, reply) => {
    const { id } = wabaParams.parse(request.params);
    if (await failureMode(s(), "subscribed_apps", reply)) return;
    if (!s().businesses.has(id)) return unknownObject(reply, id);
    if (!(await authorize(request, reply, id))) return;
    s()
      .subscriptions.get(id)
      ?.delete(appId ?? "0");
    return { success: true };
  });

  // ---------------------------------------------------------------------------------------------
  // POST /{version}/{phone-number-id}/register { messaging_product, pin }
  // ---------------------------------------------------------------------------------------------
  app.post("/:version/:id/register", async (request, reply) => {
    const { id } = wabaParams.parse(request.params);
    if (await failureMode(s(), "register", reply)) return;
    const found = businessOfNumber(ctx.state, id);
    if (!found) return unknownObject(reply, id);
    if (!(await authorize(request, reply, found.business.wabaId))) return;
    const body = z
      .looseObject({ messaging_product: z.literal("whatsapp"), pin: z.string().regex(/^\d{6}$/) })
      .safeParse(request.body);
    if (!body.success) {
      return sendGraphError(reply, 400, {
        code: 100,
        message: "(#100) Invalid parameter",
        details: "messaging_product must be whatsapp and pin six digits",
      });
    }
    if (found.number.pin !== null && found.number.pin !== body.data.pin) {
      return sendGraphError(reply, 400, {
        code: 133005,
        message: "Two step verification PIN Mismatch",
        details: "The PIN does not match the one set for this number.",
      });
    }
    found.number.pin = body.data.pin;
    found.number.registered = true;
    return { success: true };
  });

  // ---------------------------------------------------------------------------------------------
  // Controls: /_sim/onboarding/*
  // ---------------------------------------------------------------------------------------------
  const businessJson = (b: SimBusiness) => ({
    businessId: b.businessId,
    wabaId: b.wabaId,
    name: b.name,
    tokenValiditySeconds: b.tokenValiditySeconds,
    subscribedApps: [...(s().subscriptions.get(b.wabaId) ?? [])],
    phoneNumbers: b.phoneNumbers.map((p) => ({
      id: p.id,
      displayPhoneNumber: p.displayPhoneNumber,
      verifiedName: p.verifiedName,
      qualityRating: p.qualityRating,
      registered: p.registered,
      hasPin: p.pin !== null,
    })),
  });

  const bad = (reply: FastifyReply, error: z.ZodError) =>
    reply.code(400).send({
      error: "invalid request",
      details: error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    });

  const seedSchema = z.strictObject({
    wabaId: z
      .string()
      .regex(/^\d{1,20}$/)
      .optional(),
    businessId: z
      .string()
      .regex(/^\d{1,20}$/)
      .optional(),
    name: z.string().min(1).max(200).optional(),
    tokenValiditySeconds: z.number().int().min(0).optional(),
    phoneNumbers: z
      .array(
        z.strictObject({
          id: z
            .string()
            .regex(/^\d{1,20}$/)
            .optional(),
          displayPhoneNumber: z.string().min(6).max(30).optional(),
          verifiedName: z.string().min(1).max(200).optional(),
          qualityRating: z.enum(["GREEN", "YELLOW", "RED", "UNKNOWN"]).optional(),
          registered: z.boolean().optional(),
          pin: z
            .string()
            .regex(/^\d{6}$/)
            .optional(),
        }),
      )
      .max(20)
      .optional(),
  });

  /** Seeds a fake business (WABA, numbers, token validity). */
  app.post("/_sim/onboarding/businesses", async (request, reply) => {
    const body = seedSchema.safeParse(request.body ?? {});
    if (!body.success) return bad(reply, body.error);
    return reply.code(201).send(businessJson(seedBusiness(ctx.state, body.data)));
  });

  app.get("/_sim/onboarding/businesses", () => ({ businesses: [...s().businesses.values()].map(businessJson) }));

  app.get("/_sim/onboarding/businesses/:wabaId", async (request, reply) => {
    const b = s().businesses.get((request.params as { wabaId: string }).wabaId);
    if (!b) return reply.code(404).send({ error: "no such business" });
    return businessJson(b);
  });

  /** What the next dialog does: grant these WABAs (an empty list grants none), or deny; `appId` makes its token another app's. */
  app.post("/_sim/onboarding/next-approval", async (request, reply) => {
    const body = z
      .strictObject({
        wabaIds: z.array(z.string()).max(20).optional(),
        deny: z.boolean().optional(),
        appId: z
          .string()
          .regex(/^\d{1,20}$/)
          .optional(),
      })
      .safeParse(request.body ?? {});
    if (!body.success) return bad(reply, body.error);
    s().nextApproval = body.data;
    return { nextApproval: body.data };
  });

  /** A code as the JavaScript SDK hands it to the page (popup flow). */
  app.post("/_sim/onboarding/codes", async (request, reply) => {
    const body = z
      .strictObject({
        wabaIds: z.array(z.string()).max(20).optional(),
        redirectUri: z.url().optional(),
        expired: z.boolean().optional(),
        /** debug_token names this app for the resulting token (a foreign app's token). */
        appId: z
          .string()
          .regex(/^\d{1,20}$/)
          .optional(),
      })
      .safeParse(request.body ?? {});
    if (!body.success) return bad(reply, body.error);
    return reply.code(201).send({ code: issueCode(ctx.state, body.data) });
  });

  /** A business token for manual connection (as a system user would generate it in Business Settings). */
  app.post("/_sim/onboarding/tokens", async (request, reply) => {
    const body = z
      .strictObject({
        // An empty list: a token that debug_token reports with no WABA granted.
        wabaIds: z.array(z.string()).max(20),
        expiresInSeconds: z.number().int().min(0).optional(),
        /** debug_token names this app (a foreign app's token). */
        appId: z
          .string()
          .regex(/^\d{1,20}$/)
          .optional(),
      })
      .safeParse(request.body);
    if (!body.success) return bad(reply, body.error);
    return reply.code(201).send({ accessToken: issueToken(ctx.state, body.data) });
  });

  /** Revokes a token, or every token of a WABA (as when the recruiter removes our app). */
  app.post("/_sim/onboarding/tokens/revoke", async (request, reply) => {
    const body = z
      .strictObject({ token: z.string().optional(), wabaId: z.string().optional() })
      .refine((b) => b.token || b.wabaId, "name a token or a wabaId")
      .safeParse(request.body ?? {});
    if (!body.success) return bad(reply, body.error);
    return { revoked: revokeTokens(ctx.state, body.data) };
  });

  app.put("/_sim/onboarding/settings", async (request, reply) => {
    const body = z
      .strictObject({
        codeTtlSeconds: z.number().int().min(0).max(3600).optional(),
        tokenField: z.enum(["access_token", "business_token"]).optional(),
      })
      .safeParse(request.body ?? {});
    if (!body.success) return bad(reply, body.error);
    Object.assign(s().settings, body.data);
    return { settings: s().settings };
  });

  /** Makes a route answer a Graph error body (`times` calls, default until cleared). */
  app.post("/_sim/onboarding/faults", async (request, reply) => {
    const body = z
      .strictObject({
        route: z.enum(ONBOARDING_ROUTES),
        status: z.number().int().min(400).max(599).default(400),
        code: z.number().int(),
        subcode: z.number().int().optional(),
        message: z.string().default("An error occurred (simulated)"),
        type: z.string().default("OAuthException"),
        details: z.string().optional(),
        times: z.number().int().min(1).optional(),
      })
      .safeParse(request.body);
    if (!body.success) return bad(reply, body.error);
    const { route, times, ...fault } = body.data;
    s().faults.set(route, { ...fault, remaining: times ?? Number.POSITIVE_INFINITY });
    return { route, times: times ?? null };
  });

  /** Slows a route down (ms; 0 removes the delay). */
  app.post("/_sim/onboarding/delays", async (request, reply) => {
    const body = z
      .strictObject({ route: z.enum(ONBOARDING_ROUTES), ms: z.number().int().min(0).max(120_000) })
      .safeParse(request.body);
    if (!body.success) return bad(reply, body.error);
    if (body.data.ms === 0) s().delays.delete(body.data.route);
    else s().delays.set(body.data.route, body.data.ms);
    return body.data;
  });

  /** Sends a signed account_update webhook to the ingress (PARTNER_REMOVED, ACCOUNT_RECONNECTED…). */
  app.post("/_sim/onboarding/account-update", async (request, reply) => {
    const body = z
      .strictObject({
        wabaId: z.string().min(1),
        event: z.string().regex(/^[A-Z_]{3,60}$/),
        phoneNumber: z.string().optional(),
        banInfo: z.record(z.string(), z.unknown()).optional(),
        restrictionInfo: z.array(z.record(z.string(), z.unknown())).optional(),
      })
      .safeParse(request.body);
    if (!body.success) return bad(reply, body.error);
    const { wabaId, ...update } = body.data;
    const payload = accountUpdateDelivery(wabaId, update);
    const result = await ctx.webhooks.send(payload);
    return { status: result.status, payload };
  });

  app.post("/_sim/onboarding/reset", () => {
    ctx.state.areas.delete(ONBOARDING_AREA);
    return { reset: true };
  });
  done();
};
