import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  generateKeyPairSync,
  privateDecrypt,
  type KeyObject,
} from "node:crypto";
import { z } from "zod";

/**
 * The encryption of a WhatsApp Flows data-exchange request and its answer, as Meta's "Implementing
 * your Flow endpoint" guide specifies it (and its Node.js sample does it):
 * - the body is `{ encrypted_flow_data, encrypted_aes_key, initial_vector }`, each base64;
 * - `encrypted_aes_key` is a 128-bit AES key encrypted with the business's RSA public key
 *   (RSA-OAEP, SHA-256 for both the hash and MGF1): decrypted with the number's private key;
 * - `encrypted_flow_data` is the request JSON encrypted with AES-128-GCM under that key and
 *   `initial_vector`, its last 16 bytes the authentication tag;
 * - the answer is the response JSON encrypted with AES-128-GCM under the same key and the IV with
 *   every bit flipped, the tag appended, all base64, sent as the plain-text body.
 * A request that cannot be decrypted is answered HTTP 421 (Meta's client then fetches the public key
 * again and retries): FlowDecryptError marks it.
 */

const TAG_BYTES = 16;
const AES_KEY_BYTES = 16;

export const encryptedFlowRequestSchema = z.looseObject({
  encrypted_flow_data: z.string().min(1),
  encrypted_aes_key: z.string().min(1),
  initial_vector: z.string().min(1),
});
export type EncryptedFlowRequest = z.infer<typeof encryptedFlowRequestSchema>;

/** The request cannot be decrypted (wrong key, changed bytes, not Meta's shape): HTTP 421. */
export class FlowDecryptError extends Error {
  static readonly errorCode = "FLOW_ERR_DECRYPT";
  constructor(message: string) {
    super(message);
    this.name = "FlowDecryptError";
  }
}

/** What a decrypted request carries: the payload and what its answer is encrypted with. */
export interface DecryptedFlowRequest {
  payload: unknown;
  aesKey: Buffer;
  iv: Buffer;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
function base64(value: string, what: string): Buffer {
  if (!BASE64.test(value)) throw new FlowDecryptError(`${what} is not base64`);
  return Buffer.from(value, "base64");
}

/**
 * Decrypts a data-exchange request with the first of `privateKeys` that opens its AES key (the
 * current key first; the previous one stays usable while Meta's clients still hold it).
 */
export function decryptFlowRequest(body: unknown, privateKeys: readonly (KeyObject | string)[]): DecryptedFlowRequest {
  const parsed = encryptedFlowRequestSchema.safeParse(body);
  if (!parsed.success)
    throw new FlowDecryptError("the body is not { encrypted_flow_data, encrypted_aes_key, initial_vector }");
  const wrappedKey = base64(parsed.data.encrypted_aes_key, "encrypted_aes_key");
  const data = base64(parsed.data.encrypted_flow_data, "encrypted_flow_data");
  const iv = base64(parsed.data.initial_vector, "initial_vector");
  if (iv.length < 12 || iv.length > 16) throw new FlowDecryptError("initial_vector must be 12 to 16 bytes");
  if (data.length <= TAG_BYTES) throw new FlowDecryptError("encrypted_flow_data is too short to hold a tag");

  let aesKey: Buffer | null = null;
  for (const key of privateKeys) {
    try {
      aesKey = privateDecrypt(
        {
          key: typeof key === "string" ? createPrivateKey(key) : key,
          padding: constants.RSA_PKCS1_OAEP_PADDING,
          oaepHash: "sha256",
        },
        wrappedKey,
      );
      break;
    } catch {
      // another key
    }
  }
  if (!aesKey) throw new FlowDecryptError("the AES key does not decrypt with this number's private key");
  if (aesKey.length !== AES_KEY_BYTES) throw new FlowDecryptError("the AES key is not 128 bits");

  let plain: Buffer;
  try {
    const decipher = createDecipheriv("aes-128-gcm", aesKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    plain = Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new FlowDecryptError("encrypted_flow_data fails authentication with the AES key");
  }
  let payload: unknown;
  try {
    payload = JSON.parse(plain.toString("utf8"));
  } catch {
    throw new FlowDecryptError("the decrypted request is not JSON");
  }
  return { payload, aesKey, iv };
}

/** The IV of the answer: the request's with every bit flipped. */
export const flippedIv = (iv: Buffer): Buffer => Buffer.from(iv.map((b) => ~b & 0xff));

/** The answer's body: base64 of AES-128-GCM(response JSON) under the request's key and the flipped IV, tag appended. */
export function encryptFlowResponse(response: unknown, aesKey: Buffer, iv: Buffer): string {
  const cipher = createCipheriv("aes-128-gcm", aesKey, flippedIv(iv), { authTagLength: TAG_BYTES });
  return Buffer.concat([cipher.update(JSON.stringify(response), "utf8"), cipher.final(), cipher.getAuthTag()]).toString(
    "base64",
  );
}

/** A business key pair for a number's flows: 2048-bit RSA, PEM (SPKI public, PKCS#8 private), as Meta asks. */
export function generateFlowKeyPair(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
}
