import { createServer, type Server } from "node:http";
import type { GatewayMetrics } from "./gateway-metrics";
import { serveMetrics } from "./serve-metrics";

/** Named readiness checks; each resolves true when its dependency answers. */
export type ReadinessChecks = Record<string, () => Promise<boolean>>;

const json = { "content-type": "application/json" };

/**
 * The small HTTP listener of processes that serve no other HTTP (the workers): `/health` (alive),
 * `/ready` (every check passes, else 503 with which failed) and `/metrics`. Returns null for port 0.
 */
export function startHealthServer(port: number, metrics: GatewayMetrics, checks: ReadinessChecks): Server | null {
  if (!port) return null;
  return createServer(async (req, res) => {
    if (req.url === "/metrics") return serveMetrics(metrics, res);
    if (req.url === "/health") return void res.writeHead(200, json).end('{"status":"ok"}');
    if (req.url === "/ready") {
      const names = Object.keys(checks);
      const results = await Promise.all(names.map((n) => checks[n]!().catch(() => false)));
      const ok = results.every(Boolean);
      const detail = Object.fromEntries(names.map((n, i) => [n, results[i]]));
      return void res.writeHead(ok ? 200 : 503, json).end(JSON.stringify({ status: ok ? "ready" : "not_ready", checks: detail }));
    }
    res.writeHead(404, json).end('{"error":{"code":"NOT_FOUND","message":"only /health, /ready and /metrics here"}}');
  }).listen(port);
}
