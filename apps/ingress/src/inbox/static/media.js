// @ts-check
// Media of a message through the authenticated media endpoint: fetched with the Bearer header and
// shown from a blob (the page's Content-Security-Policy allows blobs only), on the recruiter's click.

import { el, textNode } from "./dom.js";
import { state } from "./state.js";

/** @typedef {import("./types.js").Message} Message */
/**
 * A media message's content, as Meta names its fields.
 * @typedef {{ caption?: string, filename?: string, mime_type?: string, voice?: boolean }} MediaContent
 */

// Text badges rather than emoji: they render on machines without an emoji font.
/** @type {Record<string, string>} */
const MEDIA_ICON = { image: "IMG", video: "VID", audio: "AUD", document: "DOC", sticker: "STK" };

const BLOB_TYPES = new Set([
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

/** @param {string | null} contentType */
function blobType(contentType) {
  const base = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  return BLOB_TYPES.has(base) ? base : "application/octet-stream";
}

/**
 * An object URL of the message's file (kept for the page's life).
 * @param {string} messageId
 * @returns {Promise<string>}
 */
async function mediaUrl(messageId) {
  const known = state.mediaUrls.get(messageId);
  if (known) return known;
  const res = await fetch(`/api/media/${messageId}`, { headers: { authorization: `Bearer ${state.token}` } });
  if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
  // The blob carries an allow-listed type only (as the server serves it): never one a browser would run.
  const url = URL.createObjectURL(
    new Blob([await res.arrayBuffer()], { type: blobType(res.headers.get("content-type")) }),
  );
  state.mediaUrls.set(messageId, url);
  return url;
}

/**
 * A media message's box: its kind and name, and a button that fetches the file (an image already
 * fetched is shown at once).
 * @param {Message} m
 * @param {MediaContent} c
 */
export function renderMedia(m, c) {
  const kind = m.type;
  const name = kind === "document" ? (c.filename ?? "document") : kind === "audio" && c.voice ? "voice message" : kind;
  const box = el(
    "div",
    { class: "media", "data-media": m.id },
    el("span", {
      class: "media-icon",
      "aria-hidden": "true",
      text: (kind === "document" && /pdf/.test(c.mime_type ?? "") ? "PDF" : MEDIA_ICON[kind]) ?? "FILE",
    }),
  );
  const note = el("div", { class: "media-note", text: c.mime_type ?? "" });
  const info = el("div", {}, textNode("div", name, "media-name"), note);
  box.append(info);
  const cached = state.mediaUrls.get(m.id);
  if ((kind === "image" || kind === "sticker") && cached) {
    box.replaceChildren(el("img", { src: cached, alt: c.caption ?? `${kind} from the candidate` }));
    return box;
  }
  const open = el("button", {
    type: "button",
    class: "link-btn",
    text: kind === "image" || kind === "sticker" ? "Show" : kind === "document" ? "Download" : "Play",
  });
  const show = async () => {
    note.textContent = "loading…";
    try {
      const url = await mediaUrl(m.id);
      if (kind === "image" || kind === "sticker")
        box.replaceChildren(el("img", { src: url, alt: c.caption ?? `${kind} from the candidate` }));
      else if (kind === "audio") box.append(el("audio", { src: url, controls: true }));
      else if (kind === "video") box.append(el("video", { src: url, controls: true, width: "280" }));
      else {
        const a = el("a", { href: url, download: c.filename ?? "document" });
        document.body.append(a);
        a.click();
        a.remove();
      }
      note.textContent = c.mime_type ?? "";
    } catch (err) {
      const status = /** @type {{ status?: number }} */ (err).status;
      note.textContent =
        status === 404
          ? "not available yet (the file is still being fetched, or failed)"
          : `could not load: ${err instanceof Error ? err.message : String(err)}`;
    }
  };
  open.addEventListener("click", () => void show());
  info.append(open);
  return box;
}
