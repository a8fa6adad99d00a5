import fp from "fastify-plugin";
import type { GatewayMetrics } from "@linkojob/metrics";

export interface MetricsPluginOptions {
  metrics: GatewayMetrics;
}

/**
 * GET /metrics for Prometheus, and the webhook's counters. The webhook is measured in an onResponse
 * hook, which runs after the answer has been written to the socket: nothing is added before Meta's
 * 200, and the hook itself is synchronous (a counter and a histogram observation).
 */
export const metricsPlugin = fp<MetricsPluginOptions>(
  async (app, { metrics }) => {
    app.addHook("onResponse", (request, reply, done) => {
      if (request.method === "POST" && request.routeOptions.url === "/webhook") metrics.webhookAnswered(reply.statusCode, reply.elapsedTime);
      done();
    });
    app.get(
      "/metrics",
      { schema: { tags: ["operations"], summary: "Prometheus metrics (text exposition format)", description: "Unauthenticated: expose it only to the monitoring network." } },
      async (_request, reply) => reply.header("content-type", metrics.contentType).header("cache-control", "no-store").send(await metrics.text()),
    );
  },
  { name: "lj-metrics" },
);
