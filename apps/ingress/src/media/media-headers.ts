/**
 * Headers that make serving files received from strangers safe: a content type a browser will not run
 * as a page, and a Content-Disposition whose filename cannot break the header (RFC 6266 with the
 * RFC 5987 `filename*` for non-ASCII names such as "السيرة الذاتية.pdf").
 */

/**
 * The only types served as what they claim: the kinds WhatsApp carries that the inbox shows (JPEG,
 * PNG and WebP images and stickers, audio, MP4 video, PDF). A deny-list of active types always misses
 * one (application/vnd.wap.xhtml+xml, text/xsl, application/x-javascript…); everything else is served
 * as opaque bytes, which a browser downloads and never renders.
 */
const SERVED_TYPES = new Set([
  "image/jpeg",
  "image/png",
  "image/webp",
  "audio/aac",
  "audio/amr",
  "audio/mpeg",
  "audio/mp4",
  "audio/ogg",
  "video/mp4",
  "application/pdf",
]);

/** The type to serve a stored file as: its media type (parameters dropped) when allow-listed, else application/octet-stream. */
export function servedContentType(mimeType: string | null): string {
  const base = (mimeType ?? "").split(";")[0]!.trim().toLowerCase();
  return SERVED_TYPES.has(base) ? base : "application/octet-stream";
}

/** RFC 5987 ext-value: UTF-8, percent-encoded beyond attr-char. */
const rfc5987 = (s: string) =>
  encodeURIComponent(s).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** A printable-ASCII fallback without quotes, backslashes, path separators or control characters. */
function asciiFallback(name: string): string {
  const cleaned = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^\x20-\x7e]|["\\/%;]/g, "_")
    .trim();
  return cleaned.slice(0, 150) || "file";
}

/** Documents download with their filename; images, audio, video and stickers show inline. */
export function contentDisposition(type: string, filename: string | null): string {
  const name = (filename ?? "")
    .replace(/[\r\n\0]/g, "")
    .replace(/^.*[\\/]/, "")
    .slice(0, 255);
  if (type !== "document") return "inline";
  if (!name) return "attachment";
  return `attachment; filename="${asciiFallback(name)}"; filename*=UTF-8''${rfc5987(name)}`;
}
