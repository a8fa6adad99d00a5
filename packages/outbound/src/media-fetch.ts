import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { createHash } from "node:crypto";
import ipaddr from "ipaddr.js";
import { Agent, request, type Dispatcher } from "undici";
import { MEDIA_SIZE_LIMITS } from "@linkojob/whatsapp";

/**
 * Fetching a send's media URL ourselves, once, so that it can be uploaded to Meta and sent by media
 * id. Passing the URL to Meta as a `link` makes Meta's fetcher download it, and Meta rate-limits that
 * fetcher on shared hosts (131053, "media upload error"): a campaign to many candidates with one CDN
 * link then fails for most of them. The fetch is an outbound request from our network to a URL a
 * caller chose, so it is guarded against server-side request forgery:
 * - https only, on every hop; redirects followed by hand (at most 3), each one checked again;
 * - every address the host resolves to must be public unicast (no loopback, private, link-local,
 *   CGNAT, unique-local, multicast, reserved or IPv4-mapped private addresses); the connection goes
 *   to the address that was checked (the check is in the socket's DNS lookup, so a second resolution
 *   cannot swap in another address);
 * - Meta's size limit for the kind (from Content-Length, then while reading: the body is cut off
 *   past it) and a type Meta accepts for the kind (the Content-Type, else the bytes' signature);
 * - a total time limit.
 */

export class MediaFetchError extends Error {
  constructor(
    /** `permanent`: retrying cannot help (refused address, 404, too large, wrong type). */
    readonly kind: "permanent" | "transient",
    readonly code: "MEDIA_URL_REFUSED" | "MEDIA_URL_FAILED" | "MEDIA_TOO_LARGE" | "MEDIA_TYPE",
    message: string,
  ) {
    super(message);
    this.name = "MediaFetchError";
  }
}

export interface MediaFetchOptions {
  /**
   * Host names allowed to resolve to non-public addresses (a CDN inside the deployment's network,
   * or a test server). Empty by default: only public addresses are fetched.
   */
  allowPrivateHosts?: readonly string[];
  /** Extra trusted CA certificates (PEM), e.g. a test server's self-signed one. */
  ca?: string | readonly string[];
  /** Whole fetch, redirects included. Default 20 s. */
  timeoutMs?: number;
  /** Default 3. */
  maxRedirects?: number;
}

export interface FetchedMedia {
  bytes: Buffer;
  mimeType: string;
  /** The last path segment of the final URL, when it looks like a file name. */
  filename?: string;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
}

/** True for an address a fetch may connect to: public unicast only. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  // ::ffff:10.0.0.1 and the like are judged as the IPv4 address they carry.
  const parsed = ipaddr.process(address);
  return parsed.range() === "unicast";
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A DNS lookup for the socket that refuses hosts resolving to a non-public address. */
function guardedLookup(allowPrivate: ReadonlySet<string>) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses;
      const refused = list.find((a) => !isPublicAddress(a.address));
      if (refused && !allowPrivate.has(hostname.toLowerCase())) {
        const e = new Error(`${hostname} resolves to a non-public address`) as NodeJS.ErrnoException;
        e.code = "EMEDIAADDRESS";
        return callback(e, []);
      }
      if (options.all) return callback(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

/** Types Meta accepts per kind, with the kind's size limit. */
export interface MediaKindRule {
  kind: keyof typeof MEDIA_SIZE_LIMITS;
  types: readonly string[];
}

function sniff(b: Buffer): string | null {
  if (b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b.length > 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return "image/png";
  if (b.length > 4 && b.subarray(0, 5).toString("latin1") === "%PDF-") return "application/pdf";
  return null;
}

const fileNameOf = (url: URL): string | undefined => {
  const last = decodeURIComponent(url.pathname.split("/").pop() ?? "");
  return /^[^\\/\r\n\0]{1,240}\.[A-Za-z0-9]{1,8}$/.test(last) ? last : undefined;
};

/**
 * One fetcher per process: it keeps its connection pool (an undici Agent whose sockets resolve
 * through the guarded lookup).
 */
export class MediaFetcher {
  private readonly agent: Dispatcher;
  private readonly timeoutMs: number;
  private readonly maxRedirects: number;
  private readonly allow: ReadonlySet<string>;

  constructor(options: MediaFetchOptions = {}) {
    const allow = new Set((options.allowPrivateHosts ?? []).map((h) => h.toLowerCase()));
    this.allow = allow;
    this.agent = new Agent({
      connect: {
        lookup: guardedLookup(allow),
        ...(options.ca ? { ca: options.ca as string | string[] } : {}),
      },
      connections: 16,
      headersTimeout: options.timeoutMs ?? 20_000,
      bodyTimeout: options.timeoutMs ?? 20_000,
    });
    this.timeoutMs = options.timeoutMs ?? 20_000;
    this.maxRedirects = options.maxRedirects ?? 3;
  }

  /** Downloads `url` for a media of this kind, or throws MediaFetchError. */
  async fetch(url: string, rule: MediaKindRule): Promise<FetchedMedia> {
    const limit = MEDIA_SIZE_LIMITS[rule.kind];
    const signal = AbortSignal.timeout(this.timeoutMs);
    let current = this.checkedUrl(url);
    for (let hop = 0; ; hop++) {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(current, {
          dispatcher: this.agent,
          method: "GET",
          signal,
          headers: { accept: rule.types.join(", "), "user-agent": "LinkoJob-media-fetch/1" },
        });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? (err as { cause?: { code?: string } }).cause?.code;
        if (code === "EMEDIAADDRESS")
          throw new MediaFetchError("permanent", "MEDIA_URL_REFUSED", `${current.hostname} is not a public host`);
        if (code === "ENOTFOUND")
          throw new MediaFetchError("permanent", "MEDIA_URL_FAILED", `${current.hostname} does not resolve`);
        throw new MediaFetchError(
          "transient",
          "MEDIA_URL_FAILED",
          `fetching the media failed: ${(err as Error).message}`,
        );
      }
      if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
        await res.body.dump();
        if (hop >= this.maxRedirects)
          throw new MediaFetchError("permanent", "MEDIA_URL_REFUSED", `more than ${this.maxRedirects} redirects`);
        const location = Array.isArray(res.headers.location) ? res.headers.location[0]! : res.headers.location;
        current = this.checkedUrl(new URL(location, current).href);
        continue;
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        const transient = res.statusCode >= 500 || res.statusCode === 429 || res.statusCode === 408;
        throw new MediaFetchError(
          transient ? "transient" : "permanent",
          "MEDIA_URL_FAILED",
          `the media URL answered HTTP ${res.statusCode}`,
        );
      }
      const declared = Number(res.headers["content-length"] ?? NaN);
      if (Number.isFinite(declared) && declared > limit) {
        await res.body.dump();
        throw new MediaFetchError(
          "permanent",
          "MEDIA_TOO_LARGE",
          `${declared} bytes is over Meta's ${limit}-byte limit for ${rule.kind}`,
        );
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > limit) {
          res.body.destroy();
          throw new MediaFetchError("permanent", "MEDIA_TOO_LARGE", `over Meta's ${limit}-byte limit for ${rule.kind}`);
        }
        chunks.push(chunk as Buffer);
      }
      const bytes = Buffer.concat(chunks);
      if (bytes.length === 0) throw new MediaFetchError("permanent", "MEDIA_URL_FAILED", "the media URL gave no bytes");
      const header = String(res.headers["content-type"] ?? "")
        .split(";")[0]!
        .trim()
        .toLowerCase();
      const mimeType = rule.types.includes(header) ? header : sniff(bytes);
      if (!mimeType || !rule.types.includes(mimeType))
        throw new MediaFetchError(
          "permanent",
          "MEDIA_TYPE",
          `the media URL serves ${header || "an unknown type"}; Meta takes ${rule.types.join(", ")} for ${rule.kind}`,
        );
      const filename = fileNameOf(current);
      return {
        bytes,
        mimeType,
        sha256: createHash("sha256").update(bytes).digest("hex"),
        ...(filename ? { filename } : {}),
      };
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private checkedUrl(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new MediaFetchError("permanent", "MEDIA_URL_REFUSED", "the media URL is not a URL");
    }
    if (url.protocol !== "https:")
      throw new MediaFetchError("permanent", "MEDIA_URL_REFUSED", "the media URL must be https");
    if (url.username || url.password)
      throw new MediaFetchError("permanent", "MEDIA_URL_REFUSED", "the media URL must not carry credentials");
    // A literal address is judged here (the lookup is not called for it).
    const host = url.hostname.replace(/^\[|\]$/g, "");
    if (ipaddr.isValid(host) && !isPublicAddress(host) && !this.allow.has(host.toLowerCase()))
      throw new MediaFetchError("permanent", "MEDIA_URL_REFUSED", `${host} is not a public address`);
    return url;
  }
}
