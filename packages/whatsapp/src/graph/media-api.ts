import { Readable } from "node:stream";
import { FormData, request as undiciRequest, type Dispatcher } from "undici";
import { graphPath, type GraphClient } from "./graph-client.js";
import { GraphResponseError } from "./graph-errors.js";

/**
 * The Graph API media calls:
 * - `GET /{media-id}` → `{ url, mime_type, sha256, file_size, id }`; the URL lives about 5 minutes
 *   and is downloaded with the same bearer token (peers lose media by storing the URL, or by fetching
 *   it without the token);
 * - the download of that URL;
 * - `POST /{phone-number-id}/media` (multipart: messaging_product, type, file) → `{ id }`, valid 30 days.
 */

/** Meta's size limits per media type, in bytes (stickers: 500 KB animated, the larger of the two). */
export const MEDIA_SIZE_LIMITS = {
  image: 5 * 1024 * 1024,
  audio: 16 * 1024 * 1024,
  video: 16 * 1024 * 1024,
  document: 100 * 1024 * 1024,
  sticker: 500 * 1024,
} as const;
export type MediaKind = keyof typeof MEDIA_SIZE_LIMITS;
export const isMediaKind = (type: string): type is MediaKind => Object.hasOwn(MEDIA_SIZE_LIMITS, type);

export interface MediaInfo {
  id: string;
  url: string;
  mimeType: string | null;
  /** As Meta gives it (hex in the retrieve answer; the webhook's is base64): compare with sha256Matches. */
  sha256: string | null;
  fileSize: number | null;
}

interface MediaInfoResponse {
  id?: string;
  url?: string;
  mime_type?: string;
  sha256?: string;
  file_size?: number | string;
}

/** GET /{version}/{media-id} with the tenant's token. Throws GraphApiError (e.g. 100 for an unknown or expired id). */
export async function getMediaInfo(
  graph: GraphClient,
  input: { mediaId: string; token: string; timeoutMs?: number },
): Promise<MediaInfo> {
  const what = `GET ${input.mediaId}`;
  const res = await graph.get<MediaInfoResponse>(graphPath(input.mediaId), {
    token: input.token,
    ...(input.timeoutMs ? { headersTimeoutMs: input.timeoutMs, bodyTimeoutMs: input.timeoutMs } : {}),
  });
  if (!res || typeof res.url !== "string" || !res.url)
    throw new GraphResponseError("the media answer has no url", what, 200);
  const size = res.file_size === undefined ? null : Number(res.file_size);
  return {
    id: typeof res.id === "string" ? res.id : input.mediaId,
    url: res.url,
    mimeType: typeof res.mime_type === "string" ? res.mime_type : null,
    sha256: typeof res.sha256 === "string" ? res.sha256 : null,
    fileSize: size !== null && Number.isFinite(size) && size >= 0 ? size : null,
  };
}

/**
 * The 32 bytes of a sha256 as Meta spells it. The retrieve-media answer documents a hex digest, while
 * webhooks carry base64 (e.g. `"sha256": "ian…jM4k="` in WhatsApp/WhatsApp-Business-API-Setup-Scripts#73):
 * both are accepted; anything else is null.
 */
export function sha256Bytes(value: string | null | undefined): Buffer | null {
  if (typeof value !== "string") return null;
  const v = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, "hex");
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(v)) {
    const b = Buffer.from(v.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    return b.length === 32 ? b : null;
  }
  return null;
}

/** True when `expected` (hex or base64) names the digest `actual`. */
export function sha256Matches(expected: string | null | undefined, actual: Buffer): boolean {
  const e = sha256Bytes(expected);
  return e !== null && e.equals(actual);
}

export type MediaDownloadErrorKind =
  /** 401/403/404/410: the URL expired (about 5 minutes) or no longer accepts the token: fetch a fresh URL. */
  | "expired"
  /** 5xx, 429, network errors, timeouts: retry later. */
  | "transient"
  /** The URL is not one Meta would hand out: the token is not sent there. */
  | "untrusted"
  /** Any other answer. */
  | "rejected";

export class MediaDownloadError extends Error {
  static readonly errorCode = "GRAPH_ERR_MEDIA_DOWNLOAD";
  constructor(
    readonly kind: MediaDownloadErrorKind,
    message: string,
    readonly httpStatus: number | null = null,
  ) {
    super(message);
    this.name = "MediaDownloadError";
  }
}

/** Hosts Meta serves media downloads from. */
const META_MEDIA_HOSTS = [/\.fbsbx\.com$/, /\.facebook\.com$/, /\.fbcdn\.net$/, /\.whatsapp\.net$/];

/**
 * Whether the bearer token may be sent to `url`: the Graph API's own origin (the simulator in tests),
 * or https on Meta's media hosts. A token must never follow a URL to anywhere else.
 */
export function isTrustedMediaUrl(url: string, graphBaseUrl: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.origin === new URL(graphBaseUrl).origin) return true;
  return u.protocol === "https:" && META_MEDIA_HOSTS.some((re) => re.test(u.hostname));
}

export interface MediaDownload {
  /** The body; the caller must consume or destroy it. */
  body: Readable;
  contentLength: number | null;
  contentType: string | null;
}

export interface DownloadMediaOptions {
  url: string;
  token: string;
  /** META_GRAPH_URL, to decide whether the URL is trusted with the token. */
  graphBaseUrl: string;
  /** Time to headers and between body chunks. Default 30 000 ms. */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
}

/**
 * Starts downloading a media URL with the bearer token (Meta refuses it without). Resolves once the
 * headers of a 2xx answer arrived; errors are MediaDownloadError, never carrying the token or the URL's
 * query (which holds Meta's signature).
 */
export async function downloadMedia(options: DownloadMediaOptions): Promise<MediaDownload> {
  if (!isTrustedMediaUrl(options.url, options.graphBaseUrl)) {
    throw new MediaDownloadError("untrusted", `refusing to send the token to ${safeUrl(options.url)}`);
  }
  const timeout = options.timeoutMs ?? 30_000;
  let res: Dispatcher.ResponseData<unknown>;
  try {
    res = await undiciRequest(options.url, {
      method: "GET",
      headers: { authorization: `Bearer ${options.token}`, accept: "*/*" },
      headersTimeout: timeout,
      bodyTimeout: timeout,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    const code = (err as { code?: string })?.code ?? "";
    throw new MediaDownloadError(
      "transient",
      `download of ${safeUrl(options.url)} failed: ${code || (err as Error)?.name || "network error"}`,
    );
  }
  const status = res.statusCode;
  if (status < 200 || status >= 300) {
    res.body.resume(); // discard
    const kind: MediaDownloadErrorKind = [401, 403, 404, 410].includes(status)
      ? "expired"
      : status >= 500 || status === 429
        ? "transient"
        : "rejected";
    throw new MediaDownloadError(kind, `download of ${safeUrl(options.url)} answered HTTP ${status}`, status);
  }
  const len = Number(res.headers["content-length"]);
  const type = res.headers["content-type"];
  return {
    body: res.body as unknown as Readable,
    contentLength: Number.isFinite(len) && len >= 0 ? len : null,
    contentType: typeof type === "string" ? type : null,
  };
}

/** Origin and path only: the query of a Meta media URL is a credential of sorts. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return "an invalid URL";
  }
}

export interface UploadMediaInput {
  phoneNumberId: string;
  token: string;
  bytes: Uint8Array;
  mimeType: string;
  filename?: string;
  timeoutMs?: number;
}

/**
 * POST /{version}/{phone-number-id}/media as multipart/form-data (undici FormData): answers the media
 * id to send by (valid 30 days). Not idempotent: callers store the id and reuse it on retries.
 */
export async function uploadMedia(graph: GraphClient, input: UploadMediaInput): Promise<{ id: string }> {
  const what = `POST ${input.phoneNumberId}/media`;
  const form = new FormData();
  form.set("messaging_product", "whatsapp");
  form.set("type", input.mimeType);
  form.set("file", new Blob([input.bytes], { type: input.mimeType }), input.filename ?? "file");
  const res = await graph.post<{ id?: string }>(graphPath(input.phoneNumberId, "media"), {
    token: input.token,
    body: form as unknown as globalThis.FormData,
    ...(input.timeoutMs ? { headersTimeoutMs: input.timeoutMs, bodyTimeoutMs: input.timeoutMs } : {}),
  });
  if (!res || typeof res.id !== "string" || !res.id)
    throw new GraphResponseError("the upload answered without an id", what, 200);
  return { id: res.id };
}
