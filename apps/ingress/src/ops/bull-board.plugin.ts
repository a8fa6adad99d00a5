import { createBullBoard } from "@bull-board/api";
import { FastifyAdapter } from "@bull-board/fastify";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { Queue } from "bullmq";
import { AuthError, bearerToken, type JwtVerifier, type Principal } from "@linkojob/auth";
import { readCookie, serializeCookie } from "../auth/cookies.js";
import { BOARD_COOKIE, BoardSession } from "./board-session.js";
import { BOARD_LOGIN_PAGE } from "./board-login-page.js";
import { RedactingBullMQAdapter } from "./redacting-adapter.js";
import { CAMPAIGN_EXPANSION_QUEUE, OUTBOUND_CAMPAIGN_QUEUE, OUTBOUND_QUEUE, WEBHOOK_QUEUE } from "@linkojob/queues";

/**
 * Queues the board never changes, whatever BULL_BOARD_ALLOW_ACTIONS says: a webhook job added or
 * retried from the board is a delivery Meta never signed (it bypasses the ingress's signature check),
 * and an outbound job is a message sent in a tenant's name.
 */
const ALWAYS_READ_ONLY = new Set<string>([
  WEBHOOK_QUEUE,
  OUTBOUND_QUEUE,
  OUTBOUND_CAMPAIGN_QUEUE,
  CAMPAIGN_EXPANSION_QUEUE,
]);

export const BULL_BOARD_PATH = "/admin/queues";
/** Where a browser exchanges an admin JWT (POST body) for the board's cookie. */
export const BULL_BOARD_SESSION_PATH = `${BULL_BOARD_PATH}/session`;
/** A small form that POSTs the token to the session path. */
export const BULL_BOARD_LOGIN_PATH = `${BULL_BOARD_PATH}/login`;

export interface BullBoardOptions {
  queues: Queue[];
  verifier: JwtVerifier;
  session: BoardSession;
  /** Let operators retry, promote, clean, pause and add jobs. Default false: the board only shows. */
  allowActions?: boolean;
  /** Mark the session cookie Secure (HTTPS deployments). Default true; tests over plain HTTP turn it off. */
  secureCookie?: boolean;
}

const problem = (reply: FastifyReply, status: number, code: string, message: string) =>
  reply.code(status).header("cache-control", "no-store").send({ error: { code, message } });

/**
 * Bull Board at /admin/queues for operators (JWT role `admin`). API clients send
 * `Authorization: Bearer <jwt>`. A browser opens /admin/queues/login and POSTs the token (form field or
 * JSON `token`) to /admin/queues/session, which answers with an HttpOnly, SameSite=Strict cookie
 * scoped to /admin/queues (a BoardSession, not the JWT) and a redirect to the board. A token is never
 * accepted in the URL: query strings end up in proxy and access logs.
 */
export const bullBoardPlugin: FastifyPluginAsync<BullBoardOptions> = async (app, opts) => {
  const admin = async (token: string | undefined, reply: FastifyReply): Promise<Principal | null> => {
    try {
      const principal = await opts.verifier.verify(token);
      if (principal.role === "admin") return principal;
      await problem(reply, 403, "FORBIDDEN", "requires role admin");
    } catch (err) {
      const code = err instanceof AuthError ? err.code : "AUTH_ERR_INVALID";
      await problem(reply, 401, code, err instanceof Error ? err.message : "invalid token");
    }
    return null;
  };

  const open = new Set([BULL_BOARD_SESSION_PATH, BULL_BOARD_LOGIN_PATH]);
  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    if (open.has(request.routeOptions.url ?? "")) return;
    const query = request.url.indexOf("?");
    if (query >= 0 && new URLSearchParams(request.url.slice(query + 1)).has("token")) {
      return problem(
        reply,
        400,
        "TOKEN_IN_URL",
        `a token is never accepted in the URL (proxies log it): POST it to ${BULL_BOARD_SESSION_PATH}, or send Authorization: Bearer`,
      );
    }
    const header = bearerToken(request.headers.authorization);
    if (header) {
      await admin(header, reply);
      return;
    }
    if (opts.session.verify(readCookie(request.headers.cookie, BOARD_COOKIE))) return;
    if (request.method === "GET" && (request.headers.accept ?? "").includes("text/html"))
      return reply.redirect(BULL_BOARD_LOGIN_PATH, 303);
    return problem(
      reply,
      401,
      "AUTH_ERR_MISSING",
      `an admin token is required: POST it to ${BULL_BOARD_SESSION_PATH} (or open ${BULL_BOARD_LOGIN_PATH}), or send Authorization: Bearer`,
    );
  });

  // Form posts of the login page; JSON is parsed by the app's parser.
  app.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string", bodyLimit: 16 * 1024 },
    (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    },
  );

  app.get(BULL_BOARD_LOGIN_PATH, { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type("text/html; charset=utf-8")
      .header("cache-control", "no-store")
      .header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
      .send(BOARD_LOGIN_PAGE),
  );

  app.post(BULL_BOARD_SESSION_PATH, { schema: { hide: true } }, async (request, reply) => {
    const body = request.body as { token?: unknown } | undefined;
    const token =
      typeof body?.token === "string" && body.token ? body.token : bearerToken(request.headers.authorization);
    if (!token) return problem(reply, 400, "TOKEN_MISSING", "send the admin JWT as the form or JSON field `token`");
    const principal = await admin(token, reply);
    if (!principal) return reply;
    const { value, maxAge } = opts.session.issue(principal.userId, principal.expiresAt);
    const cookie = serializeCookie(BOARD_COOKIE, value, {
      path: BULL_BOARD_PATH,
      maxAge,
      sameSite: "Strict",
      secure: opts.secureCookie !== false,
    });
    return reply.header("set-cookie", cookie).header("cache-control", "no-store").redirect(BULL_BOARD_PATH, 303);
  });

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: opts.queues.map(
      (q) => new RedactingBullMQAdapter(q, { readOnlyMode: !opts.allowActions || ALWAYS_READ_ONLY.has(q.name) }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: "LinkoJob queues" } },
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
};
