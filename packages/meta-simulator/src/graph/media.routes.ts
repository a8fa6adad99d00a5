import { createHash } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { SimArea } from "../simulator.js";
import { graphNodeOwners } from "./graph-nodes.js";
import { graphErrorBody } from "./onboarding.state.js";
import { addMedia, issueMediaUrl, mediaState, type SimMedia } from "./media.state.js";

/**
 * Meta's media endpoints (GET /{media-id}, the download, POST /{phone-id}/media), served for real over HTTP:
 * - `GET /{version}/{media-id}` → `{ messaging_product, url, mime_type, sha256 (hex), file_size, id }`;
 * - the download URL it hands out (`/whatsapp_business/attachments/{key}`), which expires (5 min by
 *   default) and answers 401 without the bearer token that retrieved it, 404 once expired;
 * - `POST /{version}/{phone-number-id}/media` (multipart upload) → `{ id }`.
 * Controls under /_sim/media: seed a candidate's file, set faults per media id (expired URL, 404,
 * wrong sha256, oversize, 5xx), read counters, change the URL lifetime.
 */

function bearer(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  return h?.startsWith("Bearer ") ? h.slice(7) : undefined;
}

const invalidToken = (reply: FastifyReply) =>
  reply
    .code(401)
    .send(graphErrorBody({ code: 190, message: "Invalid OAuth access token - Cannot parse access token" }));

const missingObject = (reply: FastifyReply, id: string) =>
  reply.code(400).send(
    graphErrorBody({
      code: 100,
      subcode: 33,
      type: "GraphMethodException",
      message: `Unsupported get request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
    }),
  );

const serverError = (reply: FastifyReply) =>
  reply.code(500).send(graphErrorBody({ code: 131000, message: "Something went wrong", type: "OAuthException" }));

/** Takes one from a countdown fault; true when it applied. */
function take(faults: SimMedia["faults"], key: "expiredUrls" | "infoServerErrors" | "downloadServerErrors"): boolean {
  const n = faults[key] ?? 0;
  if (n <= 0) return false;
  faults[key] = n - 1;
  return true;
}

const seedBody = z.strictObject({
  /** The file, base64. */
  data: z.string(),
  mime_type: z.string().min(3),
  filename: z.string().optional(),
  /** Only this bearer token may retrieve it. */
  token: z.string().optional(),
});

const faultsBody = z.strictObject({
  expiredUrls: z.number().int().min(0).optional(),
  infoServerErrors: z.number().int().min(0).optional(),
  downloadServerErrors: z.number().int().min(0).optional(),
  notFound: z.boolean().optional(),
  wrongSha256: z.boolean().optional(),
  reportedSize: z.number().int().min(0).optional(),
  /** Serve this many bytes (zeros) instead of the file. */
  servedSize: z
    .number()
    .int()
    .min(0)
    .max(200 * 1024 * 1024)
    .optional(),
});

export const mediaArea: SimArea = (app, ctx, done) => {
  const s = () => mediaState(ctx.state);

  // Uploads are multipart; Fastify has no parser for it by default. Parsed with the WHATWG
  // Response.formData() of Node's fetch, scoped to this area's plugin.
  app.addContentTypeParser(
    "multipart/form-data",
    { parseAs: "buffer", bodyLimit: 110 * 1024 * 1024 },
    (_req, body, done) => done(null, body),
  );

  app.get<{ Params: { version: string; mediaId: string } }>("/:version/:mediaId", async (request, reply) => {
    const token = bearer(request);
    if (!token) return invalidToken(reply);
    const m = s().media.get(request.params.mediaId);
    if (!m && graphNodeOwners(ctx).some((o) => o.get?.(request.params.mediaId, token, reply))) return reply;
    if (!m || m.faults.notFound || (m.token !== null && m.token !== token))
      return missingObject(reply, request.params.mediaId);
    m.infoCalls++;
    if (take(m.faults, "infoServerErrors")) return serverError(reply);
    const key = issueMediaUrl(ctx.state, m.id, token, take(m.faults, "expiredUrls"));
    const origin = `${request.protocol}://${request.headers.host}`;
    const sha = m.faults.wrongSha256 ? createHash("sha256").update("not the file").digest("hex") : m.sha256Hex;
    return {
      messaging_product: "whatsapp",
      url: `${origin}/whatsapp_business/attachments/${key}?mid=${m.id}&ext=${Math.floor(Date.now() / 1000)}`,
      mime_type: m.mimeType,
      sha256: sha,
      file_size: m.faults.reportedSize ?? m.faults.servedBytes?.length ?? m.bytes.length,
      id: m.id,
    };
  });

  /** DELETE /{version}/{media-id}: an uploaded media is deleted (`{ success: true }`); later retrieves answer code 100. */
  app.delete<{ Params: { version: string; mediaId: string } }>("/:version/:mediaId", async (request, reply) => {
    const token = bearer(request);
    if (!token) return invalidToken(reply);
    const m = s().media.get(request.params.mediaId);
    if (!m && graphNodeOwners(ctx).some((o) => o.delete?.(request.params.mediaId, token, reply))) return reply;
    if (!m || m.faults.notFound || (m.token !== null && m.token !== token))
      return missingObject(reply, request.params.mediaId);
    s().media.delete(m.id);
    return { success: true };
  });

  app.get<{ Params: { key: string } }>("/whatsapp_business/attachments/:key", async (request, reply) => {
    const url = s().urls.get(request.params.key);
    const token = bearer(request);
    // Meta's CDN answers an HTML/empty error rather than a Graph error body.
    if (!url) return reply.code(404).type("text/plain").send("Not Found");
    if (!token || token !== url.token) return reply.code(401).type("text/plain").send("Unauthorized");
    if (url.expiresAt <= Date.now()) return reply.code(404).type("text/plain").send("URL signature expired");
    const m = s().media.get(url.mediaId);
    if (!m) return reply.code(404).type("text/plain").send("Not Found");
    if (take(m.faults, "downloadServerErrors")) return reply.code(500).type("text/plain").send("Internal Server Error");
    m.downloads++;
    const bytes = m.faults.servedBytes ?? m.bytes;
    return reply.code(200).header("content-type", m.mimeType).header("content-length", bytes.length).send(bytes);
  });

  app.post<{ Params: { version: string; phone: string } }>("/:version/:phone/media", async (request, reply) => {
    const token = bearer(request);
    if (!token) return invalidToken(reply);
    const ct = request.headers["content-type"] ?? "";
    if (!Buffer.isBuffer(request.body) || !ct.startsWith("multipart/form-data")) {
      return reply.code(400).send(graphErrorBody({ code: 100, message: "(#100) The parameter file is required." }));
    }
    let form: FormData;
    try {
      form = await new Response(request.body, { headers: { "content-type": ct } }).formData();
    } catch {
      return reply.code(400).send(graphErrorBody({ code: 100, message: "(#100) Invalid multipart body." }));
    }
    // Graph reads a parameter from the form or the query string alike (whatsapp-api-js puts
    // messaging_product in the query).
    const query = request.query as Record<string, unknown>;
    if (form.get("messaging_product") !== "whatsapp" && query.messaging_product !== "whatsapp") {
      return reply
        .code(400)
        .send(graphErrorBody({ code: 100, message: "(#100) The parameter messaging_product is required." }));
    }
    const file = form.get("file");
    if (!file || typeof file === "string")
      return reply.code(400).send(graphErrorBody({ code: 100, message: "(#100) The parameter file is required." }));
    const typeField = form.get("type");
    const mimeType = (typeof typeField === "string" && typeField) || file.type || "application/octet-stream";
    const bytes = Buffer.from(await file.arrayBuffer());
    const m = addMedia(ctx.state, {
      bytes,
      mimeType,
      filename: file.name || null,
      token: null,
      phoneNumberId: request.params.phone,
    });
    return { id: m.id };
  });

  // ----------------------------------------------------------------------------------------------
  // Controls
  // ----------------------------------------------------------------------------------------------

  /** Seeds a file a candidate sends; answers its id and sha256 (hex and base64, as webhooks spell it). */
  app.post("/_sim/media", async (request, reply) => {
    const b = seedBody.safeParse(request.body);
    if (!b.success) return reply.code(400).send({ error: "invalid media", details: b.error.issues });
    const bytes = Buffer.from(b.data.data, "base64");
    const m = addMedia(ctx.state, {
      bytes,
      mimeType: b.data.mime_type,
      filename: b.data.filename ?? null,
      token: b.data.token ?? null,
    });
    return {
      id: m.id,
      sha256: m.sha256Hex,
      sha256Base64: Buffer.from(m.sha256Hex, "hex").toString("base64"),
      file_size: bytes.length,
    };
  });

  app.put<{ Params: { id: string } }>("/_sim/media/:id/faults", async (request, reply) => {
    const m = s().media.get(request.params.id);
    if (!m) return reply.code(404).send({ error: "no such media" });
    const b = faultsBody.safeParse(request.body);
    if (!b.success) return reply.code(400).send({ error: "invalid faults", details: b.error.issues });
    const { servedSize, ...rest } = b.data;
    m.faults = {
      ...m.faults,
      ...rest,
      ...(servedSize !== undefined ? { servedBytes: Buffer.alloc(servedSize, 0x20) } : {}),
    };
    return { ok: true };
  });

  /** Counters and metadata of one media (uploads included: tests check what was uploaded). */
  app.get<{ Params: { id: string } }>("/_sim/media/:id", async (request, reply) => {
    const m = s().media.get(request.params.id);
    if (!m) return reply.code(404).send({ error: "no such media" });
    return {
      id: m.id,
      mimeType: m.mimeType,
      filename: m.filename,
      sha256: m.sha256Hex,
      size: m.bytes.length,
      phoneNumberId: m.phoneNumberId,
      infoCalls: m.infoCalls,
      downloads: m.downloads,
      data: m.bytes.length <= 1024 * 1024 ? m.bytes.toString("base64") : null,
    };
  });

  app.put("/_sim/media/settings", async (request, reply) => {
    const b = z.strictObject({ urlTtlMs: z.number().int().min(1) }).safeParse(request.body);
    if (!b.success) return reply.code(400).send({ error: "invalid settings", details: b.error.issues });
    s().urlTtlMs = b.data.urlTtlMs;
    return { ok: true };
  });

  app.post("/_sim/media/reset", () => {
    s().media.clear();
    s().urls.clear();
    return { ok: true };
  });
  done();
};
