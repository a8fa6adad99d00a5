/**
 * The realtime events are documented beside the REST API: /docs/asyncapi.json (AsyncAPI 3.0) and
 * /docs/events, served by the real ingress, public like /docs, every example valid against the
 * contract's schemas.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENTS, SERVER_EVENT_SCHEMAS, SOCKET_EVENTS, type ServerToClientEvents } from "@linkojob/events";
import { startTestIngress, type TestIngress } from "../ingress.harness.js";

let t: TestIngress;

beforeAll(async () => {
  t = await startTestIngress("asyncapi", { deps: { inbox: { realtimeUrl: "https://realtime.linkojob.test:8443" } } });
});
afterAll(async () => {
  await t?.close();
});

type Msg = { name: string; payload: Record<string, unknown>; examples: Array<{ name: string; payload: unknown }> };

describe("GET /docs/asyncapi.json", () => {
  it("serves the AsyncAPI 3.0 document without a token, with the realtime server's host", async () => {
    const res = await t.app.inject({ method: "GET", url: "/docs/asyncapi.json" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("application/json");
    const doc = res.json();
    expect(doc.asyncapi).toBe("3.0.0");
    expect(doc.servers.realtime).toMatchObject({ host: "realtime.linkojob.test:8443", protocol: "wss" });
    expect(doc.info.description).toContain("/docs");
  });

  it("has every event with an example payload that validates against the contract", async () => {
    const doc = (await t.app.inject({ method: "GET", url: "/docs/asyncapi.json" })).json();
    const messages = Object.values<Msg>(doc.components.messages);
    const events = Object.keys(SERVER_EVENT_SCHEMAS) as Array<keyof ServerToClientEvents>;
    for (const event of events) {
      const m = messages.find((x) => x.name === event);
      expect(m, event).toBeDefined();
      expect(m!.examples.length, event).toBeGreaterThan(0);
      // The served JSON, not the in-memory object: what a reader gets.
      for (const ex of m!.examples)
        expect(SERVER_EVENT_SCHEMAS[event].safeParse(ex.payload).success, `${event} ${ex.name}`).toBe(true);
    }
    expect(messages.map((m) => m.name)).toContain(SOCKET_EVENTS.refresh);
  });
});

describe("GET /docs/events", () => {
  it("shows every event, its example and a link to the document and to /docs", async () => {
    const res = await t.app.inject({ method: "GET", url: "/docs/events" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/html");
    for (const event of [...Object.values(EVENTS), SOCKET_EVENTS.session, SOCKET_EVENTS.expired, SOCKET_EVENTS.refresh])
      expect(res.body).toContain(`<code>${event}</code>`);
    expect(res.body).toContain('href="/docs/asyncapi.json"');
    expect(res.body).toContain('href="/docs"');
    // Example payloads are escaped JSON.
    expect(res.body).toContain("&#34;conversationId&#34;");
    expect(res.body).not.toContain("<script");
  });

  it("stays out of the OpenAPI document", async () => {
    const openapi = (await t.app.inject({ method: "GET", url: "/docs/json" })).json();
    expect(Object.keys(openapi.paths).filter((p) => p.startsWith("/docs"))).toEqual([]);
  });
});
