import type { ServerResponse } from "node:http";
import type { GatewayMetrics } from "./gateway-metrics.js";

/** Answers a node:http request for /metrics (the workers' small HEALTH_PORT servers). */
export function serveMetrics(metrics: GatewayMetrics, res: ServerResponse): void {
  metrics.text().then(
    (text) => void res.writeHead(200, { "content-type": metrics.contentType, "cache-control": "no-store" }).end(text),
    () =>
      void res
        .writeHead(500, { "content-type": "application/json" })
        .end('{"error":{"code":"METRICS_FAILED","message":"metrics could not be collected"}}'),
  );
}
