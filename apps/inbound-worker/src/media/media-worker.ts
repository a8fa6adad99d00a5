import { Queue, UnrecoverableError, Worker, type Job } from "bullmq";
import type { RedisClient } from "@linkojob/queues";
import type { Logger } from "pino";
import type { ClientStatusChange, Database, MessageDoc } from "@linkojob/db";
import { CLIENTS_CHANGED_CHANNEL, type DashboardEvents, parseClientChanged } from "@linkojob/events";
import {
  MEDIA_FETCH_JOB,
  MEDIA_FETCH_QUEUE,
  cappedBackoff,
  mediaFetchJobId,
  mediaFetchJobOptions,
  mediaFetchJobSchema,
  type MediaFetchJob,
} from "@linkojob/queues";
import type { TokenVault } from "@linkojob/vault";
import { isMediaKind, type GraphClient } from "@linkojob/whatsapp";
import { MEDIA_ID_LIFETIME_MS, MediaFetcher, type MediaFetchOutcome } from "./media-fetcher.js";

/** What InboundWorker needs to fetch inbound media; without it, media stays as Meta's ids only. */
export interface MediaWorkerOptions {
  graph: GraphClient;
  /** META_GRAPH_URL (the download URL must be on its origin or on Meta's media hosts). */
  graphBaseUrl: string;
  vault: TokenVault;
  /** Files fetched at once. Default 4 (each holds a download stream and a GridFS upload). */
  concurrency?: number;
  /** First delay of the retry backoff (capped exponential with jitter). Default 2 000 ms. */
  backoffBaseMs?: number;
  /** Attempts per file. Default mediaFetchJobOptions.attempts (10). */
  attempts?: number;
  /** Per-call timeout of Meta's answers and the download, ms. Default 30 000. */
  timeoutMs?: number;
}

export interface MediaWorkerDeps extends MediaWorkerOptions {
  db: Database;
  queueRedis: RedisClient;
  /** Subscriber-mode connection that receives CLIENTS_CHANGED_CHANNEL (shared with the ClientDirectory). */
  subscriberRedis: RedisClient;
  events: DashboardEvents;
  logger: Logger;
  prefix: string;
  announce?: (changes: ClientStatusChange[]) => Promise<void>;
}

/**
 * The `media-fetch` queue and its consumer. Inbound media is enqueued as soon as the message is stored
 * (Meta's download URL expires in ~5 minutes, the media id in 7 days). Fetches held for a client in
 * reauth_required resume when that client is announced `active` again; held ones older than 7 days
 * are failed by the sweep (at start, then hourly).
 */
export class MediaWorker {
  readonly queue: Queue<MediaFetchJob>;
  readonly fetcher: MediaFetcher;
  private worker: Worker<MediaFetchJob, MediaFetchOutcome> | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  private readonly onChange = (channel: string, raw: string) => {
    const msg = parseClientChanged(channel, raw);
    if (!msg) return;
    if (msg.status !== "active") return;
    void this.resumeHeld(msg.clientId).catch((err: unknown) =>
      this.deps.logger.error({ err, clientId: msg.clientId }, "could not resume held media"),
    );
  };

  constructor(private readonly deps: MediaWorkerDeps) {
    this.queue = new Queue<MediaFetchJob>(MEDIA_FETCH_QUEUE, { connection: deps.queueRedis, prefix: deps.prefix });
    this.fetcher = new MediaFetcher({
      db: deps.db,
      graph: deps.graph,
      graphBaseUrl: deps.graphBaseUrl,
      vault: deps.vault,
      events: deps.events,
      logger: deps.logger,
      ...(deps.announce ? { announce: deps.announce } : {}),
      ...(deps.timeoutMs ? { timeoutMs: deps.timeoutMs } : {}),
    });
  }

  /** Enqueues the fetch of a freshly stored inbound media message (no-op for other types; one job per message). */
  async enqueue(
    clientId: string,
    message: Pick<MessageDoc, "_id" | "type" | "direction" | "media">,
    suffix?: string,
  ): Promise<void> {
    if (message.direction !== "inbound" || !isMediaKind(message.type)) return;
    if (message.media?.status === "stored" || message.media?.status === "failed") return;
    const messageId = message._id.toHexString();
    await this.queue.add(
      MEDIA_FETCH_JOB,
      { clientId, messageId },
      {
        ...mediaFetchJobOptions,
        ...(this.deps.attempts ? { attempts: this.deps.attempts } : {}),
        jobId: mediaFetchJobId(messageId, suffix),
      },
    );
  }

  async start(): Promise<void> {
    this.worker = new Worker<MediaFetchJob, MediaFetchOutcome>(MEDIA_FETCH_QUEUE, (job) => this.handle(job), {
      connection: this.deps.queueRedis,
      prefix: this.deps.prefix,
      concurrency: this.deps.concurrency ?? 4,
      settings: {
        backoffStrategy: (attemptsMade: number) => cappedBackoff(attemptsMade, this.deps.backoffBaseMs ?? 2_000),
      },
    });
    this.worker.on("failed", (job, err) =>
      this.deps.logger.warn(
        { jobId: job?.id, attempts: job?.attemptsMade, err: err.message },
        "media fetch failed; will retry",
      ),
    );
    this.worker.on("error", (err) => this.deps.logger.error({ err }, "media worker error"));
    await this.worker.waitUntilReady();
    this.deps.subscriberRedis.on("message", this.onChange);
    await this.deps.subscriberRedis.subscribe(CLIENTS_CHANGED_CHANNEL);
    await this.sweep().catch((err: unknown) => this.deps.logger.error({ err }, "media sweep failed"));
    this.sweepTimer = setInterval(
      () => void this.sweep().catch((err: unknown) => this.deps.logger.error({ err }, "media sweep failed")),
      3_600_000,
    );
    this.sweepTimer.unref();
  }

  private async handle(job: Job<MediaFetchJob>): Promise<MediaFetchOutcome> {
    const data = mediaFetchJobSchema.safeParse(job.data);
    if (!data.success) throw new UnrecoverableError(`bad media job: ${data.error.message}`);
    const attempt = job.attemptsMade + 1;
    const outcome = await this.fetcher.fetch(data.data.clientId, data.data.messageId, attempt, job.opts.attempts ?? 1);
    this.deps.logger.debug({ jobId: job.id, ...outcome }, "media fetch done");
    return outcome;
  }

  /** Re-enqueues the fetches held for one client (called when it is `active` again). */
  async resumeHeld(clientId: string): Promise<number> {
    const held = await this.deps.db.messages
      .find(
        { clientId, direction: "inbound", "media.status": "pending", "media.heldReason": { $type: "string" } },
        { _id: 1, type: 1, direction: 1, media: 1 },
      )
      .lean<Array<Pick<MessageDoc, "_id" | "type" | "direction" | "media">>>();
    for (const m of held) await this.enqueue(clientId, m, `resume-${Date.now()}`);
    if (held.length) this.deps.logger.info({ clientId, count: held.length }, "resumed held media fetches");
    return held.length;
  }

  /** Resumes held fetches of clients that are active, and fails those whose media id is past 7 days. */
  async sweep(): Promise<void> {
    const held = await this.deps.db.messages
      .find(
        { direction: "inbound", "media.status": "pending", "media.heldReason": { $type: "string" } },
        { _id: 1, clientId: 1, type: 1, direction: 1, media: 1, timestamp: 1 },
      )
      .lean<Array<Pick<MessageDoc, "_id" | "clientId" | "type" | "direction" | "media" | "timestamp">>>();
    const clientIds = [...new Set(held.map((m) => m.clientId.toHexString()))];
    const active = new Set(
      (await this.deps.db.clients.find({ _id: { $in: clientIds }, status: "active" }, { _id: 1 }).lean()).map((c) =>
        c._id.toHexString(),
      ),
    );
    for (const m of held) {
      const clientId = m.clientId.toHexString();
      if (Date.now() - new Date(m.timestamp).getTime() > MEDIA_ID_LIFETIME_MS) {
        // The fetcher records MEDIA_ID_EXPIRED (and announces it) before looking at the client.
        await this.fetcher.fetch(clientId, m._id.toHexString()).catch(() => undefined);
      } else if (active.has(clientId)) {
        await this.enqueue(clientId, m, `resume-${Date.now()}`);
      }
    }
  }

  /** Stops intake and waits for active fetches. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      this.deps.subscriberRedis.off("message", this.onChange);
      await this.worker?.close();
      await this.queue.close();
    })();
    return this.closing;
  }
}
