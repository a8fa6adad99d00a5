import { createServer, type Server } from "node:http";
import type { GatewayMetrics } from "./gateway-metrics.js";
import { healthHandler, type ReadinessChecks } from "./readiness.js";
import { serveMetrics } from "./serve-metrics.js";

/**
 * The small HTTP listener of processes that serve no other HTTP (the workers): `/health` (alive),
 * `/ready` (every check passes within the shared readiness timeout, else 503 with which failed) and
 * `/metrics`. Returns null for port 0.
 */
export function startHealthServer(port: number, metrics: GatewayMetrics, checks: ReadinessChecks): Server | null {
  if (!port) return null;
  return createServer(
    healthHandler(checks, { routes: { "/metrics": (_req, res) => serveMetrics(metrics, res) } }),
  ).listen(port);
}
