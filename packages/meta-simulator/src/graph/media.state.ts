import { createHash, randomBytes } from "node:crypto";
import type { SimState } from "../state.js";

/**
 * The fake Meta world of media (ids valid 7 days, download URLs about 5 minutes): files a candidate "sent"
 * (seeded by tests and the demo, then named by a webhook's media id) and files a business uploaded,
 * the short-lived download URLs handed out for them, and the faults tests switch on.
 */
export const MEDIA_AREA = "media";

/** Meta's download URLs expire after about 5 minutes. */
export const DEFAULT_URL_TTL_MS = 5 * 60_000;

export interface SimMediaFaults {
  /** The next N URLs handed out are already expired (their download answers 404). */
  expiredUrls?: number;
  /** The next N `GET /{media-id}` answer 500. */
  infoServerErrors?: number;
  /** The next N downloads answer 500. */
  downloadServerErrors?: number;
  /** `GET /{media-id}` answers Meta's "object does not exist" (code 100), as for an id past its 7 days. */
  notFound?: boolean;
  /** The sha256 reported (retrieve answer) is not the file's. */
  wrongSha256?: boolean;
  /** `file_size` reported instead of the real one (oversize tests without sending megabytes). */
  reportedSize?: number;
  /** Bytes served instead of the file (e.g. more than the size limit, with the real size reported). */
  servedBytes?: Buffer;
}

export interface SimMedia {
  id: string;
  bytes: Buffer;
  mimeType: string;
  filename: string | null;
  /** Hex, as the retrieve-media answer spells it. */
  sha256Hex: string;
  /** When set, only this bearer token may retrieve it (the tenant's token). */
  token: string | null;
  /** The number it was uploaded from (uploads only). */
  phoneNumberId: string | null;
  createdAt: number;
  faults: SimMediaFaults;
  infoCalls: number;
  downloads: number;
}

export interface SimMediaUrl {
  mediaId: string;
  /** The token that retrieved the URL: the download needs it. */
  token: string;
  expiresAt: number;
}

export interface MediaSimState {
  media: Map<string, SimMedia>;
  urls: Map<string, SimMediaUrl>;
  urlTtlMs: number;
}

export const mediaState = (state: SimState): MediaSimState =>
  state.area<MediaSimState>(MEDIA_AREA, () => ({ media: new Map(), urls: new Map(), urlTtlMs: DEFAULT_URL_TTL_MS }));

let seq = 0;
/** A media id as Meta's look: 15-16 digits. */
export const newMediaId = () => `${Date.now()}${String(++seq % 1000).padStart(3, "0")}`.slice(-16);

export function addMedia(
  state: SimState,
  input: {
    bytes: Buffer;
    mimeType: string;
    filename?: string | null;
    token?: string | null;
    phoneNumberId?: string | null;
  },
): SimMedia {
  const m: SimMedia = {
    id: newMediaId(),
    bytes: input.bytes,
    mimeType: input.mimeType,
    filename: input.filename ?? null,
    sha256Hex: createHash("sha256").update(input.bytes).digest("hex"),
    token: input.token ?? null,
    phoneNumberId: input.phoneNumberId ?? null,
    createdAt: Date.now(),
    faults: {},
    infoCalls: 0,
    downloads: 0,
  };
  mediaState(state).media.set(m.id, m);
  return m;
}

export function issueMediaUrl(state: SimState, mediaId: string, token: string, expired: boolean): string {
  const s = mediaState(state);
  const key = randomBytes(16).toString("hex");
  s.urls.set(key, { mediaId, token, expiresAt: expired ? Date.now() - 1 : Date.now() + s.urlTtlMs });
  return key;
}
