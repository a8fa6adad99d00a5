import { Types } from "mongoose";
import type { Logger } from "pino";
import {
  mediaBucket,
  type ClientDoc,
  type ClientStatusChange,
  type Database,
  type MessageDoc,
  type MessageMedia,
} from "@linkojob/db";
import { EVENTS, mediaJson, messageMedia, type DashboardEvents } from "@linkojob/events";
import { CLIENT_STATUS_REASONS, markClientReauthRequired } from "@linkojob/outbound";
import type { TokenVault } from "@linkojob/vault";
import {
  GraphApiError,
  MEDIA_SIZE_LIMITS,
  MediaDownloadError,
  classifyGraphError,
  downloadMedia,
  getMediaInfo,
  isMediaKind,
  sha256Matches,
  type GraphClient,
  type MediaKind,
} from "@linkojob/whatsapp";
import { KeyedMutex } from "./keyed-mutex.js";
import { storeStream, TooLargeError } from "./media-bucket.js";
import { MediaFailure, MediaRetryableError } from "./media-failure.js";

/** Meta keeps the media ids of webhooks 7 days. */
export const MEDIA_ID_LIFETIME_MS = 7 * 24 * 3_600_000;

/** Fresh download URLs tried within one attempt when the previous one had expired. */
const URL_TRIES = 3;

export interface MediaFetcherDeps {
  db: Database;
  graph: GraphClient;
  /** META_GRAPH_URL: the download URL must be on its origin or on Meta's media hosts to get the token. */
  graphBaseUrl: string;
  vault: TokenVault;
  events: DashboardEvents;
  logger: Logger;
  /** Announces a client that a 190 moved to reauth_required. */
  announce?: (changes: ClientStatusChange[]) => Promise<void>;
  /** Per-call limit of Meta's answers and of the download's pauses, ms. Default 30 000. */
  timeoutMs?: number;
  now?: () => number;
}

export type MediaFetchOutcome =
  | { outcome: "stored"; fileId: string; size: number }
  | { outcome: "failed"; code: string; reason: string }
  | { outcome: "held"; reason: string }
  | { outcome: "skipped"; reason: string };

interface MediaContent {
  id?: unknown;
  mime_type?: unknown;
  sha256?: unknown;
  filename?: unknown;
}

type MessageFields = Pick<
  MessageDoc,
  "_id" | "clientId" | "conversationId" | "type" | "content" | "timestamp" | "media" | "direction"
>;

/**
 * Fetches one inbound media file: the tenant's token (vault), `GET /{media-id}` for a fresh URL, the
 * download at once with the bearer token, size limit and sha256 checks, GridFS, then `media` on the
 * message and a `message:media` event. Safe to run twice: a stored file is never fetched again, and of
 * two concurrent fetches only one record wins (the other's file is deleted).
 */
export class MediaFetcher {
  private readonly locks = new KeyedMutex();
  private readonly now: () => number;

  constructor(private readonly deps: MediaFetcherDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * @param attempt 1-based number of this attempt; @param maxAttempts the job's attempts. A transient
   * failure on the last attempt is recorded as `failed` (GAVE_UP) instead of being thrown.
   */
  async fetch(clientId: string, messageId: string, attempt = 1, maxAttempts = 1): Promise<MediaFetchOutcome> {
    const _id = new Types.ObjectId(messageId);
    const cid = new Types.ObjectId(clientId);
    const message = await this.deps.db.messages
      .findOne(
        { _id, clientId: cid },
        { clientId: 1, conversationId: 1, type: 1, content: 1, timestamp: 1, media: 1, direction: 1 },
      )
      .lean<MessageFields>();
    if (!message) return { outcome: "skipped", reason: "message not found" };
    if (!isMediaKind(message.type) || message.direction !== "inbound")
      return { outcome: "skipped", reason: `not inbound media (${message.type})` };
    if (message.media?.status === "stored" || message.media?.status === "failed")
      return { outcome: "skipped", reason: `already ${message.media.status}` };

    try {
      return await this.fetchMedia(message, message.type, attempt);
    } catch (err) {
      if (err instanceof MediaFailure) {
        await this.record(message, {
          status: "failed",
          error: { code: err.code, reason: err.message },
          attempts: attempt,
        });
        return { outcome: "failed", code: err.code, reason: err.message };
      }
      const reason = err instanceof Error ? err.message : String(err);
      if (attempt >= maxAttempts) {
        const giveUp = `gave up after ${attempt} attempts; last error: ${reason}`;
        await this.record(message, { status: "failed", error: { code: "GAVE_UP", reason: giveUp }, attempts: attempt });
        return { outcome: "failed", code: "GAVE_UP", reason: giveUp };
      }
      await this.deps.db
        .forTenant(cid)
        .messages.setMedia(
          _id,
          { status: "pending", attempts: attempt, error: { code: "RETRYING", reason }, updatedAt: new Date() },
          true,
        );
      throw err instanceof MediaRetryableError ? err : new MediaRetryableError(reason);
    }
  }

  private async fetchMedia(message: MessageFields, kind: MediaKind, attempt: number): Promise<MediaFetchOutcome> {
    const content = (message.content ?? {}) as MediaContent;
    const mediaId = typeof content.id === "string" && content.id ? content.id : null;
    if (!mediaId) throw new MediaFailure("MEDIA_ID_MISSING", "the webhook carried no media id");
    if (this.now() - new Date(message.timestamp).getTime() > MEDIA_ID_LIFETIME_MS) {
      throw new MediaFailure(
        "MEDIA_ID_EXPIRED",
        "the media id is older than the 7 days Meta keeps it; the file can no longer be fetched",
      );
    }

    const client = await this.deps.db.clients
      .findById(message.clientId, { status: 1, accessToken: 1 })
      .lean<Pick<ClientDoc, "_id" | "status" | "accessToken">>();
    if (!client || client.status === "disconnected" || !client.accessToken) {
      throw new MediaFailure(
        "CLIENT_DISCONNECTED",
        "the WhatsApp number was disconnected, so its media cannot be fetched",
      );
    }
    if (client.status !== "active") return this.hold(message, client.status, attempt);
    const token = this.deps.vault.decrypt(client.accessToken, client._id.toHexString());

    const limit = MEDIA_SIZE_LIMITS[kind];
    let lastExpiry = "";
    for (let i = 0; i < URL_TRIES; i++) {
      let info;
      try {
        info = await getMediaInfo(this.deps.graph, { mediaId, token, timeoutMs: this.deps.timeoutMs ?? 30_000 });
      } catch (err) {
        const c = classifyGraphError(err);
        if (c.reauth) {
          const change = await markClientReauthRequired(
            this.deps.db,
            message.clientId,
            CLIENT_STATUS_REASONS.tokenInvalid,
            {
              detail: err instanceof Error ? err.message : null,
            },
          );
          if (change?.changed) await this.deps.announce?.([change]);
          return this.hold(message, "reauth_required", attempt);
        }
        if (c.retryable) throw new MediaRetryableError(`media info: ${c.reason}`);
        if (err instanceof GraphApiError && err.code === 100) {
          throw new MediaFailure("MEDIA_NOT_FOUND", `Meta no longer has this media (code 100: ${err.message})`);
        }
        throw new MediaFailure("META_REJECTED", `Meta refused the media lookup (${c.code ?? "no code"}: ${c.reason})`);
      }
      if (info.fileSize !== null && info.fileSize > limit) {
        throw new MediaFailure("MEDIA_TOO_LARGE", `${info.fileSize} bytes is over the ${limit}-byte limit for ${kind}`);
      }

      let download;
      try {
        download = await downloadMedia({
          url: info.url,
          token,
          graphBaseUrl: this.deps.graphBaseUrl,
          timeoutMs: this.deps.timeoutMs ?? 30_000,
        });
      } catch (err) {
        if (err instanceof MediaDownloadError && err.kind === "expired") {
          // Meta's URL lives ~5 minutes: ask for a fresh one (peers store the URL and serve a 404 later).
          lastExpiry = err.message;
          continue;
        }
        if (err instanceof MediaDownloadError && err.kind === "transient") throw new MediaRetryableError(err.message);
        throw new MediaFailure("DOWNLOAD_REJECTED", err instanceof Error ? err.message : "download refused");
      }
      if (download.contentLength !== null && download.contentLength > limit) {
        download.body.destroy();
        throw new MediaFailure(
          "MEDIA_TOO_LARGE",
          `${download.contentLength} bytes is over the ${limit}-byte limit for ${kind}`,
        );
      }

      const mimeType =
        info.mimeType ??
        (typeof content.mime_type === "string" ? content.mime_type : null) ??
        download.contentType ??
        "application/octet-stream";
      const filename =
        typeof content.filename === "string" && content.filename ? content.filename : `${kind}-${mediaId}`;
      const bucket = mediaBucket(this.deps.db);
      let stored;
      try {
        stored = await storeStream(bucket, download.body, {
          filename,
          contentType: mimeType,
          limit,
          metadata: {
            clientId: message.clientId.toHexString(),
            messageId: message._id.toHexString(),
            mediaId,
            direction: "inbound",
          },
        });
      } catch (err) {
        if (err instanceof TooLargeError)
          throw new MediaFailure("MEDIA_TOO_LARGE", `the file is over the ${limit}-byte limit for ${kind}`);
        throw new MediaRetryableError(`download interrupted: ${err instanceof Error ? err.message : String(err)}`);
      }

      // Both of Meta's digests must name these bytes when present: the webhook's (base64) is what
      // the candidate's phone computed, the retrieve answer's (hex) what Meta serves.
      const expected = [content.sha256, info.sha256].filter((v): v is string => typeof v === "string" && v.length > 0);
      const mismatched = expected.filter((v) => !sha256Matches(v, stored.sha256));
      if (mismatched.length > 0) {
        await bucket.delete(stored.fileId).catch(() => undefined);
        throw new MediaFailure(
          "SHA256_MISMATCH",
          "the downloaded bytes do not match the sha256 Meta gave; the file was discarded",
        );
      }

      const media: MessageMedia = {
        status: "stored",
        fileId: stored.fileId,
        size: stored.size,
        mimeType,
        filename: typeof content.filename === "string" && content.filename ? content.filename : null,
        sha256Ok: expected.length > 0,
        sha256: stored.sha256.toString("hex"),
        error: null,
        heldReason: null,
        attempts: attempt,
      };
      const won = await this.record(message, media);
      if (!won) {
        await bucket.delete(stored.fileId).catch(() => undefined);
        return { outcome: "skipped", reason: "stored by another attempt" };
      }
      return { outcome: "stored", fileId: stored.fileId.toHexString(), size: stored.size };
    }
    throw new MediaRetryableError(`the download URL expired ${URL_TRIES} times in a row (${lastExpiry})`);
  }

  /** Pending until the client is active again (resumed by MediaWorker), or failed after 7 days. */
  private async hold(message: MessageFields, reason: string, attempt: number): Promise<MediaFetchOutcome> {
    await this.record(message, { status: "pending", heldReason: reason, attempts: attempt, error: null });
    this.deps.logger.info(
      { clientId: message.clientId.toHexString(), messageId: message._id.toHexString(), reason },
      "media fetch held until the client reconnects",
    );
    return { outcome: "held", reason };
  }

  /**
   * Writes `media` unless a file is already stored (or failed, for non-pending writes), and announces
   * it. Returns whether this write won.
   */
  private record(message: MessageFields, media: MessageMedia): Promise<boolean> {
    const key = message._id.toHexString();
    return this.locks.run(key, async () => {
      const wrote = await this.deps.db
        .forTenant(message.clientId)
        .messages.setMedia(message._id, { ...media, updatedAt: new Date() }, media.status === "pending");
      if (!wrote) return false;
      if (media.status !== "pending" || media.heldReason) {
        const clientId = message.clientId.toHexString();
        this.deps.events.toClient(
          clientId,
          EVENTS.messageMedia,
          messageMedia({
            clientId,
            conversationId: message.conversationId.toHexString(),
            messageId: key,
            media: mediaJson(media),
          }),
        );
      }
      return true;
    });
  }
}
