import { createServer, type Server } from "node:http";
import type { GatewayMetrics } from "./gateway-metrics.js";
import { healthHandler, type ReadinessChecks } from "./readiness.js";
import { serveMetrics } from "./serve-metrics.js";

export interface HealthServerOptions {
  /**
   * METRICS_TOKEN: when set, `/metrics` answers only `Authorization: Bearer <token>` and 401
   * otherwise, as on the ingress (the queue counts and per-tenant figures are not for whoever reaches
   * the port). Unset, it is open, for development (production start-up refuses to run without it).
   */
  metricsToken?: string | undefined;
}

/**
 * The small HTTP listener of processes that serve no other HTTP (the workers): `/health` (alive),
 * `/ready` (every check passes within the shared readiness timeout, else 503 with which failed) and
 * `/metrics`. Returns null for port 0.
 */
export function startHealthServer(
  port: number,
  metrics: GatewayMetrics,
  checks: ReadinessChecks,
  options: HealthServerOptions = {},
): Server | null {
  if (!port) return null;
  return createServer(
    healthHandler(checks, {
      routes: { "/metrics": (req, res) => serveMetrics(metrics, res, { token: options.metricsToken, request: req }) },
    }),
  ).listen(port);
}
