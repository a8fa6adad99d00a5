import { FormData } from "undici";
import { graphPath, type GraphClient } from "./graph-client.js";
import { GraphResponseError } from "./graph-errors.js";

/**
 * The WhatsApp Flows management calls of the Graph API (Meta's Flows API reference):
 * - `GET /{waba-id}/flows` → `{ data: [{ id, name, status, categories, validation_errors }], paging }`;
 * - `POST /{waba-id}/flows` (name, categories, optional flow_json, endpoint_uri) → `{ id, success, validation_errors? }`;
 * - `POST /{flow-id}/assets` (multipart: `file` = flow.json, `name=flow.json`, `asset_type=FLOW_JSON`)
 *   → `{ success, validation_errors }`;
 * - `POST /{flow-id}/publish`, `POST /{flow-id}/deprecate`, `DELETE /{flow-id}` (drafts only) → `{ success }`;
 * - `POST /{phone-number-id}/whatsapp_business_encryption` (`business_public_key`) → `{ success }`: the
 *   number's public key, with which Meta's clients encrypt data-exchange requests.
 * Meta refuses with its error codes (139001 upload, 139002 publish, 139003 deprecate, 139004 delete),
 * thrown as GraphApiError like every other call.
 */

/** Meta's flow categories. */
export const FLOW_CATEGORIES = [
  "SIGN_UP",
  "SIGN_IN",
  "APPOINTMENT_BOOKING",
  "LEAD_GENERATION",
  "CONTACT_US",
  "CUSTOMER_SUPPORT",
  "SURVEY",
  "OTHER",
] as const;
export type FlowCategory = (typeof FLOW_CATEGORIES)[number];

/** One error of Meta's validation of a Flow JSON, as Meta gives it. */
export interface FlowValidationError {
  error: string;
  error_type: string;
  message: string;
  line_start?: number;
  line_end?: number;
  column_start?: number;
  column_end?: number;
  pointers?: Array<{
    line_start?: number;
    line_end?: number;
    column_start?: number;
    column_end?: number;
    path?: string;
  }>;
  [k: string]: unknown;
}

export interface GraphFlow {
  id: string;
  name: string;
  status: string;
  categories: string[];
  validation_errors: FlowValidationError[];
  [k: string]: unknown;
}

interface FlowsPage {
  data?: GraphFlow[];
  paging?: { cursors?: { after?: string }; next?: string };
}

type Auth = { token: string };

const validationErrorsOf = (res: { validation_errors?: unknown } | undefined): FlowValidationError[] =>
  Array.isArray(res?.validation_errors) ? (res.validation_errors as FlowValidationError[]) : [];

/** Every flow of a WABA, following the `after` cursor while Meta gives a next page. */
export async function listFlows(
  graph: GraphClient,
  input: Auth & { wabaId: string },
  options: { pageSize?: number; maxPages?: number } = {},
): Promise<GraphFlow[]> {
  const out: GraphFlow[] = [];
  let after: string | undefined;
  for (let page = 0; page < (options.maxPages ?? 20); page++) {
    const res = await graph.get<FlowsPage>(graphPath(input.wabaId, "flows"), {
      token: input.token,
      query: { fields: "id,name,status,categories,validation_errors", limit: options.pageSize ?? 100, after },
    });
    for (const f of res?.data ?? [])
      if (f && typeof f.id === "string")
        out.push({
          ...f,
          categories: Array.isArray(f.categories) ? f.categories : [],
          validation_errors: validationErrorsOf(f),
        });
    const next = res?.paging?.cursors?.after;
    if (!res?.paging?.next || !next) break;
    after = next;
  }
  return out;
}

/** Creates a flow (DRAFT); with `flowJson`, Meta validates it at once and answers its validation errors. */
export async function createFlow(
  graph: GraphClient,
  input: Auth & { wabaId: string; name: string; categories: string[]; flowJson?: string; endpointUri?: string },
): Promise<{ id: string; validationErrors: FlowValidationError[] }> {
  const res = await graph.post<{ id?: string; validation_errors?: unknown }>(graphPath(input.wabaId, "flows"), {
    token: input.token,
    json: {
      name: input.name,
      categories: input.categories,
      ...(input.flowJson !== undefined ? { flow_json: input.flowJson } : {}),
      ...(input.endpointUri !== undefined ? { endpoint_uri: input.endpointUri } : {}),
    },
  });
  if (!res || typeof res.id !== "string" || !res.id)
    throw new GraphResponseError("the flow creation answer has no id", `POST ${input.wabaId}/flows`, 200);
  return { id: res.id, validationErrors: validationErrorsOf(res) };
}

/** Uploads a flow's JSON as Meta's reference shows: multipart, `name=flow.json`, `asset_type=FLOW_JSON`. */
export async function uploadFlowJson(
  graph: GraphClient,
  input: Auth & { flowId: string; flowJson: string },
): Promise<{ validationErrors: FlowValidationError[] }> {
  const form = new FormData();
  form.set("name", "flow.json");
  form.set("asset_type", "FLOW_JSON");
  form.set("file", new Blob([input.flowJson], { type: "application/json" }), "flow.json");
  const res = await graph.post<{ success?: boolean; validation_errors?: unknown }>(graphPath(input.flowId, "assets"), {
    token: input.token,
    body: form as unknown as globalThis.FormData,
  });
  return { validationErrors: validationErrorsOf(res) };
}

/** Updates a flow's metadata: its name, categories, data-exchange endpoint. */
export async function updateFlowMetadata(
  graph: GraphClient,
  input: Auth & { flowId: string; endpointUri?: string; name?: string; categories?: string[] },
): Promise<void> {
  await graph.post(graphPath(input.flowId), {
    token: input.token,
    json: {
      ...(input.endpointUri !== undefined ? { endpoint_uri: input.endpointUri } : {}),
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.categories !== undefined ? { categories: input.categories } : {}),
    },
  });
}

export const publishFlow = (graph: GraphClient, input: Auth & { flowId: string }) =>
  graph.post<{ success?: boolean }>(graphPath(input.flowId, "publish"), { token: input.token }).then(() => undefined);

export const deprecateFlow = (graph: GraphClient, input: Auth & { flowId: string }) =>
  graph.post<{ success?: boolean }>(graphPath(input.flowId, "deprecate"), { token: input.token }).then(() => undefined);

export const deleteFlow = (graph: GraphClient, input: Auth & { flowId: string }) =>
  graph.delete<{ success?: boolean }>(graphPath(input.flowId), { token: input.token }).then(() => undefined);

/** Sets the number's business public key (PEM), with which Meta's clients encrypt data-exchange requests. */
export async function setBusinessPublicKey(
  graph: GraphClient,
  input: Auth & { phoneNumberId: string; publicKeyPem: string },
): Promise<void> {
  await graph.post(graphPath(input.phoneNumberId, "whatsapp_business_encryption"), {
    token: input.token,
    form: { business_public_key: input.publicKeyPem },
  });
}
