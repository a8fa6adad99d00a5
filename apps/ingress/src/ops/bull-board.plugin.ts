import { createBullBoard } from "@bull-board/api";
import { FastifyAdapter } from "@bull-board/fastify";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { Queue } from "bullmq";
import { AuthError, bearerToken, type JwtVerifier } from "@linkojob/auth";
import { BOARD_COOKIE, BoardSession, readCookie } from "./board-session";
import { RedactingBullMQAdapter } from "./redacting-adapter";

export const BULL_BOARD_PATH = "/admin/queues";

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
 * `Authorization: Bearer <jwt>`; a browser opens `/admin/queues?token=<jwt>` once, gets an HttpOnly,
 * SameSite=Strict cookie scoped to /admin/queues (a BoardSession, not the JWT) and is redirected to
 * the same URL without the token, so the token leaves the address bar and the history.
 */
export const bullBoardPlugin: FastifyPluginAsync<BullBoardOptions> = async (app, opts) => {
  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    const url = new URL(request.url, "http://board.invalid");
    const queryToken = url.searchParams.get("token");
    const header = bearerToken(request.headers.authorization);
    if (queryToken || header) {
      let principal;
      try {
        principal = await opts.verifier.verify(queryToken ?? header);
      } catch (err) {
        const code = err instanceof AuthError ? err.code : "AUTH_ERR_INVALID";
        return problem(reply, 401, code, err instanceof Error ? err.message : "invalid token");
      }
      if (principal.role !== "admin") return problem(reply, 403, "FORBIDDEN", "requires role admin");
      if (!queryToken) return;
      const { value, maxAge } = opts.session.issue(principal.userId, principal.expiresAt);
      url.searchParams.delete("token");
      const cookie = [
        `${BOARD_COOKIE}=${encodeURIComponent(value)}`,
        `Path=${BULL_BOARD_PATH}`,
        `Max-Age=${maxAge}`,
        "HttpOnly",
        "SameSite=Strict",
        ...(opts.secureCookie === false ? [] : ["Secure"]),
      ].join("; ");
      return reply.header("set-cookie", cookie).header("cache-control", "no-store").redirect(`${url.pathname}${url.search}`, 303);
    }
    if (opts.session.verify(readCookie(request.headers.cookie, BOARD_COOKIE))) return;
    return problem(reply, 401, "AUTH_ERR_MISSING", `an admin token is required: open ${BULL_BOARD_PATH}?token=<admin JWT> once, or send Authorization: Bearer`);
  };

  app.addHook("onRequest", authenticate);

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: opts.queues.map((q) => new RedactingBullMQAdapter(q, { readOnlyMode: !opts.allowActions })),
    serverAdapter,
    options: { uiConfig: { boardTitle: "LinkoJob queues" } },
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
};
