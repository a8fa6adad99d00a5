import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GraphApiError,
  GraphClient,
  MediaDownloadError,
  downloadMedia,
  getMediaInfo,
  isTrustedMediaUrl,
  sha256Bytes,
  sha256Matches,
  uploadMedia,
} from "@linkojob/whatsapp";
import { FormData } from "undici";
import { MetaSimulator } from "../simulator.js";

/**
 * The media calls of @linkojob/whatsapp (media-api.ts) against the simulator's media area, both over
 * real HTTP: multipart upload, retrieve, download with and without the token, expiry.
 */
let sim: MetaSimulator;
let graph: GraphClient;
const token = "EAAG-media-upload-test-token";

beforeAll(async () => {
  sim = await MetaSimulator.create({ appSecret: "sim-media-test-secret" });
  await sim.listen();
  graph = new GraphClient({ baseUrl: sim.url, version: "v26.0" });
});
afterAll(async () => {
  await graph?.close();
  await sim?.close();
});

const readAll = async (body: AsyncIterable<unknown>) => {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

describe("media API against the simulator", () => {
  it("uploads a document as multipart, gets an id, and retrieves then downloads the same bytes with the token", async () => {
    const bytes = Buffer.concat([Buffer.from("%PDF-1.4\n"), randomBytes(300_000)]);
    const { id } = await uploadMedia(graph, {
      phoneNumberId: "106540352242922",
      token,
      bytes,
      mimeType: "application/pdf",
      filename: "Offre.pdf",
    });
    expect(id).toMatch(/^\d+$/);
    const seen = (await (await fetch(`${sim.url}/_sim/media/${id}`)).json()) as { sha256: string };
    expect(seen).toMatchObject({
      mimeType: "application/pdf",
      filename: "Offre.pdf",
      size: bytes.length,
      phoneNumberId: "106540352242922",
    });
    expect(seen.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    const upload = sim.state.requestsTo(/\/v26\.0\/106540352242922\/media$/, "POST");
    expect(upload).toHaveLength(1);
    expect(upload[0]!.token).toBe(token);

    const info = await getMediaInfo(graph, { mediaId: id, token });
    expect(info).toMatchObject({ id, mimeType: "application/pdf", fileSize: bytes.length });
    const dl = await downloadMedia({ url: info.url, token, graphBaseUrl: sim.url });
    const back = await readAll(dl.body);
    expect(back.equals(bytes)).toBe(true);
    expect(sha256Matches(info.sha256, createHash("sha256").update(back).digest())).toBe(true);

    // Without the bearer token Meta's URL refuses (peers lose media this way): "expired" → fetch a fresh URL.
    await expect(downloadMedia({ url: info.url, token: "someone-else", graphBaseUrl: sim.url })).rejects.toMatchObject({
      kind: "expired",
      httpStatus: 401,
    });
  });

  it("an upload without a file is Meta's code 100, not a success", async () => {
    const form = new FormData();
    form.set("messaging_product", "whatsapp");
    const err = await graph.post("1/media", { token, body: form as unknown as globalThis.FormData }).catch((e) => e);
    expect(err).toBeInstanceOf(GraphApiError);
    expect((err as GraphApiError).code).toBe(100);
  });

  it("expires download URLs and never sends the token to a host that is not Meta's", async () => {
    const { id } = await uploadMedia(graph, {
      phoneNumberId: "1",
      token,
      bytes: Buffer.from("x"),
      mimeType: "image/png",
    });
    await fetch(`${sim.url}/_sim/media/${id}/faults`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ expiredUrls: 1 }),
    });
    const stale = await getMediaInfo(graph, { mediaId: id, token });
    const err = await downloadMedia({ url: stale.url, token, graphBaseUrl: sim.url }).catch((e) => e);
    expect(err).toBeInstanceOf(MediaDownloadError);
    expect(err).toMatchObject({ kind: "expired", httpStatus: 404 });
    expect(err.message).not.toContain("?"); // the URL's query (Meta's signature) stays out of errors

    expect(
      isTrustedMediaUrl(
        "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1",
        "https://graph.facebook.com",
      ),
    ).toBe(true);
    expect(isTrustedMediaUrl("http://lookaside.fbsbx.com/x", "https://graph.facebook.com")).toBe(false);
    expect(isTrustedMediaUrl("https://evil.example/fbsbx.com", "https://graph.facebook.com")).toBe(false);
    await expect(downloadMedia({ url: "http://127.0.0.2:9/x", token, graphBaseUrl: sim.url })).rejects.toMatchObject({
      kind: "untrusted",
    });
  });

  it("reads Meta's sha256 in hex (retrieve answer) and base64 (webhooks)", () => {
    const digest = createHash("sha256").update("cv").digest();
    expect(sha256Bytes(digest.toString("hex"))!.equals(digest)).toBe(true);
    expect(sha256Bytes(digest.toString("base64"))!.equals(digest)).toBe(true);
    expect(sha256Matches(digest.toString("base64url"), digest)).toBe(true);
    expect(sha256Matches(createHash("sha256").update("other").digest("hex"), digest)).toBe(false);
    expect(sha256Bytes("c2hhMjU2LW9mLXRoZS1maWxl")).toBeNull(); // not 32 bytes
  });
});
