import type { FastifyInstance } from "fastify";
import type { RedisClient } from "@linkojob/queues";
import { JwtVerifier, type JwtVerifierOptions } from "@linkojob/auth";
import { GatewayMetrics, collectQueueCounts } from "@linkojob/metrics";
import { BoardSession } from "./board-session.js";
import { bullBoardPlugin } from "./bull-board.plugin.js";
import { openCatalogQueues } from "./catalog-queues.js";
import { registerDocs } from "./docs.plugin.js";
import { metricsPlugin } from "./metrics.plugin.js";
import { registerRateLimit, type RateLimitSettings } from "./rate-limit.plugin.js";

/** What operators get on the ingress: Bull Board, /metrics, /docs, rate limits. */
export interface OpsOptions {
  /** This process's metrics. Default: a registry of the app's own (service "ingress"). */
  metrics?: GatewayMetrics;
  /** Bearer token /metrics requires (METRICS_TOKEN). Default none: open. */
  metricsToken?: string | undefined;
  /** Rate limits of the API. Default none (tests of other features); main.ts always sets them from the environment. */
  rateLimit?: RateLimitSettings;
  /** Bull Board: actions (retry, clean, pause…) allowed, and whether its cookie is Secure. Default read-only, Secure. */
  bullBoard?: { allowActions?: boolean; secureCookie?: boolean };
  /** Version shown in the OpenAPI document. */
  version?: string;
}

/**
 * Registers the operations surface on the ingress. Call before the API routes: the OpenAPI document
 * and the rate limiter attach to routes as they are declared. Returns the metrics in use.
 */
export async function registerOps(
  app: FastifyInstance,
  deps: { redis: RedisClient; prefix: string; jwtSecret: string; jwt?: JwtVerifierOptions | undefined },
  opts: OpsOptions = {},
): Promise<GatewayMetrics> {
  const verifier = new JwtVerifier(deps.jwtSecret, deps.jwt);
  const metrics = opts.metrics ?? new GatewayMetrics({ service: "ingress" });

  // The limiter first: it attaches to routes declared after it, /docs included.
  if (opts.rateLimit)
    await registerRateLimit(app, { redis: deps.redis, prefix: deps.prefix, verifier, limits: opts.rateLimit });
  await registerDocs(app, { version: opts.version ?? "1.0.0" });
  await app.register(metricsPlugin, { metrics, token: opts.metricsToken });

  // Producer handles of every catalog queue, on the ingress's fail-fast connection: Bull Board and
  // the scrape-time queue counts answer at once (with an error) when Redis is down.
  const queues = openCatalogQueues(deps.redis, deps.prefix);
  app.addHook("onClose", async () => {
    await Promise.allSettled(queues.map((q) => q.close()));
  });
  collectQueueCounts(metrics, queues);
  await app.register(bullBoardPlugin, {
    queues,
    verifier,
    session: new BoardSession(deps.jwtSecret),
    allowActions: opts.bullBoard?.allowActions ?? false,
    secureCookie: opts.bullBoard?.secureCookie ?? true,
  });
  return metrics;
}
