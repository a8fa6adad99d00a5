import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import type { OpenAPIV3 } from "openapi-types";
import { TEST_SECRETS } from "@linkojob/testing";
import { TokenVault } from "@linkojob/vault";
import { GraphClient } from "@linkojob/whatsapp";
import { startTestIngress, type TestIngress } from "../ingress.harness.js";

let t: TestIngress;
let app: FastifyInstance;
let doc: OpenAPIV3.Document;
// Onboarding is registered so that its routes (the OAuth callback among them) are in the document;
// no test here reaches the Graph API.
const graph = new GraphClient({ baseUrl: "http://127.0.0.1:9", version: "v26.0" });

beforeAll(async () => {
  t = await startTestIngress("docs", {
    deps: {
      onboarding: {
        config: {
          appId: TEST_SECRETS.appId,
          appSecret: TEST_SECRETS.appSecret,
          apiVersion: "v26.0",
          baseUrl: "http://ingress.test",
          dashboardUrl: "http://dashboard.test/settings",
          dialogUrl: "http://127.0.0.1:9",
          stateSecret: TEST_SECRETS.jwtSecret,
          keyPrefix: "docs-test",
        },
        graph,
        vault: new TokenVault([TEST_SECRETS.tokenKey]),
      },
    },
  });
  ({ app } = t);
  const res = await app.inject({ method: "GET", url: "/docs/json" });
  expect(res.statusCode).toBe(200);
  doc = res.json();
});
afterAll(async () => {
  await t?.close();
  await graph.close();
});

const METHODS = ["get", "put", "post", "delete", "patch", "options", "head", "trace"] as const;

describe("/docs", () => {
  it("serves an OpenAPI 3 document whose operations are well formed", () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toBeTruthy();
    expect(doc.components?.securitySchemes?.bearerAuth).toEqual({
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
    });
    for (const [path, item] of Object.entries(doc.paths)) {
      expect(path.startsWith("/")).toBe(true);
      for (const method of METHODS) {
        const op = item?.[method];
        if (!op) continue;
        expect(Object.keys(op.responses ?? {}).length, `${method} ${path} responses`).toBeGreaterThan(0);
        // Every templated path parameter is declared, as OpenAPI requires.
        for (const name of [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1])) {
          const params = (op.parameters ?? []) as OpenAPIV3.ParameterObject[];
          expect(
            params.some((p) => p.in === "path" && p.name === name && p.required),
            `${method} ${path} declares ${name}`,
          ).toBe(true);
        }
      }
    }
  });

  it("lists the API routes with their zod schemas, and hides Bull Board and the docs' own routes", () => {
    const paths = Object.keys(doc.paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        "/webhook",
        "/api/messages/send",
        "/api/messages/conversations",
        "/api/messages/conversation/{id}",
        "/api/messages/conversation/{id}/read",
        "/api/messages/costs",
        "/api/templates",
        "/api/clients/{clientId}/candidates/erase",
        "/api/clients/{clientId}/candidates/erase/{erasureId}",
        "/health",
        "/ready",
        "/metrics",
      ]),
    );
    expect(paths.filter((p) => p.startsWith("/admin/queues") || p.startsWith("/docs"))).toEqual([]);

    const send = doc.paths["/api/messages/send"]!.post!;
    const body = (send.requestBody as OpenAPIV3.RequestBodyObject).content["application/json"]!
      .schema as OpenAPIV3.SchemaObject;
    // Exactly one of candidatePhone and candidateUserId (checked by the route), so neither is required.
    expect(body.required ?? []).not.toContain("candidatePhone");
    expect(Object.keys(body.properties ?? {})).toEqual(
      expect.arrayContaining(["clientId", "candidatePhone", "message", "templateName"]),
    );
    const list = doc.paths["/api/messages/conversations"]!.get!;
    expect((list.parameters as OpenAPIV3.ParameterObject[]).map((p) => `${p.in}:${p.name}`)).toEqual(
      expect.arrayContaining(["query:clientId", "query:page", "query:limit"]),
    );
  });

  it("documents the webhook by hand, as public, and the API as bearer-protected", () => {
    const post = doc.paths["/webhook"]!.post!;
    expect(post.description).toContain("X-Hub-Signature-256");
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(["200", "401", "503"]));
    expect(post.security).toEqual([]);
    expect(doc.paths["/webhook"]!.get!.description).toContain("hub.challenge");
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths["/api/messages/send"]!.post!.security).toBeUndefined();
  });

  it("documents exactly the routes flagged config.public as needing no bearer token: Meta's OAuth callback, the webhook, the flows' data-exchange endpoint, probes, /metrics", () => {
    const open: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        const op = item?.[method];
        if (op?.security && op.security.length === 0) open.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(open.sort()).toEqual(
      [
        "GET /api/auth/whatsapp/callback",
        "GET /health",
        "GET /metrics",
        "GET /ready",
        "GET /webhook",
        "POST /webhook",
        "POST /flows/data-exchange/{phoneNumberId}",
      ].sort(),
    );
    // The callback's neighbours are called by the dashboard with its JWT: the document-wide bearer requirement applies.
    expect(doc.paths["/api/auth/whatsapp/callback"]!.get!.summary).toContain("redirect");
    expect(doc.paths["/api/auth/whatsapp/initiate"]!.post!.security).toBeUndefined();
    expect(doc.paths["/api/auth/whatsapp/exchange"]!.post!.security).toBeUndefined();
  });

  it("the callback really answers without a JWT (a redirect to the dashboard, not 401)", async () => {
    const res = await app.inject({ method: "GET", url: "/api/auth/whatsapp/callback?error=access_denied" });
    expect(res.statusCode).toBe(302);
    expect(String(res.headers.location)).toMatch(/^http:\/\/dashboard\.test\/settings\?.*error=/);
    const bearer = await app.inject({ method: "POST", url: "/api/auth/whatsapp/initiate" });
    expect(bearer.statusCode).toBe(401);
  });

  it("serves a browsable page at /docs", async () => {
    let res = await app.inject({ method: "GET", url: "/docs" });
    if (res.statusCode === 302) res = await app.inject({ method: "GET", url: String(res.headers.location) });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/html");
    expect(res.body).toContain("swagger-ui");
  });
});
