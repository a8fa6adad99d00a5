import { createPrivateKey, privateDecrypt, constants } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GraphApiError,
  GraphClient,
  createFlow,
  deleteFlow,
  deprecateFlow,
  generateFlowKeyPair,
  listFlows,
  publishFlow,
  setBusinessPublicKey,
  uploadFlowJson,
} from "@linkojob/whatsapp";
import { MetaSimulator } from "../simulator.js";
import { decryptFlowResponse, encryptFlowRequest } from "../flows/flow-client.js";
import { flowsState } from "./flows.routes.js";

/**
 * The Flows calls of @linkojob/whatsapp (flows-api.ts) against the simulator's flows area, over real
 * HTTP: statuses DRAFT → PUBLISHED → DEPRECATED, Meta's validation errors and error codes, paging,
 * the GET and DELETE of a flow by id beside the media area's ids, the business public key.
 */
let sim: MetaSimulator;
let graph: GraphClient;
const token = "EAAG-flows-test-token";
const waba = "102290129340398";

beforeAll(async () => {
  sim = await MetaSimulator.create({ appSecret: "sim-flows-test-secret" });
  await sim.listen();
  graph = new GraphClient({ baseUrl: sim.url, version: "v26.0" });
});
afterAll(async () => {
  await graph?.close();
  await sim?.close();
});

const good = JSON.stringify({
  version: "7.1",
  screens: [
    { id: "A", terminal: true, layout: { type: "SingleColumnLayout", children: [{ type: "TextBody", text: "x" }] } },
  ],
});

const metaError = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GraphApiError);
  return err as GraphApiError;
};

describe("flows API against the simulator", () => {
  it("walks a flow through its statuses, with Meta's refusals at each wrong step", async () => {
    const { id, validationErrors } = await createFlow(graph, {
      wabaId: waba,
      token,
      name: "f1",
      categories: ["SURVEY"],
    });
    expect(validationErrors).toEqual([]);
    expect((await metaError(publishFlow(graph, { flowId: id, token }))).code).toBe(139002); // no JSON yet
    expect((await metaError(deprecateFlow(graph, { flowId: id, token }))).code).toBe(139003);

    const bad = await uploadFlowJson(graph, { flowId: id, token, flowJson: "{ not json" });
    expect(bad.validationErrors).toEqual([expect.objectContaining({ error: "INVALID_JSON" })]);
    expect((await metaError(publishFlow(graph, { flowId: id, token }))).details).toContain("validation errors");

    expect((await uploadFlowJson(graph, { flowId: id, token, flowJson: good })).validationErrors).toEqual([]);
    await publishFlow(graph, { flowId: id, token });
    expect((await metaError(uploadFlowJson(graph, { flowId: id, token, flowJson: good }))).code).toBe(139001);
    expect((await metaError(deleteFlow(graph, { flowId: id, token }))).code).toBe(139004);
    await deprecateFlow(graph, { flowId: id, token });
    expect(flowsState(sim.state).flows.get(id)?.status).toBe("DEPRECATED");

    // GET /{flow-id} is served beside the media area's GET /{media-id}.
    expect(await graph.get(id, { token })).toMatchObject({ id, status: "DEPRECATED", json_version: "7.1" });
    const unknown = await metaError(publishFlow(graph, { flowId: "123", token }));
    expect(unknown).toMatchObject({ code: 100, subcode: 33 });
  });

  it("lists a WABA's flows only, across pages; refuses a bad category and a revoked token", async () => {
    const other = "998877";
    for (let i = 0; i < 3; i++) await createFlow(graph, { wabaId: other, token, name: `p${i}`, categories: ["OTHER"] });
    const all = await listFlows(graph, { wabaId: other, token }, { pageSize: 2 });
    expect(all.map((f) => f.name)).toEqual(["p0", "p1", "p2"]);
    expect(sim.state.requestsTo(new RegExp(`/${other}/flows$`), "GET")).toHaveLength(2);
    const bad = await metaError(createFlow(graph, { wabaId: other, token, name: "x", categories: ["NOPE"] }));
    expect(bad.code).toBe(100);
    const deleted = await createFlow(graph, { wabaId: other, token, name: "gone", categories: ["OTHER"] });
    await deleteFlow(graph, { flowId: deleted.id, token });
    expect((await listFlows(graph, { wabaId: other, token })).map((f) => f.name)).not.toContain("gone");
    expect((await metaError(listFlows(graph, { wabaId: other, token: "" }))).code).toBe(190);
  });

  it("a create with a flow_json validates it at once and names where each error is", async () => {
    const json = JSON.stringify(
      { version: "7.1", screens: [{ id: "A", layout: { type: "SingleColumnLayout", children: [{ type: "Nope" }] } }] },
      null,
      2,
    );
    const { validationErrors } = await createFlow(graph, {
      wabaId: waba,
      token,
      name: "f2",
      categories: ["OTHER"],
      flowJson: json,
    });
    expect(validationErrors).toEqual([
      expect.objectContaining({
        error: "INVALID_PROPERTY_VALUE",
        line_start: json.split("\n").findIndex((l) => l.includes('"Nope"')) + 1,
        pointers: [expect.objectContaining({ path: "screens[0].layout.children[0].type" })],
      }),
      expect.objectContaining({ error: "MISSING_TERMINAL_SCREEN" }),
    ]);
  });

  it("keeps the business public key a client encrypts with, and refuses what is not a PEM key", async () => {
    const pair = generateFlowKeyPair();
    await setBusinessPublicKey(graph, { phoneNumberId: "555000111", token, publicKeyPem: pair.publicKey });
    expect(await graph.get("555000111/whatsapp_business_encryption", { token })).toEqual({
      data: [{ business_public_key: pair.publicKey.trim(), business_public_key_signature_status: "VALID" }],
    });
    const refused = await metaError(
      setBusinessPublicKey(graph, { phoneNumberId: "555000111", token, publicKeyPem: "x" }),
    );
    expect(refused.code).toBe(100);

    // The flow client's request opens with the private key, as Meta's documentation says it is built.
    const req = encryptFlowRequest({ action: "ping" }, pair.publicKey);
    const aesKey = privateDecrypt(
      { key: createPrivateKey(pair.privateKey), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" },
      Buffer.from(req.body.encrypted_aes_key, "base64"),
    );
    expect(aesKey.equals(req.aesKey)).toBe(true);
    expect(Buffer.from(req.body.initial_vector, "base64")).toHaveLength(16);
    expect(() => decryptFlowResponse("AAAA", req.aesKey, req.iv)).toThrow();
  });
});
