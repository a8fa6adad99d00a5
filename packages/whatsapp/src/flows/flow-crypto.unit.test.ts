import { constants, createCipheriv, createDecipheriv, publicEncrypt, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  FlowDecryptError,
  decryptFlowRequest,
  encryptFlowResponse,
  flippedIv,
  generateFlowKeyPair,
} from "./flow-crypto.js";
import { checkFlowJson, flowJsonUsesEndpoint, flowJsonSchema } from "./flow-json.js";

/** Meta's client side, written with Node's crypto as in Meta's "Implementing your Flow endpoint" sample. */
function metaClientEncrypt(payload: unknown, publicKey: string) {
  const aesKey = randomBytes(16);
  const iv = randomBytes(16);
  const cipher = createCipheriv("aes-128-gcm", aesKey, iv);
  const data = Buffer.concat([cipher.update(JSON.stringify(payload), "utf8"), cipher.final(), cipher.getAuthTag()]);
  const wrapped = publicEncrypt(
    { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" },
    aesKey,
  );
  return {
    body: {
      encrypted_flow_data: data.toString("base64"),
      encrypted_aes_key: wrapped.toString("base64"),
      initial_vector: iv.toString("base64"),
    },
    aesKey,
    iv,
  };
}

function metaClientDecrypt(text: string, aesKey: Buffer, iv: Buffer): unknown {
  const bytes = Buffer.from(text, "base64");
  const flipped = Buffer.alloc(iv.length);
  for (const [i, b] of iv.entries()) flipped[i] = ~b;
  const decipher = createDecipheriv("aes-128-gcm", aesKey, flipped);
  decipher.setAuthTag(bytes.subarray(-16));
  return JSON.parse(Buffer.concat([decipher.update(bytes.subarray(0, -16)), decipher.final()]).toString("utf8"));
}

const pair = generateFlowKeyPair();
const other = generateFlowKeyPair();

describe("flow data-exchange encryption", () => {
  it("generates a 2048-bit RSA pair in PEM", () => {
    expect(pair.publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(pair.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    // 2048-bit RSA: the OAEP-wrapped key is 256 bytes.
    expect(Buffer.from(metaClientEncrypt({}, pair.publicKey).body.encrypted_aes_key, "base64")).toHaveLength(256);
  });

  it("decrypts what Meta's client encrypts and answers what it decrypts (key, flipped IV, tag appended)", () => {
    const payload = { version: "3.0", action: "INIT", flow_token: "lj1.123.INIT.abc", data: { é: "entretien 🗓" } };
    const req = metaClientEncrypt(payload, pair.publicKey);
    const got = decryptFlowRequest(req.body, [pair.privateKey]);
    expect(got.payload).toEqual(payload);
    expect(got.aesKey.equals(req.aesKey)).toBe(true);
    const answer = { screen: "SLOTS", data: { slots: [{ id: "s1", title: "Jeudi 10:00" }] } };
    const text = encryptFlowResponse(answer, got.aesKey, got.iv);
    expect(text).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(metaClientDecrypt(text, req.aesKey, req.iv)).toEqual(answer);
    expect(flippedIv(Buffer.from([0x00, 0xff, 0x0f]))).toEqual(Buffer.from([0xff, 0x00, 0xf0]));
  });

  it("tries each key: the previous key still opens a request encrypted before a rotation", () => {
    const req = metaClientEncrypt({ action: "ping" }, other.publicKey);
    expect(decryptFlowRequest(req.body, [pair.privateKey, other.privateKey]).payload).toEqual({ action: "ping" });
  });

  it("refuses, as FlowDecryptError, a wrong key, a changed byte, and bodies that are not Meta's", () => {
    const req = metaClientEncrypt({ action: "ping" }, pair.publicKey);
    expect(() => decryptFlowRequest(req.body, [other.privateKey])).toThrow(FlowDecryptError);
    const data = Buffer.from(req.body.encrypted_flow_data, "base64");
    data[0] = data[0]! ^ 1;
    expect(() =>
      decryptFlowRequest({ ...req.body, encrypted_flow_data: data.toString("base64") }, [pair.privateKey]),
    ).toThrow(/authentication/);
    expect(() => decryptFlowRequest({ hello: "world" }, [pair.privateKey])).toThrow(FlowDecryptError);
    expect(() => decryptFlowRequest("garbage", [pair.privateKey])).toThrow(FlowDecryptError);
    expect(() => decryptFlowRequest({ ...req.body, initial_vector: "!!" }, [pair.privateKey])).toThrow(
      FlowDecryptError,
    );
    expect(() => decryptFlowRequest(req.body, [])).toThrow(FlowDecryptError);
  });
});

const screen = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  title: id,
  layout: { type: "SingleColumnLayout", children: [{ type: "TextBody", text: "Bonjour" }] },
  ...extra,
});

describe("Flow JSON top level", () => {
  it("accepts a static flow and a data-exchange flow with its routing model", () => {
    expect(checkFlowJson({ version: "7.1", screens: [screen("FORM", { terminal: true })] })).toEqual([]);
    const dynamic = {
      version: "7.1",
      data_api_version: "3.0",
      routing_model: { SLOTS: ["CONFIRM"], CONFIRM: [] },
      screens: [
        screen("SLOTS", {
          layout: {
            type: "SingleColumnLayout",
            children: [{ type: "Footer", "on-click-action": { name: "data_exchange", payload: {} } }],
          },
        }),
        screen("CONFIRM", { terminal: true }),
      ],
    };
    expect(checkFlowJson(dynamic)).toEqual([]);
    expect(flowJsonUsesEndpoint(flowJsonSchema.parse(dynamic))).toBe(true);
  });

  it("names each problem with its path", () => {
    expect(checkFlowJson({ screens: [] })).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: "version" }),
        expect.objectContaining({ path: "screens", message: "a flow has at least one screen" }),
      ]),
    );
    const problems = checkFlowJson({
      version: "7.1",
      screens: [screen("A"), screen("A"), { id: "SUCCESS", layout: { type: "Column", children: [] } }],
    });
    const paths = problems.map((p) => `${p.path}: ${p.message}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        "screens.1.id: screen id A is used twice",
        "screens.2.id: SUCCESS is a screen id Meta reserves",
        'screens.2.layout.type: layout.type must be "SingleColumnLayout"',
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(3);
  });

  it("asks a flow with a data_exchange action for data_api_version and a routing model over its own screens", () => {
    const problems = checkFlowJson({
      version: "7.1",
      screens: [
        screen("SLOTS", {
          terminal: true,
          layout: { type: "SingleColumnLayout", children: [{ "on-click-action": { name: "data_exchange" } }] },
        }),
      ],
    });
    expect(problems.map((p) => p.path).sort()).toEqual(["data_api_version", "routing_model"]);
    const routes = checkFlowJson({
      version: "7.1",
      data_api_version: "3.0",
      routing_model: { SLOTS: ["NOWHERE"] },
      screens: [screen("SLOTS", { terminal: true })],
    });
    expect(routes).toEqual([
      { path: "routing_model.SLOTS", message: "routing_model routes SLOTS to an unknown screen NOWHERE" },
    ]);
  });
});
