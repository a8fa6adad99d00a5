import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contactOf, delivery, inboundMessage, messagesValue } from "@linkojob/meta-simulator";
import { mediaBucket, type ClientDoc, type MessageDoc } from "@linkojob/db";
import { CLIENTS_CHANGED_CHANNEL } from "@linkojob/events";
import { TEST_SECRETS, eventually, tokenFor } from "@linkojob/testing";
import { TokenVault } from "@linkojob/vault";
import { GraphClient } from "@linkojob/whatsapp";
import { MediaUrlSigner } from "@linkojob/ingress";
import { startTrunk, type Trunk } from "../harness/trunk.harness.js";

// Inbound media end to end on real parts (peers lose media by keeping the expiring URL or
// fetching it without the token): the simulator sends
// the webhook and serves Meta's media endpoints over HTTP; the worker fetches into GridFS on the
// MongoDB-protocol server; the ingress serves the file back.

let t: Trunk;
let graph: GraphClient;
let client: ClientDoc;
let other: ClientDoc;
const vault = new TokenVault([TEST_SECRETS.tokenKey]);
const tokenA = `EAAG-media-a-${randomBytes(6).toString("hex")}`;
const tokenB = `EAAG-media-b-${randomBytes(6).toString("hex")}`;
const who = { waId: "212661234567", name: "Karim" };

beforeAll(async () => {
  t = await startTrunk({
    label: "media",
    media: (sim) => {
      graph = new GraphClient({ baseUrl: sim.url, version: "v26.0" });
      return { graph, graphBaseUrl: sim.url, vault, backoffBaseMs: 20, attempts: 4, concurrency: 2 };
    },
  });
  client = await t.createClient({ accessToken: vault.encrypt(tokenA) });
  other = await t.createClient({ accessToken: vault.encrypt(tokenB) });
});
afterAll(async () => {
  await t?.close();
  await graph?.close();
});

async function simJson<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${t.sim.url}${path}`, {
    method,
    ...(body !== undefined ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {}),
  });
  expect(res.ok, `${method} ${path} → ${res.status}`).toBe(true);
  return (await res.json()) as T;
}

/** A file the candidate sends: seeded in the simulator, retrievable only with the tenant's token. */
const seed = (bytes: Buffer, mime: string, token: string, filename?: string) =>
  simJson<{ id: string; sha256: string; sha256Base64: string; file_size: number }>("POST", "/_sim/media", {
    data: bytes.toString("base64"),
    mime_type: mime,
    token,
    ...(filename ? { filename } : {}),
  });

/** Delivers one signed webhook with a media message and returns the stored message once its media settled. */
async function receive(
  c: ClientDoc,
  type: string,
  content: Record<string, unknown>,
  opts: { timestamp?: string; settle?: (m: MessageDoc) => boolean } = {},
) {
  const msg = inboundMessage(who, type, content, opts.timestamp ? { timestamp: opts.timestamp } : {});
  const biz = { wabaId: c.wabaId, phoneNumberId: c.phoneNumberId };
  const payload = delivery([
    {
      wabaId: c.wabaId,
      changes: [{ field: "messages", value: messagesValue(biz, { contacts: [contactOf(who)], messages: [msg] }) }],
    },
  ]);
  expect((await t.sim.deliver(payload)).status).toBe(200);
  const settled = opts.settle ?? ((m: MessageDoc) => m.media?.status === "stored" || m.media?.status === "failed");
  return eventually(async () => {
    const m = await t.db.messages.findOne({ clientId: c._id, wamid: msg.id }).lean<MessageDoc>();
    return m && settled(m) ? m : null;
  });
}

async function gridFsBytes(fileId: unknown): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of mediaBucket(t.db).openDownloadStream(fileId as never)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const filesOf = (messageId: string) =>
  t.db.connection.db!.collection("media.files").countDocuments({ "metadata.messageId": messageId });

const pdf = (size: number) => Buffer.concat([Buffer.from("%PDF-1.7\n"), randomBytes(size)]);

describe("inbound media", () => {
  it("fetches a CV with the tenant's token, checks its sha256, stores it in GridFS and serves it back byte-identical to its tenant only", async () => {
    const bytes = pdf(700_000); // several GridFS chunks
    const filename = "CV Karim – Développeur (2025).pdf";
    const seeded = await seed(bytes, "application/pdf", tokenA, filename);
    // Webhooks carry the sha256 in base64; the retrieve answer in hex: both must match.
    const m = await receive(client, "document", {
      id: seeded.id,
      mime_type: "application/pdf",
      sha256: seeded.sha256Base64,
      filename,
      caption: "Mon CV",
    });

    expect(m.media).toMatchObject({
      status: "stored",
      size: bytes.length,
      mimeType: "application/pdf",
      sha256Ok: true,
      filename,
    });
    expect((await gridFsBytes(m.media!.fileId)).equals(bytes)).toBe(true);
    // The download went to Meta's URL with the bearer token of this tenant (never without it).
    const downloads = t.sim.state.requestsTo(/^\/whatsapp_business\/attachments\//, "GET");
    expect(downloads.length).toBeGreaterThan(0);
    expect(downloads.every((r) => r.token === tokenA)).toBe(true);

    const id = m._id.toHexString();
    const res = await t.app.inject({
      method: "GET",
      url: `/api/media/${id}`,
      headers: { authorization: `Bearer ${await tokenFor(client.userId)}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/pdf");
    expect(res.headers["content-length"]).toBe(String(bytes.length));
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["content-disposition"]).toBe(
      `attachment; filename="CV Karim _ Developpeur (2025).pdf"; filename*=UTF-8''CV%20Karim%20%E2%80%93%20D%C3%A9veloppeur%20%282025%29.pdf`,
    );
    expect(res.headers["cache-control"]).toMatch(/^private, max-age=\d+$/);
    expect(res.rawPayload.equals(bytes)).toBe(true);
    // Same ETag → 304, no body.
    const again = await t.app.inject({
      method: "GET",
      url: `/api/media/${id}`,
      headers: { authorization: `Bearer ${await tokenFor(client.userId)}`, "if-none-match": String(res.headers.etag) },
    });
    expect(again.statusCode).toBe(304);

    // Another tenant's recruiter: the same 404 as for an id that does not exist.
    const foreign = await t.app.inject({
      method: "GET",
      url: `/api/media/${id}`,
      headers: { authorization: `Bearer ${await tokenFor(other.userId)}` },
    });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error.code).toBe("NOT_FOUND");
    expect(
      (
        await t.app.inject({
          method: "GET",
          url: `/api/media/${id}/url`,
          headers: { authorization: `Bearer ${await tokenFor(other.userId)}` },
        })
      ).statusCode,
    ).toBe(404);
    // No JWT at all: 401.
    expect((await t.app.inject({ method: "GET", url: `/api/media/${id}` })).statusCode).toBe(401);
  });

  it("serves only allow-listed types as themselves: a file declared as a type a browser renders (xhtml, xsl, javascript) is opaque bytes", async () => {
    const page = Buffer.from(
      '<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(document.cookie)</script></html>',
    );
    const auth = { authorization: `Bearer ${await tokenFor(client.userId)}` };
    for (const mime of ["application/vnd.wap.xhtml+xml", "text/xsl", "application/x-javascript", "image/jpeg"]) {
      const seeded = await seed(page, mime, tokenA);
      const m = await receive(client, "image", { id: seeded.id, mime_type: mime, sha256: seeded.sha256Base64 });
      expect(m.media?.status, mime).toBe("stored");
      const res = await t.app.inject({ method: "GET", url: `/api/media/${m._id.toHexString()}`, headers: auth });
      expect(res.statusCode, mime).toBe(200);
      expect(res.headers["content-type"], mime).toBe(mime === "image/jpeg" ? "image/jpeg" : "application/octet-stream");
    }
  });

  it("asks Meta for a fresh URL when the one it got has expired", async () => {
    const bytes = randomBytes(40_000);
    const seeded = await seed(bytes, "image/jpeg", tokenA);
    await simJson("PUT", `/_sim/media/${seeded.id}/faults`, { expiredUrls: 1 });
    const m = await receive(client, "image", { id: seeded.id, mime_type: "image/jpeg", sha256: seeded.sha256Base64 });
    expect(m.media).toMatchObject({ status: "stored", sha256Ok: true, attempts: 1 });
    const stats = await simJson("GET", `/_sim/media/${seeded.id}`);
    expect(stats).toMatchObject({ infoCalls: 2, downloads: 1 });
    expect((await gridFsBytes(m.media!.fileId)).equals(bytes)).toBe(true);
  });

  it("retries 5xx answers from the media lookup and the download, then stores the file", async () => {
    const bytes = randomBytes(30_000);
    const seeded = await seed(bytes, "audio/ogg", tokenA);
    await simJson("PUT", `/_sim/media/${seeded.id}/faults`, { infoServerErrors: 1, downloadServerErrors: 1 });
    const m = await receive(client, "audio", {
      id: seeded.id,
      mime_type: "audio/ogg; codecs=opus",
      sha256: seeded.sha256Base64,
      voice: true,
    });
    // Attempt 1: lookup 500; attempt 2: download 500; attempt 3: stored.
    expect(m.media).toMatchObject({ status: "stored", attempts: 3, sha256Ok: true });
    expect((await gridFsBytes(m.media!.fileId)).equals(bytes)).toBe(true);
  });

  it("fails with SHA256_MISMATCH when the bytes are not the ones Meta describes, keeps no file, and says why when asked", async () => {
    const seeded = await seed(randomBytes(20_000), "image/png", tokenA);
    await simJson("PUT", `/_sim/media/${seeded.id}/faults`, { wrongSha256: true });
    const m = await receive(client, "image", { id: seeded.id, mime_type: "image/png", sha256: seeded.sha256Base64 });
    expect(m.media).toMatchObject({ status: "failed", error: { code: "SHA256_MISMATCH" } });
    expect(await filesOf(m._id.toHexString())).toBe(0);
    const res = await t.app.inject({
      method: "GET",
      url: `/api/media/${m._id.toHexString()}`,
      headers: { authorization: `Bearer ${await tokenFor(client.userId)}` },
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatchObject({
      code: "MEDIA_FAILED",
      details: { status: "failed", code: "SHA256_MISMATCH" },
    });
    expect(res.json().error.message).toMatch(/sha256/);
  });

  it("fails with MEDIA_TOO_LARGE an image over 5 MB without downloading it", async () => {
    const seeded = await seed(randomBytes(1_000), "image/jpeg", tokenA);
    await simJson("PUT", `/_sim/media/${seeded.id}/faults`, { reportedSize: 5 * 1024 * 1024 + 1 });
    const m = await receive(client, "image", { id: seeded.id, mime_type: "image/jpeg", sha256: seeded.sha256Base64 });
    expect(m.media).toMatchObject({ status: "failed", error: { code: "MEDIA_TOO_LARGE" } });
    expect(m.media!.error!.reason).toMatch(/5242880-byte limit for image/);
    expect((await simJson("GET", `/_sim/media/${seeded.id}`)).downloads).toBe(0);
  });

  it("fails with MEDIA_TOO_LARGE a sticker whose bytes run past 500 KB although Meta reported less", async () => {
    const seeded = await seed(randomBytes(1_000), "image/webp", tokenA);
    await simJson("PUT", `/_sim/media/${seeded.id}/faults`, { reportedSize: 1_000, servedSize: 600 * 1024 });
    const m = await receive(client, "sticker", {
      id: seeded.id,
      mime_type: "image/webp",
      sha256: seeded.sha256Base64,
      animated: false,
    });
    expect(m.media).toMatchObject({ status: "failed", error: { code: "MEDIA_TOO_LARGE" } });
    expect(await filesOf(m._id.toHexString())).toBe(0);
  });

  it("fails with MEDIA_NOT_FOUND when Meta no longer has the id, and MEDIA_ID_EXPIRED past 7 days without asking", async () => {
    const gone = await seed(randomBytes(100), "video/mp4", tokenA);
    await simJson("PUT", `/_sim/media/${gone.id}/faults`, { notFound: true });
    const m1 = await receive(client, "video", { id: gone.id, mime_type: "video/mp4", sha256: gone.sha256Base64 });
    expect(m1.media).toMatchObject({ status: "failed", error: { code: "MEDIA_NOT_FOUND" } });

    const old = await seed(randomBytes(100), "video/mp4", tokenA);
    const eightDaysAgo = String(Math.floor(Date.now() / 1000) - 8 * 24 * 3600);
    const m2 = await receive(
      client,
      "video",
      { id: old.id, mime_type: "video/mp4", sha256: old.sha256Base64 },
      { timestamp: eightDaysAgo },
    );
    expect(m2.media).toMatchObject({ status: "failed", error: { code: "MEDIA_ID_EXPIRED" } });
    expect((await simJson("GET", `/_sim/media/${old.id}`)).infoCalls).toBe(0);
  });

  it("serves a short-lived signed URL without a JWT, bound to the message and tenant, refusing tampering and expiry", async () => {
    const bytes = randomBytes(25_000);
    const seeded = await seed(bytes, "image/jpeg", tokenA);
    const m = await receive(client, "image", { id: seeded.id, mime_type: "image/jpeg", sha256: seeded.sha256Base64 });
    const id = m._id.toHexString();
    const res = await t.app.inject({
      method: "GET",
      url: `/api/media/${id}/url`,
      headers: { authorization: `Bearer ${await tokenFor(client.userId)}` },
    });
    expect(res.statusCode).toBe(200);
    const { url, expiresAt } = res.json<{ url: string; expiresAt: string }>();
    expect(url).toMatch(new RegExp(`^/api/media/${id}\\?sig=[A-Za-z0-9_-]+&exp=\\d+$`));
    expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect(new Date(expiresAt).getTime()).toBeLessThanOrEqual(Date.now() + 5 * 60_000 + 1_000);

    const ok = await t.app.inject({ method: "GET", url });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers["content-type"]).toBe("image/jpeg");
    expect(ok.headers["content-disposition"]).toBe("inline");
    expect(ok.rawPayload.equals(bytes)).toBe(true);

    const u = new URL(url, "http://x");
    const sig = u.searchParams.get("sig")!;
    const exp = Number(u.searchParams.get("exp"));
    const flipped = (sig[0] === "A" ? "B" : "A") + sig.slice(1);
    const refused = [
      `/api/media/${id}?sig=${flipped}&exp=${exp}`, // tampered signature
      `/api/media/${id}?sig=${sig}&exp=${exp + 600}`, // extended expiry
      `/api/media/${id}?exp=${exp}`, // no signature
    ];
    // Signed for the other tenant (right key, wrong tenant) and already expired (right key, past exp).
    const signer = new MediaUrlSigner(TEST_SECRETS.jwtSecret);
    const wrongTenant = signer.sign(id, other._id.toHexString());
    refused.push(`/api/media/${id}?sig=${wrongTenant.sig}&exp=${wrongTenant.exp}`);
    const past = signer.sign(id, client._id.toHexString(), Date.now() - 10 * 60_000);
    refused.push(`/api/media/${id}?sig=${past.sig}&exp=${past.exp}`);
    // The same signature on another message of the same tenant.
    const otherMessage = await t.db.messages
      .findOne({ clientId: client._id, _id: { $ne: m._id }, "media.status": "stored" })
      .lean();
    refused.push(`/api/media/${otherMessage!._id.toHexString()}?sig=${sig}&exp=${exp}`);
    for (const bad of refused) {
      const r = await t.app.inject({ method: "GET", url: bad });
      expect(r.statusCode, bad).toBe(403);
      expect(r.json().error.code, bad).toBe("MEDIA_URL_INVALID");
    }
  });

  it("keeps media pending (409) while the client must reconnect, and fetches it once the client is active again", async () => {
    const held = await t.createClient({ accessToken: vault.encrypt(tokenB), status: "reauth_required" });
    const bytes = randomBytes(10_000);
    const seeded = await seed(bytes, "image/jpeg", tokenB);
    const m = await receive(
      held,
      "image",
      { id: seeded.id, mime_type: "image/jpeg", sha256: seeded.sha256Base64 },
      { settle: (x) => x.media?.heldReason === "reauth_required" },
    );
    expect(m.media).toMatchObject({ status: "pending", heldReason: "reauth_required" });
    expect((await simJson("GET", `/_sim/media/${seeded.id}`)).infoCalls).toBe(0);
    const res = await t.app.inject({
      method: "GET",
      url: `/api/media/${m._id.toHexString()}`,
      headers: { authorization: `Bearer ${await tokenFor(held.userId)}` },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({
      code: "MEDIA_PENDING",
      details: { status: "pending", heldReason: "reauth_required" },
    });

    // Reconnect: whoever activates the client announces it on the clients channel.
    await t.db.clients.updateOne({ _id: held._id }, { $set: { status: "active" } });
    await t.worker.media!.queue.client.then((r) =>
      r.publish(CLIENTS_CHANGED_CHANNEL, JSON.stringify({ clientId: held._id.toHexString(), status: "active" })),
    );
    const stored = await eventually(async () => {
      const x = await t.db.messages.findById(m._id).lean<MessageDoc>();
      return x?.media?.status === "stored" ? x : null;
    });
    expect((await gridFsBytes(stored.media!.fileId)).equals(bytes)).toBe(true);
  });
});
