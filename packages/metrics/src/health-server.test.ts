import { afterEach, describe, expect, it } from "vitest";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { freePort } from "@linkojob/testing";
import { GatewayMetrics } from "./gateway-metrics.js";
import { startHealthServer } from "./health-server.js";

let server: Server | null = null;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

describe("worker health server", () => {
  it("is absent on port 0", () => {
    expect(startHealthServer(0, new GatewayMetrics({ service: "t" }), {})).toBeNull();
  });

  it("answers /health, /ready with each check, and /metrics", async () => {
    let mongoUp = true;
    server = startHealthServer(await freePort(), new GatewayMetrics({ service: "worker-test" }), {
      redis: () => Promise.resolve(true),
      mongo: () => (mongoUp ? Promise.resolve(true) : Promise.reject(new Error("down"))),
    })!;
    await new Promise((r) => server!.once("listening", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", checks: { redis: true, mongo: true } });
    mongoUp = false;
    const notReady = await fetch(`${base}/ready`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: "not_ready", checks: { redis: true, mongo: false } });
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('service="worker-test"');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it("with METRICS_TOKEN, /metrics answers only the bearer of that token (401 otherwise); /health and /ready stay open", async () => {
    const token = "scrape-token-0123456789abcdef";
    server = startHealthServer(
      await freePort(),
      new GatewayMetrics({ service: "worker-guarded" }),
      { redis: () => Promise.resolve(true) },
      { metricsToken: token },
    )!;
    await new Promise((r) => server!.once("listening", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: "Bearer wrong-token-0123456789" },
      { authorization: token },
    ];
    for (const headers of attempts) {
      const res = await fetch(`${base}/metrics`, { headers });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(await res.text()).not.toContain("worker-guarded");
    }
    const ok = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('service="worker-guarded"');
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
  });
});
