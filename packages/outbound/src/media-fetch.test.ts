import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCdn, type TestCdn } from "@linkojob/testing";
import { MEDIA_SIZE_LIMITS } from "@linkojob/whatsapp";
import { MediaFetchError, MediaFetcher } from "./media-fetch.js";
import { OUTBOUND_MEDIA_TYPES } from "./outbound-media.js";

/**
 * The media URL fetcher against a real HTTPS server (a self-signed "CDN" on localhost, allowed as a
 * private host for the test): what it fetches, and every way it refuses to be turned against the
 * deployment's own network.
 */
const pdf = Buffer.concat([Buffer.from("%PDF-1.4\n"), randomBytes(20_000)]);
const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(2_000)]);
const document = { kind: "document", types: OUTBOUND_MEDIA_TYPES.document } as const;
const image = { kind: "image", types: OUTBOUND_MEDIA_TYPES.image } as const;

let cdn: TestCdn;
let fetcher: MediaFetcher;
let strict: MediaFetcher;

beforeAll(async () => {
  cdn = await startTestCdn({
    "/offres/contrat-cariste.pdf": { body: pdf, type: "application/pdf; charset=binary" },
    "/plan.bin": { body: png },
    "/page.html": { body: Buffer.from("<html></html>"), type: "text/html" },
    "/huge.jpg": { body: png, type: "image/jpeg", length: MEDIA_SIZE_LIMITS.image + 1 },
    "/gone.pdf": { status: 404 },
    "/busy.pdf": { status: 503 },
  });
  cdn.routes.set("/moved.pdf", { redirect: `${cdn.url}/offres/contrat-cariste.pdf` });
  cdn.routes.set("/to-http.pdf", { redirect: "http://localhost/contrat.pdf" });
  cdn.routes.set("/to-metadata.pdf", { redirect: "https://169.254.169.254/latest/meta-data" });
  for (let i = 0; i < 5; i++) cdn.routes.set(`/loop${i}`, { redirect: `${cdn.url}/loop${i + 1}` });
  fetcher = new MediaFetcher({ allowPrivateHosts: ["localhost"], ca: cdn.ca, timeoutMs: 5_000 });
  strict = new MediaFetcher({ ca: cdn.ca, timeoutMs: 5_000 });
});
afterAll(async () => {
  await fetcher?.close();
  await strict?.close();
  await cdn?.close();
});

const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MediaFetchError);
  const { kind, code, message } = err as MediaFetchError;
  return { kind, code, message };
};

describe("MediaFetcher", () => {
  it("fetches a document: its bytes, its type (parameters dropped), its file name and hash", async () => {
    const got = await fetcher.fetch(`${cdn.url}/offres/contrat-cariste.pdf`, document);
    expect(got.bytes.equals(pdf)).toBe(true);
    expect(got).toMatchObject({
      mimeType: "application/pdf",
      filename: "contrat-cariste.pdf",
      sha256: createHash("sha256").update(pdf).digest("hex"),
    });
  });

  it("follows a redirect on the same allowed host, and takes the type from the bytes when the header is generic", async () => {
    expect((await fetcher.fetch(`${cdn.url}/moved.pdf`, document)).bytes.equals(pdf)).toBe(true);
    expect((await fetcher.fetch(`${cdn.url}/plan.bin`, image)).mimeType).toBe("image/png");
  });

  it("refuses a host that resolves to a private address unless allowed, without fetching it", async () => {
    const before = cdn.hits.get("/offres/contrat-cariste.pdf") ?? 0;
    expect(await refusal(strict.fetch(`${cdn.url}/offres/contrat-cariste.pdf`, document))).toMatchObject({
      kind: "permanent",
      code: "MEDIA_URL_REFUSED",
    });
    expect(cdn.hits.get("/offres/contrat-cariste.pdf") ?? 0).toBe(before);
  });

  it.each([
    ["plain http", "http://cdn.example.com/a.pdf"],
    ["loopback literal", "https://127.0.0.1/a.pdf"],
    ["private literal", "https://10.0.0.8/a.pdf"],
    ["cloud metadata", "https://169.254.169.254/latest/meta-data"],
    ["IPv6 loopback", "https://[::1]/a.pdf"],
    ["IPv4-mapped private", "https://[::ffff:192.168.0.1]/a.pdf"],
    ["credentials in the URL", "https://user:pass@cdn.example.com/a.pdf"],
    ["not a URL", "cdn.example.com/a.pdf"],
  ])("refuses %s before any request", async (_label, url) => {
    expect(await refusal(fetcher.fetch(url, document))).toMatchObject({ kind: "permanent", code: "MEDIA_URL_REFUSED" });
  });

  it("refuses redirects to http, to a private address, and chains longer than 3", async () => {
    for (const path of ["/to-http.pdf", "/to-metadata.pdf", "/loop0"])
      expect(await refusal(fetcher.fetch(`${cdn.url}${path}`, document))).toMatchObject({
        kind: "permanent",
        code: "MEDIA_URL_REFUSED",
      });
  });

  it("refuses what is over Meta's limit for the kind (from Content-Length) and a type Meta does not take", async () => {
    expect(await refusal(fetcher.fetch(`${cdn.url}/huge.jpg`, image))).toMatchObject({ code: "MEDIA_TOO_LARGE" });
    expect(await refusal(fetcher.fetch(`${cdn.url}/page.html`, image))).toMatchObject({
      kind: "permanent",
      code: "MEDIA_TYPE",
    });
  });

  it("a 404 is permanent, a 503 transient (the job is retried)", async () => {
    expect(await refusal(fetcher.fetch(`${cdn.url}/gone.pdf`, document))).toMatchObject({
      kind: "permanent",
      code: "MEDIA_URL_FAILED",
    });
    expect(await refusal(fetcher.fetch(`${cdn.url}/busy.pdf`, document))).toMatchObject({
      kind: "transient",
      code: "MEDIA_URL_FAILED",
    });
  });
});
