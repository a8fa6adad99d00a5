import { createHash } from "node:crypto";
import type { Types } from "mongoose";
import type { ClientDoc, Database, FlowEndpointRepository, InterviewSlot } from "@linkojob/db";
import type { TokenVault } from "@linkojob/vault";
import {
  GraphApiError,
  checkFlowJson,
  createFlow,
  deleteFlow,
  deprecateFlow,
  flowJsonSchema,
  flowJsonUsesEndpoint,
  generateFlowKeyPair,
  isGraphError,
  listFlows,
  publishFlow,
  setBusinessPublicKey,
  updateFlowMetadata,
  uploadFlowJson,
  type FlowValidationError,
  type GraphClient,
  type GraphFlow,
} from "@linkojob/whatsapp";
import { FlowError } from "./flow-error.js";

/**
 * The use cases behind the flows routes: each reads the tenant's client (its WABA, number and
 * decrypted token), calls the Graph API, and turns Meta's answer into ours:
 * - a Flow JSON is checked locally first (FLOW_JSON_INVALID naming each problem, nothing sent);
 * - Meta's `validation_errors` on an upload are returned as they are (META_VALIDATION_ERRORS; the
 *   flow exists at Meta as a draft holding that JSON);
 * - a Meta refusal (4xx with a Graph error: 139002 publish, 139003 deprecate, 139004 delete, 100…) is
 *   META_REFUSED carrying Meta's code, subcode, message, details and fbtrace id;
 * - no answer from Meta (5xx, network, timeout) is META_UNAVAILABLE.
 * The codes are FlowError's; the ingress's error table gives their statuses (400, 422, 422, 502).
 * Tokens never leave: the Graph client scrubs them from errors, and answers carry none.
 */

export interface FlowManagementDeps {
  db: Database;
  endpoints: FlowEndpointRepository;
  graph: GraphClient;
  vault: TokenVault;
  /** The ingress's public URL (BASE_URL): the flows' data-exchange endpoint is under it. */
  baseUrl: string;
}

export interface FlowView {
  id: string;
  name: string;
  status: string;
  categories: string[];
  validationErrors: FlowValidationError[];
}

export interface KeyView {
  keyId: string;
  publicKey: string;
  createdAt: string;
  uploadedAt: string | null;
}

const flowView = (f: GraphFlow): FlowView => ({
  id: f.id,
  name: f.name,
  status: f.status,
  categories: f.categories,
  validationErrors: f.validation_errors,
});

/** The data-exchange endpoint of a number, as Meta's clients call it. */
export const dataExchangePath = (phoneNumberId: string) => `/flows/data-exchange/${encodeURIComponent(phoneNumberId)}`;

export class FlowManagement {
  constructor(private readonly deps: FlowManagementDeps) {}

  /** The client with a working connection, and its decrypted token. */
  private async connected(clientId: Types.ObjectId): Promise<{ client: ClientDoc; token: string }> {
    const client = await this.deps.db.clients.findById(clientId).lean<ClientDoc>();
    if (!client?.accessToken || client.status !== "active") throw new FlowError("CLIENT_NOT_CONNECTED");
    return { client, token: this.deps.vault.decrypt(client.accessToken, client._id.toHexString()) };
  }

  endpointUri(client: Pick<ClientDoc, "phoneNumberId">): string {
    return this.deps.baseUrl.replace(/\/+$/, "") + dataExchangePath(client.phoneNumberId);
  }

  async list(clientId: Types.ObjectId): Promise<FlowView[]> {
    const { client, token } = await this.connected(clientId);
    const flows = await metaCall("list the flows", () => listFlows(this.deps.graph, { wabaId: client.wabaId, token }));
    return flows.map(flowView);
  }

  async create(
    clientId: Types.ObjectId,
    input: { name: string; categories: string[]; flowJson?: unknown },
  ): Promise<{ id: string; validationErrors: FlowValidationError[]; endpointUri: string | null }> {
    const json = input.flowJson === undefined ? undefined : checked(input.flowJson);
    const { client, token } = await this.connected(clientId);
    const endpointUri = json && flowJsonUsesEndpoint(json) ? this.endpointUri(client) : undefined;
    const created = await metaCall("create the flow", () =>
      createFlow(this.deps.graph, {
        wabaId: client.wabaId,
        token,
        name: input.name,
        categories: input.categories,
        ...(json ? { flowJson: JSON.stringify(json) } : {}),
        ...(endpointUri ? { endpointUri } : {}),
      }),
    );
    if (created.validationErrors.length)
      throw metaValidation(created.validationErrors, created.id, "the flow was created as a draft, but");
    return { id: created.id, validationErrors: [], endpointUri: endpointUri ?? null };
  }

  async uploadJson(
    clientId: Types.ObjectId,
    flowId: string,
    flowJson: unknown,
  ): Promise<{ id: string; validationErrors: FlowValidationError[]; endpointUri: string | null }> {
    const json = checked(flowJson);
    const { client, token } = await this.connected(clientId);
    const endpointUri = flowJsonUsesEndpoint(json) ? this.endpointUri(client) : null;
    if (endpointUri)
      await metaCall("set the flow's endpoint", () =>
        updateFlowMetadata(this.deps.graph, { flowId, token, endpointUri }),
      );
    const res = await metaCall("upload the Flow JSON", () =>
      uploadFlowJson(this.deps.graph, { flowId, token, flowJson: JSON.stringify(json) }),
    );
    if (res.validationErrors.length)
      throw metaValidation(res.validationErrors, flowId, "the Flow JSON was uploaded, but");
    return { id: flowId, validationErrors: [], endpointUri };
  }

  async updateMetadata(
    clientId: Types.ObjectId,
    flowId: string,
    input: { name?: string | undefined; categories?: string[] | undefined },
  ): Promise<void> {
    const { token } = await this.connected(clientId);
    await metaCall("update the flow", () =>
      updateFlowMetadata(this.deps.graph, {
        flowId,
        token,
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.categories !== undefined ? { categories: input.categories } : {}),
      }),
    );
  }

  async publish(clientId: Types.ObjectId, flowId: string): Promise<void> {
    const { token } = await this.connected(clientId);
    await metaCall("publish the flow", () => publishFlow(this.deps.graph, { flowId, token }));
  }

  async deprecate(clientId: Types.ObjectId, flowId: string): Promise<void> {
    const { token } = await this.connected(clientId);
    await metaCall("deprecate the flow", () => deprecateFlow(this.deps.graph, { flowId, token }));
  }

  async remove(clientId: Types.ObjectId, flowId: string): Promise<void> {
    const { token } = await this.connected(clientId);
    await metaCall("delete the flow", () => deleteFlow(this.deps.graph, { flowId, token }));
  }

  /**
   * A new business key pair for the client's number: generated (2048-bit RSA), its private key stored
   * encrypted by the vault (bound to the client), then its public key set at Meta. Until Meta accepts
   * it the previous key stays the one in use.
   */
  async rotateKey(clientId: Types.ObjectId): Promise<KeyView> {
    const { client, token } = await this.connected(clientId);
    const pair = generateFlowKeyPair();
    const keyId = createHash("sha256").update(pair.publicKey).digest("hex").slice(0, 16);
    const createdAt = new Date();
    await this.deps.endpoints.addKey(client._id, {
      keyId,
      publicKey: pair.publicKey,
      privateKey: this.deps.vault.encrypt(pair.privateKey, client._id.toHexString()),
      createdAt,
      uploadedAt: null,
    });
    await metaCall("set the business public key", () =>
      setBusinessPublicKey(this.deps.graph, {
        phoneNumberId: client.phoneNumberId,
        token,
        publicKeyPem: pair.publicKey,
      }),
    );
    const uploadedAt = new Date();
    await this.deps.endpoints.markUploaded(client._id, keyId, uploadedAt);
    return {
      keyId,
      publicKey: pair.publicKey,
      createdAt: createdAt.toISOString(),
      uploadedAt: uploadedAt.toISOString(),
    };
  }

  async keys(clientId: Types.ObjectId): Promise<KeyView[]> {
    const doc = await this.deps.endpoints.get(clientId);
    return (doc?.keys ?? []).map((k) => ({
      keyId: k.keyId,
      publicKey: k.publicKey,
      createdAt: new Date(k.createdAt).toISOString(),
      uploadedAt: k.uploadedAt ? new Date(k.uploadedAt).toISOString() : null,
    }));
  }

  async setInterviewSlots(clientId: Types.ObjectId, slots: InterviewSlot[]): Promise<void> {
    await this.deps.endpoints.setInterviewSlots(clientId, slots);
  }

  async interviewSlots(clientId: Types.ObjectId): Promise<InterviewSlot[]> {
    return (await this.deps.endpoints.get(clientId))?.interviewSlots ?? [];
  }
}

/** The Flow JSON, checked: FLOW_JSON_INVALID naming every problem otherwise. */
function checked(flowJson: unknown) {
  const problems = checkFlowJson(flowJson);
  if (problems.length)
    throw new FlowError(
      "FLOW_JSON_INVALID",
      `the Flow JSON has ${problems.length} problem${problems.length > 1 ? "s" : ""}: ${problems
        .slice(0, 5)
        .map((p) => `${p.path || "(document)"}: ${p.message}`)
        .join("; ")}`,
      problems,
    );
  return flowJsonSchema.parse(flowJson);
}

function metaValidation(errors: FlowValidationError[], flowId: string, what: string): FlowError {
  return new FlowError(
    "META_VALIDATION_ERRORS",
    `${what} Meta found ${errors.length} validation error${errors.length > 1 ? "s" : ""} in it: ${errors
      .slice(0, 3)
      .map((e) => e.message)
      .join("; ")}`,
    { flowId, validationErrors: errors },
  );
}

/** Runs a Graph call; Meta's refusal is META_REFUSED with Meta's error, no answer META_UNAVAILABLE. */
async function metaCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof GraphApiError && err.httpStatus >= 400 && err.httpStatus < 500) {
      throw new FlowError(
        "META_REFUSED",
        `Meta refused to ${what}: ${err.message}${err.details ? ` (${err.details})` : ""}`,
        {
          metaCode: err.code,
          metaSubcode: err.subcode,
          title: err.title,
          metaDetails: err.details,
          fbtraceId: err.fbtraceId,
        },
      );
    }
    if (isGraphError(err))
      throw new FlowError("META_UNAVAILABLE", `Meta did not answer the call to ${what}: ${err.message}`, {
        ...(err instanceof GraphApiError ? { metaCode: err.code, fbtraceId: err.fbtraceId } : {}),
      });
    throw err;
  }
}
