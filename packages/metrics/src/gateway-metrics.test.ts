import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Queue, UnrecoverableError, Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis } from "@linkojob/queues";
import { eventually, testServices } from "@linkojob/testing";
import { GraphApiError, GraphClient } from "@linkojob/whatsapp";
import { GatewayMetrics } from "./gateway-metrics.js";
import { collectQueueCounts } from "./queue-collector.js";
import { graphEndpoint, metaCallObserver } from "./graph-observer.js";
import { instrumentWorker } from "./worker-instrumentation.js";

/** The value of one series in Prometheus text, e.g. value(text, 'lj_jobs_total{queue="q",outcome="completed"}'). */
function value(text: string, series: string): number | undefined {
  const withService = series.includes("{") ? series.replace("{", '{service="test",') : `${series}{service="test"}`;
  for (const line of text.split("\n")) {
    const [name, v] = [line.slice(0, line.lastIndexOf(" ")), line.slice(line.lastIndexOf(" ") + 1)];
    if (name === withService || sameLabels(name, withService)) return Number(v);
  }
  return undefined;
}
/** Compares two series names ignoring label order. */
function sameLabels(a: string, b: string): boolean {
  const parse = (s: string) => {
    const i = s.indexOf("{");
    return i < 0
      ? s
      : `${s.slice(0, i)}{${s
          .slice(i + 1, -1)
          .split(",")
          .sort()
          .join(",")}}`;
  };
  return parse(a) === parse(b);
}

describe("GatewayMetrics", () => {
  const services = testServices("metrics");
  const redis = createRedis(services.redisUrl);
  let server: Server;
  let graphUrl = "";

  beforeAll(async () => {
    // A real HTTP stand-in: /v26.0/{id}/messages answers 200, anything else Meta's error 131047.
    server = createServer((req, res) => {
      if (req.url?.endsWith("/messages"))
        return void res.writeHead(200, { "content-type": "application/json" }).end('{"messages":[{"id":"wamid.x"}]}');
      res
        .writeHead(400, { "content-type": "application/json" })
        .end('{"error":{"code":131047,"message":"Re-engagement message"}}');
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    graphUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await redis.quit();
  });

  it("reads queue counts from Redis when scraped", async () => {
    const metrics = new GatewayMetrics({ service: "test", processMetrics: false });
    const queue = new Queue("counted", { connection: redis, prefix: services.prefix });
    collectQueueCounts(metrics, [queue]);
    await queue.add("a", {});
    await queue.add("b", {});
    await queue.add("c", {}, { delay: 60_000 });
    const text = await metrics.text();
    expect(value(text, 'lj_queue_jobs{queue="counted",state="waiting"}')).toBe(2);
    expect(value(text, 'lj_queue_jobs{queue="counted",state="delayed"}')).toBe(1);
    expect(value(text, 'lj_queue_jobs{queue="counted",state="failed"}')).toBe(0);
    expect(value(text, 'lj_queue_depth{queue="counted"}')).toBe(3);
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it("counts job attempts and durations by queue and outcome, and send outcomes", async () => {
    const metrics = new GatewayMetrics({ service: "test", processMetrics: false });
    const queue = new Queue("work", { connection: redis, prefix: services.prefix });
    const workerRedis = createRedis(services.redisUrl);
    const worker = new Worker(
      "work",
      (job) => {
        if (job.name === "flaky" && job.attemptsMade === 0) return Promise.reject(new Error("transient"));
        if (job.name === "bad") return Promise.reject(new UnrecoverableError("permanent"));
        return Promise.resolve(
          job.name === "held"
            ? { outcome: "held", reason: "token" }
            : { outcome: "sent", kind: "template", wamid: "wamid.x" },
        );
      },
      { connection: workerRedis, prefix: services.prefix },
    );
    instrumentWorker(worker, metrics, (job, result) => metrics.sendOutcome(String(job.data.clientId), result));
    await queue.add("ok", { clientId: "c1" });
    await queue.add("flaky", { clientId: "c1" }, { attempts: 2 });
    await queue.add("bad", { clientId: "c1" }, { attempts: 5 });
    await queue.add("held", { clientId: "c2" });
    await eventually(async () => (await queue.getCompletedCount()) === 3 && (await queue.getFailedCount()) === 1);
    const text = await eventually(async () => {
      const t = await metrics.text();
      return value(t, 'lj_jobs_total{queue="work",outcome="completed"}') === 3 ? t : null;
    });
    expect(value(text, 'lj_jobs_total{queue="work",outcome="retried"}')).toBe(1);
    expect(value(text, 'lj_jobs_total{queue="work",outcome="failed"}')).toBe(1);
    expect(value(text, 'lj_job_duration_seconds_count{queue="work",outcome="completed"}')).toBe(3);
    expect(value(text, 'lj_outbound_sends_total{kind="template"}')).toBe(2);
    expect(value(text, 'lj_outbound_held_sends_total{client_id="c2"}')).toBe(1);
    await worker.close();
    await workerRedis.quit();
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it("counts Graph API calls by endpoint and error code through the client's observer", async () => {
    const metrics = new GatewayMetrics({ service: "test", processMetrics: false });
    const graph = new GraphClient({ baseUrl: graphUrl, version: "v26.0", observer: metaCallObserver(metrics) });
    await graph.post("106540352242922/messages", { token: "secret-token", json: { to: "212612345678" } });
    await graph.post("106540352242922/messages", { token: "secret-token", json: {} });
    await expect(graph.get("102290129340398/message_templates", { token: "secret-token" })).rejects.toBeInstanceOf(
      GraphApiError,
    );
    await graph.close();
    const text = await metrics.text();
    expect(value(text, 'lj_meta_calls_total{endpoint="{id}/messages",method="POST",code="ok"}')).toBe(2);
    expect(value(text, 'lj_meta_calls_total{endpoint="{id}/message_templates",method="GET",code="131047"}')).toBe(1);
    expect(text).not.toContain("secret-token");
    expect(text).not.toContain("106540352242922");
  });

  it("records webhook answers by outcome with their latency", async () => {
    const metrics = new GatewayMetrics({ service: "test", processMetrics: false });
    metrics.webhookAnswered(200, 3);
    metrics.webhookAnswered(200, 4);
    metrics.webhookAnswered(401, 1);
    const text = await metrics.text();
    expect(value(text, 'lj_webhook_deliveries_total{outcome="accepted"}')).toBe(2);
    expect(value(text, 'lj_webhook_deliveries_total{outcome="bad_signature"}')).toBe(1);
    expect(value(text, 'lj_webhook_ack_seconds_bucket{le="0.005",outcome="accepted"}')).toBe(2);
  });

  it("keeps endpoint labels to a handful of values", () => {
    expect(graphEndpoint("/106540352242922/messages")).toBe("{id}/messages");
    expect(graphEndpoint("oauth/access_token")).toBe("oauth/access_token");
    expect(graphEndpoint("debug_token")).toBe("debug_token");
    expect(graphEndpoint("wamid.HBgLMjEy")).toBe("{id}");
  });
});
