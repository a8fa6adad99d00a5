/**
 * Headers that make serving files received from strangers safe: a content type a browser will not run
 * as a page, and a Content-Disposition whose filename cannot break the header (RFC 6266 with the
 * RFC 5987 `filename*` for non-ASCII names such as "السيرة الذاتية.pdf").
 */

/** Types a browser renders as active content of our origin: served as opaque bytes instead. */
const ACTIVE_TYPES =
  /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|text\/javascript|application\/javascript|application\/ecmascript|text\/ecmascript)\b/i;
const VALID_TYPE =
  /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*(\s*;\s*[a-z0-9-]+=("[^"\r\n]*"|[a-z0-9!#$&^_.+-]+))*$/i;

export function servedContentType(mimeType: string | null): string {
  if (!mimeType || !VALID_TYPE.test(mimeType.trim()) || ACTIVE_TYPES.test(mimeType.trim()))
    return "application/octet-stream";
  return mimeType.trim();
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
