import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { RedisClient } from "@linkojob/queues";
import { bearerToken, type JwtVerifier } from "@linkojob/auth";
import { ApiError } from "../http/api-error.js";

export interface RateLimitSettings {
  /** Length of the window the limits count over, ms. */
  windowMs: number;
  /** Requests per window per client IP without a valid JWT (public routes, failed logins). */
  anonymousMax: number;
  /** Requests per window per JWT subject with role recruiter or admin. */
  userMax: number;
  /** Requests per window per JWT subject with role service (the platform backend; bulk sends). */
  serviceMax: number;
}

/**
 * Redis-backed rate limiting (@fastify/rate-limit) of every route but those flagged
 * `config: { rateLimit: false }` on the route itself: the webhook (Meta's signed bursts are
 * legitimate, and a 429 would only make Meta retry), /health, /ready and /metrics (probes and scrapes
 * must keep answering under load). Keyed by the
 * JWT's subject when the request carries a valid token, else by client IP (the TCP peer's, or the address
 * the proxies trusted by TRUST_PROXY forwarded: never one the client wrote itself). The flagged routes get no hook at all: zero cost on the
 * webhook path. Over the limit: 429 with the API's error shape and Retry-After. If Redis cannot
 * answer, requests pass (the API then fails on its own dependencies, with clearer errors).
 * Register before the routes.
 */
export async function registerRateLimit(
  app: FastifyInstance,
  opts: { redis: RedisClient; prefix: string; verifier: JwtVerifier; limits: RateLimitSettings },
): Promise<void> {
  const keyOf = async (request: FastifyRequest): Promise<string> => {
    const token = bearerToken(request.headers.authorization);
    if (token) {
      try {
        const principal = await opts.verifier.verify(token);
        return `${principal.role === "service" ? "svc" : "usr"}:${principal.userId}`;
      } catch {
        // an invalid token counts against the caller's IP
      }
    }
    return `ip:${request.ip}`;
  };
  const { limits } = opts;

  await app.register(rateLimit, {
    global: true,
    redis: opts.redis,
    nameSpace: `${opts.prefix}:ratelimit:`,
    timeWindow: limits.windowMs,
    keyGenerator: keyOf,
    max: (_request: FastifyRequest, key: string) =>
      key.startsWith("svc:") ? limits.serviceMax : key.startsWith("usr:") ? limits.userMax : limits.anonymousMax,
    skipOnError: true,
    errorResponseBuilder: (_request, context) =>
      new ApiError("RATE_LIMITED", `too many requests; retry in ${context.after}`, {
        limit: context.max,
        retryAfterMs: context.ttl,
      }),
  });
}
