import { constants, createCipheriv, createDecipheriv, createHmac, publicEncrypt, randomBytes } from "node:crypto";
import { request } from "undici";
import type { MetaSimulator } from "../simulator.js";
import { flowsState } from "../graph/flows.routes.js";

/**
 * Meta's flow client, as the WhatsApp app acts toward a business's data-exchange endpoint: it wraps a
 * fresh 128-bit AES key with the number's business public key (RSA-OAEP, SHA-256), encrypts the
 * request JSON with AES-128-GCM (16-byte IV, tag appended), signs the body with the app secret in
 * `X-Hub-Signature-256`, and decrypts the answer with the same key and the IV with every bit flipped.
 * Written apart from the gateway's own decryption (with Node's crypto, as Meta's sample), so a round
 * trip through both checks one against the other.
 */

export interface FlowEndpointRequest {
  version?: string;
  action: "ping" | "INIT" | "BACK" | "data_exchange";
  screen?: string;
  data?: Record<string, unknown>;
  flow_token?: string;
}

export interface EncryptedRequest {
  body: { encrypted_flow_data: string; encrypted_aes_key: string; initial_vector: string };
  aesKey: Buffer;
  iv: Buffer;
}

/** Encrypts a request as Meta's client does, with the number's public key (PEM). */
export function encryptFlowRequest(payload: unknown, publicKeyPem: string): EncryptedRequest {
  const aesKey = randomBytes(16);
  const iv = randomBytes(16);
  const cipher = createCipheriv("aes-128-gcm", aesKey, iv);
  const data = Buffer.concat([cipher.update(JSON.stringify(payload), "utf8"), cipher.final(), cipher.getAuthTag()]);
  const wrapped = publicEncrypt(
    { key: publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" },
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

/** Decrypts an endpoint's answer (base64 text) with the request's key and flipped IV. */
export function decryptFlowResponse(text: string, aesKey: Buffer, iv: Buffer): unknown {
  const bytes = Buffer.from(text, "base64");
  const flipped = Buffer.from(iv.map((b) => ~b & 0xff));
  const decipher = createDecipheriv("aes-128-gcm", aesKey, flipped);
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  const plain = Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]);
  return JSON.parse(plain.toString("utf8"));
}

export interface FlowEndpointAnswer {
  status: number;
  contentType: string | undefined;
  /** The raw body. */
  text: string;
  /** The decrypted answer, when the status is 200. */
  response?: unknown;
}

export interface FlowCallOptions {
  /** Sign with this secret instead of the simulator's app secret (a forged signature). */
  appSecret?: string;
  /** Send this body instead of the encrypted request (garbage). */
  rawBody?: string;
  /** Encrypt with this public key instead of the one uploaded for the number. */
  publicKeyPem?: string;
}

/**
 * Calls a data-exchange endpoint as Meta's client would for `phoneNumberId`, with the public key the
 * business uploaded for that number (`POST /{phone-number-id}/whatsapp_business_encryption`).
 */
export async function callFlowEndpoint(
  sim: MetaSimulator,
  input: { endpointUrl: string; phoneNumberId: string; payload: FlowEndpointRequest },
  options: FlowCallOptions = {},
): Promise<FlowEndpointAnswer> {
  const key = options.publicKeyPem ?? flowsState(sim.state).publicKeys.get(input.phoneNumberId);
  if (!key) throw new Error(`no business public key was uploaded for ${input.phoneNumberId}`);
  const encrypted = encryptFlowRequest({ version: "3.0", ...input.payload }, key);
  const raw = options.rawBody ?? JSON.stringify(encrypted.body);
  const signature = createHmac("sha256", options.appSecret ?? sim.options.appSecret)
    .update(raw)
    .digest("hex");
  const res = await request(input.endpointUrl, {
    method: "POST",
    headers: { "content-type": "application/json", "x-hub-signature-256": `sha256=${signature}` },
    body: raw,
  });
  const text = await res.body.text();
  const contentType = res.headers["content-type"] as string | undefined;
  return {
    status: res.statusCode,
    contentType,
    text,
    ...(res.statusCode === 200 ? { response: decryptFlowResponse(text, encrypted.aesKey, encrypted.iv) } : {}),
  };
}
