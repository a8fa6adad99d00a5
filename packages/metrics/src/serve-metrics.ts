import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { GatewayMetrics } from "./gateway-metrics.js";

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/** Whether the request carries `Authorization: Bearer <token>` (compared as digests, in constant time). */
function bearerMatches(request: IncomingMessage, token: string): boolean {
  const given = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1];
  return !!given && timingSafeEqual(digest(given), digest(token));
}

/**
 * Answers a node:http request for /metrics (the workers' small HEALTH_PORT servers). With `token`
 * (METRICS_TOKEN), only a request bearing it gets the metrics; any other gets 401.
 */
export function serveMetrics(
  metrics: GatewayMetrics,
  res: ServerResponse,
  auth: { token?: string | undefined; request?: IncomingMessage } = {},
): void {
  if (auth.token && !(auth.request && bearerMatches(auth.request, auth.token))) {
    res
      .writeHead(401, { "content-type": "application/json", "www-authenticate": 'Bearer realm="metrics"' })
      .end('{"error":{"code":"METRICS_TOKEN_REQUIRED","message":"send Authorization: Bearer <METRICS_TOKEN>"}}');
    return;
  }
  metrics.text().then(
    (text) => void res.writeHead(200, { "content-type": metrics.contentType, "cache-control": "no-store" }).end(text),
    () =>
      void res
        .writeHead(500, { "content-type": "application/json" })
        .end('{"error":{"code":"METRICS_FAILED","message":"metrics could not be collected"}}'),
  );
}
