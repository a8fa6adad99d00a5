import { createHash, timingSafeEqual } from "node:crypto";
import fp from "fastify-plugin";
import type { GatewayMetrics } from "@linkojob/metrics";
import { bearerToken } from "@linkojob/auth";

export interface MetricsPluginOptions {
  metrics: GatewayMetrics;
  /**
   * METRICS_TOKEN: when set, /metrics answers only `Authorization: Bearer <token>` (Prometheus:
   * `authorization: { credentials: … }` in the scrape config) and 401 otherwise. Unset, it is open,
   * for development (production start-up refuses to run without it).
   */
  token?: string | undefined;
}

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/**
 * GET /metrics for Prometheus, and the webhook's counters. The webhook is measured in an onResponse
 * hook, which runs after the answer has been written to the socket: nothing is added before Meta's
 * 200, and the hook itself is synchronous (a counter and a histogram observation).
 */
export const metricsPlugin = fp<MetricsPluginOptions>(
  (app, { metrics, token }, done) => {
    app.addHook("onResponse", (request, reply, done) => {
      if (request.method === "POST" && request.routeOptions.url === "/webhook")
        metrics.webhookAnswered(reply.statusCode, reply.elapsedTime);
      done();
    });
    // Compared as digests: equal lengths for timingSafeEqual whatever the caller sends.
    const expected = token ? digest(token) : null;
    app.get(
      "/metrics",
      {
        // Not the dashboard's JWT: METRICS_TOKEN, checked below.
        config: { public: true, rateLimit: false },
        schema: {
          tags: ["operations"],
          summary: "Prometheus metrics (text exposition format)",
          description:
            "Requires `Authorization: Bearer <METRICS_TOKEN>` when METRICS_TOKEN is set (always in production).",
        },
      },
      async (request, reply) => {
        if (expected) {
          const given = bearerToken(request.headers.authorization);
          if (!given || !timingSafeEqual(digest(given), expected)) {
            return reply
              .code(401)
              .header("www-authenticate", 'Bearer realm="metrics"')
              .send({
                error: { code: "METRICS_TOKEN_REQUIRED", message: "send Authorization: Bearer <METRICS_TOKEN>" },
              });
          }
        }
        return reply
          .header("content-type", metrics.contentType)
          .header("cache-control", "no-store")
          .send(await metrics.text());
      },
    );
    done();
  },
  { name: "lj-metrics" },
);
