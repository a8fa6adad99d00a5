import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { SimArea } from "../simulator.js";
import type { SimState } from "../state.js";
import { graphNodeOwners } from "./graph-nodes.js";
import { messagingState } from "./messaging-state.js";
import { graphErrorBody } from "./onboarding.state.js";
import { validateFlowJson, type SimValidationError } from "./flow-validation.js";

/**
 * Meta's WhatsApp Flows API, as its reference describes it, per WABA:
 * - `GET /{waba-id}/flows` (paged) and `POST /{waba-id}/flows` (name, categories, optional
 *   `flow_json` validated at once, `endpoint_uri`) → `{ id, success, validation_errors? }`;
 * - `POST /{flow-id}/assets` (multipart: `file`, `name=flow.json`, `asset_type=FLOW_JSON`) →
 *   `{ success, validation_errors }`, on a DRAFT only (139001 otherwise);
 * - `POST /{flow-id}/publish` (a DRAFT with a Flow JSON free of validation errors, and an
 *   `endpoint_uri` when the JSON uses one; 139002 otherwise), `POST /{flow-id}/deprecate` (a
 *   PUBLISHED flow; 139003), `DELETE /{flow-id}` (a DRAFT; 139004), `GET /{flow-id}`, and
 *   `POST /{flow-id}` (metadata: name, categories, endpoint_uri);
 * - `POST /{phone-number-id}/whatsapp_business_encryption` (`business_public_key`, PEM) and its
 *   `GET`: the public key Meta's clients encrypt data-exchange requests with (see flows/flow-client.ts).
 * An unknown flow id is Graph's 100 (subcode 33). Statuses: DRAFT → PUBLISHED → DEPRECATED.
 */
export const FLOWS_AREA = "flows";

export const SIM_FLOW_CATEGORIES = [
  "SIGN_UP",
  "SIGN_IN",
  "APPOINTMENT_BOOKING",
  "LEAD_GENERATION",
  "CONTACT_US",
  "CUSTOMER_SUPPORT",
  "SURVEY",
  "OTHER",
] as const;

export interface SimFlow {
  id: string;
  wabaId: string;
  name: string;
  categories: string[];
  status: "DRAFT" | "PUBLISHED" | "DEPRECATED";
  /** The Flow JSON as uploaded (text), or null before any upload. */
  json: string | null;
  validationErrors: SimValidationError[];
  endpointUri: string | null;
  updatedAt: number;
}

export interface FlowsState {
  flows: Map<string, SimFlow>;
  /** phone_number_id → the business public key (PEM) uploaded for it. */
  publicKeys: Map<string, string>;
}

export const flowsState = (state: SimState): FlowsState =>
  state.area(FLOWS_AREA, () => ({ flows: new Map<string, SimFlow>(), publicKeys: new Map<string, string>() }));

let nextFlowId = 0;
const newFlowId = () => String(7_100_000_000_000_000 + Date.now() * 10 + (nextFlowId++ % 10));

const usesEndpoint = (json: string | null): boolean => {
  if (!json) return false;
  try {
    const doc = JSON.parse(json) as Record<string, unknown>;
    return typeof doc.data_api_version === "string";
  } catch {
    return false;
  }
};

const flowError = (code: number, title: string, details: string) =>
  graphErrorBody({ code, message: `(#${code}) ${title}`, details });

const categoriesOf = (value: unknown): unknown => {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value.split(",").map((s) => s.trim());
  }
};

const createBody = z.looseObject({
  name: z.string().trim().min(1).max(200),
  categories: z.preprocess(categoriesOf, z.array(z.enum(SIM_FLOW_CATEGORIES)).min(1)),
  flow_json: z.string().optional(),
  endpoint_uri: z.string().url().optional(),
  clone_flow_id: z.string().optional(),
});

const metadataBody = z.looseObject({
  name: z.string().trim().min(1).max(200).optional(),
  categories: z.preprocess(categoriesOf, z.array(z.enum(SIM_FLOW_CATEGORIES)).min(1)).optional(),
  endpoint_uri: z.string().url().optional(),
});

function bearer(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  return h?.startsWith("Bearer ") ? h.slice(7) : undefined;
}

const flowJsonView = (f: SimFlow) => ({
  id: f.id,
  name: f.name,
  status: f.status,
  categories: f.categories,
  validation_errors: f.validationErrors,
});

export const flowsArea: SimArea = (app, ctx, done) => {
  const s = () => flowsState(ctx.state);
  const revoked = (token: string) => messagingState(ctx.state).revokedTokens.has(token);

  // Graph takes parameters as JSON, as a form or as multipart alike; uploads are multipart.
  app.addContentTypeParser(
    "multipart/form-data",
    { parseAs: "buffer", bodyLimit: 20 * 1024 * 1024 },
    (_req, body, done) => done(null, body),
  );
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );

  /** The caller's token, or the 190 answer sent. */
  function authorised(request: FastifyRequest, reply: FastifyReply): string | undefined {
    const token = bearer(request);
    if (!token || revoked(token)) {
      void reply
        .code(401)
        .send(graphErrorBody({ code: 190, message: "Invalid OAuth access token - Cannot parse access token" }));
      return undefined;
    }
    return token;
  }

  const missing = (reply: FastifyReply, id: string) =>
    reply.code(400).send(
      graphErrorBody({
        code: 100,
        subcode: 33,
        type: "GraphMethodException",
        message: `Unsupported post request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
      }),
    );

  const invalid = (reply: FastifyReply, details: string) =>
    reply.code(400).send(graphErrorBody({ code: 100, message: "(#100) Invalid parameter", details }));

  /** Reads a flow by id, or answers 100 and gives nothing. */
  function flowOr(reply: FastifyReply, id: string): SimFlow | undefined {
    const f = s().flows.get(id);
    if (!f) void missing(reply, id);
    return f;
  }

  app.get<{ Params: { waba: string }; Querystring: { limit?: string; after?: string } }>(
    "/:version/:waba/flows",
    async (request, reply) => {
      if (!authorised(request, reply)) return reply;
      const all = [...s().flows.values()].filter((f) => f.wabaId === request.params.waba);
      const limit = Math.min(Math.max(Number(request.query.limit ?? 25) || 25, 1), 100);
      const start = request.query.after ? Number(Buffer.from(request.query.after, "base64url").toString()) || 0 : 0;
      const end = Math.min(start + limit, all.length);
      const cursor = (n: number) => Buffer.from(String(n)).toString("base64url");
      const base = `${request.protocol}://${request.host}${request.url.split("?")[0]}`;
      return {
        data: all.slice(start, end).map(flowJsonView),
        paging: {
          cursors: { before: cursor(start), after: cursor(end) },
          ...(end < all.length ? { next: `${base}?limit=${limit}&after=${cursor(end)}` } : {}),
        },
      };
    },
  );

  app.post<{ Params: { waba: string } }>("/:version/:waba/flows", async (request, reply) => {
    if (!authorised(request, reply)) return reply;
    const b = createBody.safeParse(request.body ?? {});
    if (!b.success) {
      const p = b.error.issues[0]!;
      return invalid(reply, `${p.path.join(".") || "body"}: ${p.message}`);
    }
    const f: SimFlow = {
      id: newFlowId(),
      wabaId: request.params.waba,
      name: b.data.name,
      categories: b.data.categories,
      status: "DRAFT",
      json: b.data.flow_json ?? null,
      validationErrors: b.data.flow_json !== undefined ? validateFlowJson(b.data.flow_json) : [],
      endpointUri: b.data.endpoint_uri ?? null,
      updatedAt: Date.now(),
    };
    s().flows.set(f.id, f);
    return {
      id: f.id,
      success: true,
      ...(b.data.flow_json !== undefined ? { validation_errors: f.validationErrors } : {}),
    };
  });

  app.post<{ Params: { flow: string } }>("/:version/:flow/assets", async (request, reply) => {
    if (!authorised(request, reply)) return reply;
    const f = flowOr(reply, request.params.flow);
    if (!f) return reply;
    const ct = request.headers["content-type"] ?? "";
    if (!Buffer.isBuffer(request.body) || !ct.startsWith("multipart/form-data"))
      return invalid(reply, "the Flow JSON is uploaded as multipart/form-data with file, name and asset_type");
    let form: FormData;
    try {
      form = await new Response(request.body, { headers: { "content-type": ct } }).formData();
    } catch {
      return invalid(reply, "invalid multipart body");
    }
    if (form.get("asset_type") !== "FLOW_JSON") return invalid(reply, "asset_type must be FLOW_JSON");
    if (form.get("name") !== "flow.json") return invalid(reply, "name must be flow.json");
    const file = form.get("file");
    if (!file || typeof file === "string") return invalid(reply, "The parameter file is required.");
    if (f.status !== "DRAFT")
      return reply
        .code(400)
        .send(
          flowError(
            139001,
            "Flow can't be updated",
            `Only a flow in DRAFT status can be updated; this flow is ${f.status}. Clone it to change it.`,
          ),
        );
    f.json = await file.text();
    f.validationErrors = validateFlowJson(f.json);
    f.updatedAt = Date.now();
    return { success: true, validation_errors: f.validationErrors };
  });

  app.post<{ Params: { flow: string } }>("/:version/:flow/publish", async (request, reply) => {
    if (!authorised(request, reply)) return reply;
    const f = flowOr(reply, request.params.flow);
    if (!f) return reply;
    const refuse = (details: string) => reply.code(400).send(flowError(139002, "Flow can't be published", details));
    if (f.status !== "DRAFT") return refuse(`Only a DRAFT flow can be published; this flow is ${f.status}.`);
    if (f.json === null) return refuse("The flow has no Flow JSON: upload one first.");
    if (f.validationErrors.length)
      return refuse(`Publishing Flow with validation errors is not possible (${f.validationErrors.length} errors).`);
    if (usesEndpoint(f.json) && !f.endpointUri)
      return refuse("The Flow JSON uses a data-exchange endpoint but the flow has no endpoint_uri.");
    f.status = "PUBLISHED";
    f.updatedAt = Date.now();
    return { success: true };
  });

  app.post<{ Params: { flow: string } }>("/:version/:flow/deprecate", async (request, reply) => {
    if (!authorised(request, reply)) return reply;
    const f = flowOr(reply, request.params.flow);
    if (!f) return reply;
    if (f.status !== "PUBLISHED")
      return reply
        .code(400)
        .send(
          flowError(
            139003,
            "Flow can't be deprecated",
            `Only a PUBLISHED flow can be deprecated; this flow is ${f.status}.`,
          ),
        );
    f.status = "DEPRECATED";
    f.updatedAt = Date.now();
    return { success: true };
  });

  app.post<{ Params: { flow: string } }>("/:version/:flow", async (request, reply) => {
    if (!authorised(request, reply)) return reply;
    const f = flowOr(reply, request.params.flow);
    if (!f) return reply;
    const b = metadataBody.safeParse(request.body ?? {});
    if (!b.success) {
      const p = b.error.issues[0]!;
      return invalid(reply, `${p.path.join(".") || "body"}: ${p.message}`);
    }
    if (b.data.name !== undefined) f.name = b.data.name;
    if (b.data.categories !== undefined) f.categories = b.data.categories;
    if (b.data.endpoint_uri !== undefined) f.endpointUri = b.data.endpoint_uri;
    f.updatedAt = Date.now();
    return { success: true };
  });

  graphNodeOwners(ctx).push({
    get(id, token, reply) {
      const f = s().flows.get(id);
      if (!f) return false;
      if (revoked(token)) {
        void reply.code(401).send(graphErrorBody({ code: 190, message: "Invalid OAuth access token" }));
        return true;
      }
      void reply.send({ ...flowJsonView(f), endpoint_uri: f.endpointUri, json_version: jsonVersion(f.json) });
      return true;
    },
    delete(id, token, reply) {
      const f = s().flows.get(id);
      if (!f) return false;
      if (revoked(token)) {
        void reply.code(401).send(graphErrorBody({ code: 190, message: "Invalid OAuth access token" }));
      } else if (f.status !== "DRAFT") {
        void reply
          .code(400)
          .send(
            flowError(139004, "Flow can't be deleted", `Only a DRAFT flow can be deleted; this flow is ${f.status}.`),
          );
      } else {
        s().flows.delete(id);
        void reply.send({ success: true });
      }
      return true;
    },
  });

  app.post<{ Params: { phone: string } }>("/:version/:phone/whatsapp_business_encryption", async (request, reply) => {
    if (!authorised(request, reply)) return reply;
    const body = (request.body ?? {}) as Record<string, unknown>;
    let key = body.business_public_key;
    if (Buffer.isBuffer(request.body)) {
      const form = await new Response(request.body, {
        headers: { "content-type": request.headers["content-type"] ?? "" },
      }).formData();
      key = form.get("business_public_key");
    }
    if (typeof key !== "string" || !/^-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----\s*$/.test(key.trim()))
      return invalid(reply, "business_public_key must be a PEM public key (2048-bit RSA)");
    s().publicKeys.set(request.params.phone, key.trim());
    return { success: true };
  });

  app.get<{ Params: { phone: string } }>("/:version/:phone/whatsapp_business_encryption", async (request, reply) => {
    if (!authorised(request, reply)) return reply;
    const key = s().publicKeys.get(request.params.phone);
    return {
      data: key ? [{ business_public_key: key, business_public_key_signature_status: "VALID" }] : [],
    };
  });

  /** The flows the simulator holds for a WABA (tests): `GET /_sim/flows?wabaId=`. */
  app.get<{ Querystring: { wabaId?: string } }>("/_sim/flows", (request) => ({
    flows: [...s().flows.values()]
      .filter((f) => !request.query.wabaId || f.wabaId === request.query.wabaId)
      .map((f) => ({ ...flowJsonView(f), endpointUri: f.endpointUri, hasJson: f.json !== null })),
  }));

  done();
};

function jsonVersion(json: string | null): string | null {
  if (!json) return null;
  try {
    const v = (JSON.parse(json) as { version?: unknown }).version;
    return typeof v === "string" ? v : null;
  } catch {
    return null;
  }
}
