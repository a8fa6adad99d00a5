import { createHash } from "node:crypto";
import { Types } from "mongoose";
import { z } from "zod";
import { defineErrors } from "@linkojob/errors";
import type { RedisClient } from "@linkojob/queues";
import { objectIdSchema, mediaBucket, type Database, type OutboundMediaRef } from "@linkojob/db";
import { MEDIA_SIZE_LIMITS, uploadMedia, type GraphClient, type MediaSend } from "@linkojob/whatsapp";
import { MediaFetchError, type MediaFetcher } from "./media-fetch.js";

/**
 * Outbound media: the send API's `media` field, the staging of uploaded bytes in GridFS (so
 * that jobs carry ids only), and the worker step that uploads the bytes to Meta
 * (`POST /{phone-number-id}/media`) once and sends by id. Window rules are the send plan's: media is
 * free-form content, so it goes only inside the 24-hour window (else the template goes).
 */

/** Types Meta accepts per kind (Cloud API "supported media types"). */
export const OUTBOUND_MEDIA_TYPES = {
  image: ["image/jpeg", "image/png"],
  document: [
    "application/pdf",
    "text/plain",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  ],
} as const;
export type OutboundMediaType = keyof typeof OUTBOUND_MEDIA_TYPES;

/**
 * The send body's `media`: exactly one source. `url` (https) is fetched by the outbound worker once,
 * through the SSRF-guarded MediaFetcher, uploaded to Meta and sent by media id (a `link` would make
 * Meta's fetcher download it, which Meta rate-limits on shared hosts: 131053); `base64` is staged in
 * GridFS by the ingress; `fileId` names a file staged earlier (e.g. by an upload route). Caption up to
 * 1024 characters (Meta's limit).
 */
export const outboundMediaSchema = z
  .strictObject({
    type: z.enum(["image", "document"]),
    url: z
      .url({ protocol: /^https$/ })
      .max(2048)
      .optional(),
    base64: z
      .string()
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64")
      .optional(),
    fileId: objectIdSchema.optional(),
    mimeType: z.string().max(200).optional(),
    caption: z.string().trim().min(1).max(1024).optional(),
    filename: z
      .string()
      .trim()
      .min(1)
      .max(240)
      .regex(/^[^\\/\r\n\0]+$/, "a file name, without path")
      .optional(),
  })
  .refine((m) => [m.url, m.base64, m.fileId].filter((v) => v !== undefined).length === 1, {
    message: "give exactly one of url, base64 or fileId",
  })
  .refine(
    (m) =>
      m.url !== undefined ||
      m.mimeType === undefined ||
      (OUTBOUND_MEDIA_TYPES[m.type] as readonly string[]).includes(m.mimeType),
    {
      message: "mimeType is not one Meta accepts for this media type",
      path: ["mimeType"],
    },
  )
  .refine((m) => m.type === "document" || m.filename === undefined, {
    message: "filename is for documents only",
    path: ["filename"],
  });
export type OutboundMedia = z.infer<typeof outboundMediaSchema>;

/**
 * What the message stores in `request.media` once accepted (no bytes, no base64): the data layer's
 * `OutboundMediaRef`, narrowed to what this module produces.
 */
export type StoredOutboundMedia = OutboundMediaRef & { type: OutboundMediaType };

/** The outbound media's error catalog: a media a send names that cannot be stored or sent. */
export class OutboundMediaError extends defineErrors("OutboundMediaError", {
  MEDIA_TOO_LARGE: "the media is over Meta's size limit for its kind",
  MEDIA_TYPE: "the media's type is not one Meta accepts for its kind",
  MEDIA_MISSING: "the media is missing",
  MEDIA_URL_REFUSED: "the media URL is refused",
  MEDIA_URL_FAILED: "the media URL could not be fetched",
}) {}

/**
 * Ingress side: turns the accepted `media` into what is stored on the message. Base64 bytes go to
 * GridFS (tagged with the tenant), checked against Meta's size limit for the kind.
 */
export async function acceptOutboundMedia(
  db: Database,
  clientId: Types.ObjectId,
  media: OutboundMedia,
): Promise<StoredOutboundMedia> {
  const base: StoredOutboundMedia = {
    type: media.type,
    ...(media.caption ? { caption: media.caption } : {}),
    ...(media.filename ? { filename: media.filename } : {}),
  };
  if (media.url) return { ...base, url: media.url };
  if (media.fileId) {
    const [file] = await mediaBucket(db)
      .find({ _id: new Types.ObjectId(media.fileId), "metadata.clientId": clientId.toHexString() })
      .limit(1)
      .toArray();
    if (!file) throw new OutboundMediaError("MEDIA_MISSING", "no staged file with this fileId for this client");
    return { ...base, fileId: media.fileId, mimeType: String(file.metadata?.contentType ?? media.mimeType ?? "") };
  }
  const bytes = Buffer.from(media.base64!, "base64");
  const limit = MEDIA_SIZE_LIMITS[media.type];
  if (bytes.length === 0) throw new OutboundMediaError("MEDIA_MISSING", "the media is empty");
  if (bytes.length > limit)
    throw new OutboundMediaError(
      "MEDIA_TOO_LARGE",
      `${bytes.length} bytes is over Meta's ${limit}-byte limit for ${media.type}`,
    );
  const mimeType = media.mimeType ?? (media.type === "image" ? sniffImage(bytes) : "application/pdf");
  if (!mimeType || !(OUTBOUND_MEDIA_TYPES[media.type] as readonly string[]).includes(mimeType)) {
    throw new OutboundMediaError("MEDIA_TYPE", `give mimeType: one of ${OUTBOUND_MEDIA_TYPES[media.type].join(", ")}`);
  }
  const fileId = await stageBytes(db, clientId, bytes, mimeType, media.filename ?? `${media.type}`);
  return { ...base, fileId: fileId.toHexString(), mimeType };
}

/** Stores bytes to send later in GridFS, tagged with the tenant and direction. */
export async function stageBytes(
  db: Database,
  clientId: Types.ObjectId,
  bytes: Buffer,
  mimeType: string,
  filename: string,
): Promise<Types.ObjectId> {
  const upload = mediaBucket(db).openUploadStream(filename, {
    metadata: { clientId: clientId.toHexString(), direction: "outbound", contentType: mimeType },
  });
  await new Promise<void>((resolve, reject) =>
    upload
      .once("finish", () => resolve())
      .once("error", reject)
      .end(bytes),
  );
  return upload.id;
}

function sniffImage(b: Buffer): string | null {
  if (b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b.length > 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return "image/png";
  return null;
}

/** Meta keeps uploaded media 30 days; re-upload a little before. */
export const UPLOAD_REUSE_MS = 29 * 24 * 3_600_000;

/**
 * Media ids uploaded for a URL, per business number, shared by every worker process (Redis): a
 * campaign that sends one CDN link to thousands of candidates fetches and uploads it once, and sends
 * by the same id until Meta's 30 days are nearly over. The URL names the file: a changed file is
 * expected under a new URL (as CDNs version them); within a process, concurrent sends of one URL
 * wait for the same upload.
 */
export class MediaLinkCache {
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(
    private readonly redis: RedisClient,
    /** The deployment's key prefix (QUEUE_PREFIX). */
    private readonly prefix: string,
  ) {}

  private key(phoneNumberId: string, url: string): string {
    return `${this.prefix}:media:link:${phoneNumberId}:${createHash("sha256").update(url).digest("base64url")}`;
  }

  /** The media id uploaded for this URL from this number, if still fresh. */
  async get(phoneNumberId: string, url: string): Promise<string | null> {
    return this.redis.get(this.key(phoneNumberId, url));
  }

  async set(phoneNumberId: string, url: string, mediaId: string): Promise<void> {
    await this.redis.set(this.key(phoneNumberId, url), mediaId, "PX", UPLOAD_REUSE_MS);
  }

  /** Runs `upload` once per number and URL in this process at a time; others await its id. */
  single(phoneNumberId: string, url: string, upload: () => Promise<string>): Promise<string> {
    const k = `${phoneNumberId} ${url}`;
    const running = this.inFlight.get(k);
    if (running) return running;
    const p = upload().finally(() => this.inFlight.delete(k));
    this.inFlight.set(k, p);
    return p;
  }
}

/** What the worker needs to send a media: Meta's API, and for URLs the fetcher and the shared cache. */
export interface OutboundMediaDeps {
  db: Database;
  graph: GraphClient;
  fetcher?: MediaFetcher;
  links?: MediaLinkCache;
}

/**
 * Worker side: what `sendMedia` needs. A staged file is uploaded to Meta once; the media id is kept on
 * the message (`mediaUpload`) so a retried job sends by the same id instead of uploading again.
 */
export async function prepareOutboundMedia(
  deps: OutboundMediaDeps,
  input: {
    clientId: Types.ObjectId;
    messageId: Types.ObjectId;
    phoneNumberId: string;
    token: string;
    media: StoredOutboundMedia;
  },
): Promise<MediaSend> {
  const m = input.media;
  const common = {
    kind: m.type,
    ...(m.caption ? { caption: m.caption } : {}),
    ...(m.filename ? { filename: m.filename } : {}),
  } as const;
  if (!m.url && !m.fileId) throw new OutboundMediaError("MEDIA_MISSING", "the message names no media source");

  const current = await deps.db.messages
    .findOne({ _id: input.messageId, clientId: input.clientId }, { mediaUpload: 1 })
    .lean<{ mediaUpload?: { id: string; uploadedAt: Date } | null }>();
  const previous = current?.mediaUpload;
  if (previous && Date.now() - new Date(previous.uploadedAt).getTime() < UPLOAD_REUSE_MS)
    return { ...common, id: previous.id };
  const remember = (id: string) => deps.db.forTenant(input.clientId).outbound.rememberMediaUpload(input.messageId, id);

  if (m.url) {
    const id = await mediaIdForUrl(deps, input, m.url, m.type, m.filename);
    await remember(id);
    return { ...common, id };
  }

  const bucket = mediaBucket(deps.db);
  const fileId = new Types.ObjectId(m.fileId);
  const [file] = await bucket
    .find({ _id: fileId, "metadata.clientId": input.clientId.toHexString() })
    .limit(1)
    .toArray();
  if (!file) throw new OutboundMediaError("MEDIA_MISSING", "the staged file is gone");
  const chunks: Buffer[] = [];
  for await (const c of bucket.openDownloadStream(fileId)) chunks.push(c as Buffer);
  const mimeType = m.mimeType || String(file.metadata?.contentType ?? "application/octet-stream");
  const { id } = await uploadMedia(deps.graph, {
    phoneNumberId: input.phoneNumberId,
    token: input.token,
    bytes: Buffer.concat(chunks),
    mimeType,
    ...(m.filename ? { filename: m.filename } : {}),
  });
  await remember(id);
  return { ...common, id };
}

/**
 * The Meta media id for a URL: the shared cache's while fresh, else the URL fetched once (guarded:
 * MediaFetcher) and uploaded. A refused or permanently failing URL is an OutboundMediaError (the
 * message fails with its code); a transient failure throws as is (the job is retried).
 */
async function mediaIdForUrl(
  deps: OutboundMediaDeps,
  input: { phoneNumberId: string; token: string },
  url: string,
  type: HeaderMediaType,
  filename: string | undefined,
): Promise<string> {
  if (!deps.fetcher) throw new Error("a media URL needs the worker's MediaFetcher");
  const fetcher = deps.fetcher;
  const cached = await deps.links?.get(input.phoneNumberId, url);
  if (cached) return cached;
  const upload = async () => {
    let fetched;
    try {
      fetched = await fetcher.fetch(url, { kind: type, types: HEADER_MEDIA_TYPES[type] });
    } catch (err) {
      if (err instanceof MediaFetchError && err.kind === "permanent")
        throw new OutboundMediaError(err.code, err.message);
      throw err;
    }
    const name = filename ?? fetched.filename;
    const { id } = await uploadMedia(deps.graph, {
      phoneNumberId: input.phoneNumberId,
      token: input.token,
      bytes: fetched.bytes,
      mimeType: fetched.mimeType,
      ...(name ? { filename: name } : {}),
    });
    await deps.links?.set(input.phoneNumberId, url, id);
    return id;
  };
  return deps.links ? deps.links.single(input.phoneNumberId, url, upload) : upload();
}

/** Types Meta accepts for a template's media header: a media message's, and videos (MP4, 3GPP). */
export const HEADER_MEDIA_TYPES = { ...OUTBOUND_MEDIA_TYPES, video: ["video/mp4", "video/3gpp"] } as const;
export type HeaderMediaType = keyof typeof HEADER_MEDIA_TYPES;
const isHeaderMediaType = (t: unknown): t is HeaderMediaType =>
  typeof t === "string" && Object.hasOwn(HEADER_MEDIA_TYPES, t);

/**
 * Worker side, for templates: a media header given by `link` (`{ type: "header", parameters: [{ type:
 * "image", image: { link } }] }`) is sent by media id instead, through the same fetch-once, upload,
 * cache-per-number-and-URL path as a media message (Meta's fetcher rate-limits links on shared hosts,
 * 131053; Chatwoot #13159 shows image headers failing otherwise). Returns the components to send
 * (the input when no header has a link). A refused URL throws OutboundMediaError; a transient failure
 * throws as is.
 */
export async function uploadTemplateHeaderLinks(
  deps: OutboundMediaDeps,
  input: { phoneNumberId: string; token: string },
  components: readonly unknown[],
): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const c of components) {
    const comp = c as { type?: unknown; parameters?: unknown };
    if (comp?.type !== "header" || !Array.isArray(comp.parameters)) {
      out.push(c);
      continue;
    }
    const parameters: unknown[] = [];
    for (const p of comp.parameters as Array<Record<string, unknown>>) {
      const kind = p?.type;
      const media = isHeaderMediaType(kind)
        ? (p[kind] as { link?: unknown; filename?: unknown } | undefined)
        : undefined;
      if (!isHeaderMediaType(kind) || typeof media?.link !== "string") {
        parameters.push(p);
        continue;
      }
      const filename = typeof media.filename === "string" ? media.filename : undefined;
      const id = await mediaIdForUrl(deps, input, media.link, kind, filename);
      const { link: _link, ...rest } = media;
      parameters.push({ ...p, [kind]: { id, ...rest } });
    }
    out.push({ ...comp, parameters });
  }
  return out;
}

/** Whether a template's components carry a media header by link (uploadTemplateHeaderLinks has work). */
export const hasHeaderLink = (components: readonly unknown[]): boolean =>
  components.some(
    (c) =>
      (c as { type?: unknown })?.type === "header" &&
      Array.isArray((c as { parameters?: unknown }).parameters) &&
      ((c as { parameters: Array<Record<string, unknown>> }).parameters ?? []).some(
        (p) => isHeaderMediaType(p?.type) && typeof (p[p.type] as { link?: unknown } | undefined)?.link === "string",
      ),
  );

/**
 * Ingress side: removes a file `acceptOutboundMedia` staged for a message that was not stored after
 * all (a concurrent request with the same Idempotency-Key won, or the write failed). Best effort.
 */
export async function discardStagedMedia(
  db: Database,
  clientId: Types.ObjectId,
  media: StoredOutboundMedia,
): Promise<void> {
  if (!media.fileId) return;
  const fileId = new Types.ObjectId(media.fileId);
  const [file] = await mediaBucket(db)
    .find({ _id: fileId, "metadata.clientId": clientId.toHexString() })
    .limit(1)
    .toArray();
  if (file) await mediaBucket(db).delete(fileId);
}
