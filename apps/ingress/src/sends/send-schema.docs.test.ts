/**
 * The send API's OpenAPI document names the new request fields and their shapes:
 * candidateUserId, templateVars (positional or named), templateHeader, templateButtons.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OpenAPIV3 } from "openapi-types";
import { startTestIngress, type TestIngress } from "../ingress.harness.js";

let t: TestIngress;
let body: OpenAPIV3.SchemaObject;

beforeAll(async () => {
  t = await startTestIngress("senddocs");
  const res = await t.app.inject({ method: "GET", url: "/docs/json" });
  expect(res.statusCode).toBe(200);
  const doc = res.json<OpenAPIV3.Document>();
  body = (doc.paths["/api/messages/send"]!.post!.requestBody as OpenAPIV3.RequestBodyObject).content[
    "application/json"
  ]!.schema as OpenAPIV3.SchemaObject;
});
afterAll(async () => {
  await t?.close();
});

describe("send API schema", () => {
  it("documents candidateUserId, templateVars, templateHeader and templateButtons", () => {
    const props = body.properties as Record<string, OpenAPIV3.SchemaObject>;
    expect(props.candidateUserId!.description).toMatch(/business-scoped user id/);
    expect(props.templateVars!.description).toMatch(/by name/);
    expect(JSON.stringify(props.templateVars)).toMatch(/"array"/);
    expect(props.templateHeader!.description).toMatch(/media id/);
    expect(JSON.stringify(props.templateHeader)).toMatch(/"image","video","document","text"/);
    const buttons = props.templateButtons as OpenAPIV3.ArraySchemaObject;
    expect(JSON.stringify(buttons.items)).toMatch(/"url","quick_reply","copy_code"/);
    expect(body.required ?? []).not.toContain("candidatePhone");
  });
});
