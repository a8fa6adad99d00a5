import { sendingLimitHandlers } from "./account/sending-limits.handler.js";
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from "bullmq";
import type { RedisClient } from "@linkojob/queues";
import type { Logger } from "pino";
import type { Database } from "@linkojob/db";
import { CONVERSATIONS_DELETED_CHANNEL, parseConversationsDeleted, type DashboardEvents } from "@linkojob/events";
import {
  OUTBOUND_QUEUE,
  RedisLockSet,
  WEBHOOK_QUEUE,
  type OutboundJob,
  cappedBackoff,
  ingressStreamKey,
  webhookJobSchema,
  type WebhookJob,
} from "@linkojob/queues";
import type { GatewayMetrics } from "@linkojob/metrics";
import {
  CampaignProgress,
  ClientStatusAnnouncer,
  OptOutErasure,
  OptOutRegister,
  countCampaignReplies,
  SendState,
  createOutboundStatusHook,
  createTemplateStatusHandler,
  createUserPreferencesHandler,
  templateEventHandlers,
  type PriceTable,
} from "@linkojob/outbound";
import { accountUpdateHandler } from "./account/account-update.handler.js";
import { IngressPump } from "./pump/ingress-pump.js";
import { Upkeep } from "./upkeep/upkeep.js";
import { ClientDirectory } from "./routing/client-directory.js";
import {
  CountPendingError,
  DeliveryProcessor,
  type AccountEventHandler,
  type DeliveryProcessorDeps,
  type PreparedDelivery,
  type ProcessResult,
  type StatusHook,
} from "./routing/delivery-processor.js";
import { MicroBatcher } from "./routing/micro-batcher.js";
import { conversationLocks } from "./routing/conversation-locks.js";
import { classifyFailure } from "./routing/failure-class.js";
import { recordDeadLetter } from "./routing/dead-letters.js";
import { MediaWorker, type MediaWorkerOptions } from "./media/media-worker.js";
import { AnalyticsWorker } from "./analytics/analytics-worker.js";
import {
  ErasureWorker,
  RetentionPurge,
  prefixHasher,
  type IdentifierHasher,
  type OptOutKeeper,
  type RetentionPolicy,
} from "@linkojob/privacy";

/** Jitter added to the wait of a delivery whose message another worker is counting (CountPendingError.retryAfterMs). */
const COUNT_PENDING_JITTER_MS = 500;

export interface InboundWorkerDeps {
  db: Database;
  /** For BullMQ (blocking commands; maxRetriesPerRequest null). */
  queueRedis: RedisClient;
  /** For the pump's XREADGROUP (blocks, so a connection of its own). */
  pumpRedis: RedisClient;
  /** Subscriber-mode connection for CLIENTS_CHANGED_CHANNEL. */
  subscriberRedis: RedisClient;
  events: DashboardEvents;
  logger: Logger;
  prefix: string;
  /** Deliveries (BullMQ jobs) in flight at once; they are written together in batches. Default 64. */
  concurrency?: number;
  /** Told how long each batch's steps took (benchmarks); nothing is measured without it. */
  onBatchTimed?: DeliveryProcessorDeps["onBatchTimed"];
  /** Prices per pricing category (OUTBOUND_PRICE_TABLE) the status hook reconciles costs with. */
  prices?: PriceTable;
  /** Handlers of non-message fields, over the defaults (account_update, message_template_status_update). */
  accountHandlers?: Partial<Record<string, AccountEventHandler>>;
  /** Reaction to delivery statuses. Default: the outbound side's (cost from pricing, 131047 fallback). */
  onStatus?: StatusHook;
  /** Run the stream→queue pump in this process. Default true. */
  pump?: boolean;
  /** Run the scheduled upkeep (token-expiry sweep, purges) in this process. Default true. */
  upkeep?: boolean;
  /** Fetch inbound media into GridFS. Without it, media messages keep Meta's ids only. */
  media?: MediaWorkerOptions;
  /** Counts dead letters (`lj_inbound_dead_letters_total`), purged and erased records. */
  metrics?: GatewayMetrics;
  /**
   * Candidates' erasures and the retention purge, run with the upkeep (where `upkeep` is not false).
   * Default: the default retention (RETENTION_*'s defaults), a hash key derived from the prefix
   * (prefixHasher, tests), and the opt-out kept as keyed hashes in the register (OptOutErasure).
   */
  personalData?: {
    hasher?: IdentifierHasher;
    policy?: RetentionPolicy;
    purgeEveryMs?: number;
    batchSize?: number;
    pauseMs?: number;
    /** The purge's pause as a multiple of each batch's duration (RETENTION_PURGE_PAUSE_FACTOR). */
    pauseFactor?: number;
    /** The purge's longest wait for live work before a batch (RETENTION_PURGE_MAX_YIELD_MS). */
    maxYieldMs?: number;
    optOut?: OptOutKeeper;
  };
}

/**
 * The inbound worker: the pump moves acknowledged deliveries from the ingress stream into the
 * webhook queue; the BullMQ worker prepares each delivery (normalise, route) and hands it to a
 * micro-batcher, which writes the deliveries in flight together into MongoDB and announces them to
 * dashboards; each job completes when its batch is stored.
 * Whoever created the connections closes them after close().
 */
export class InboundWorker {
  readonly queue: Queue<WebhookJob>;
  /** Where status reactions enqueue sends (the 131047 template fallback). */
  readonly outboundQueue: Queue<OutboundJob>;
  readonly directory: ClientDirectory;
  readonly processor: DeliveryProcessor;
  /** Gathers the jobs in flight into batches written together (one batch at a time). */
  private readonly batcher: MicroBatcher<PreparedDelivery, ProcessResult>;
  private readonly pump: IngressPump | null;
  readonly upkeep: Upkeep | null;
  readonly media: MediaWorker | null;
  /** What an erasure keeps of the candidate's opt-out: keyed hashes in the register (OptOutErasure). */
  private readonly optOutErasure: OptOutErasure;
  /** Projects what the batches wrote into the analytics counters (its own queue). */
  readonly analytics: AnalyticsWorker;
  /** Runs candidates' erasures (with the upkeep); null where upkeep is off. */
  erasures: ErasureWorker | null = null;
  private worker: Worker<WebhookJob> | null = null;
  private closing: Promise<void> | null = null;
  /** Campaigns' live counts (statuses and first replies of their messages). */
  readonly campaigns: CampaignProgress;

  constructor(private readonly deps: InboundWorkerDeps) {
    this.queue = new Queue<WebhookJob>(WEBHOOK_QUEUE, { connection: deps.queueRedis, prefix: deps.prefix });
    this.outboundQueue = new Queue<OutboundJob>(OUTBOUND_QUEUE, { connection: deps.queueRedis, prefix: deps.prefix });
    this.directory = new ClientDirectory(deps.db, deps.subscriberRedis);
    const sendState = new SendState({
      redis: deps.queueRedis,
      prefix: deps.prefix,
      db: deps.db,
      hasher: deps.personalData?.hasher ?? prefixHasher(deps.prefix),
    });
    this.optOutErasure = new OptOutErasure({ db: deps.db, state: sendState.optOuts });
    const announcer = new ClientStatusAnnouncer({
      db: deps.db,
      events: deps.events,
      publisher: deps.queueRedis,
      log: deps.logger,
      sendState,
    });
    const media = deps.media
      ? new MediaWorker({
          ...deps.media,
          db: deps.db,
          queueRedis: deps.queueRedis,
          subscriberRedis: deps.subscriberRedis,
          events: deps.events,
          logger: deps.logger,
          prefix: deps.prefix,
          announce: (c) => announcer.announce(c),
        })
      : null;
    this.media = media;
    // The candidates' opt-outs: their STOP / START words, identity changes and Meta's marketing preference.
    const optOuts = new OptOutRegister({
      db: deps.db,
      state: sendState.optOuts,
      events: deps.events,
      logger: deps.logger,
    });
    const locks = new RedisLockSet(deps.queueRedis);
    // Campaigns' counts: their messages' statuses (the status hook) and the candidates' first replies.
    const campaigns = new CampaignProgress({
      redis: deps.queueRedis,
      prefix: deps.prefix,
      events: deps.events,
      db: deps.db,
      logger: deps.logger,
    });
    this.campaigns = campaigns;
    const analytics = new AnalyticsWorker({
      db: deps.db,
      redis: deps.queueRedis,
      prefix: deps.prefix,
      logger: deps.logger,
      // The templates a projection found answered: a campaign's count `replied` (idempotent, so a retried job is harmless).
      onReplies: (replies) => countCampaignReplies(deps.db, campaigns, replies),
    });
    this.analytics = analytics;
    this.processor = new DeliveryProcessor({
      db: deps.db,
      // One writer per conversation across processes (the free ones of a batch's set, or all of a merge's).
      lockConversations: conversationLocks(locks, deps.prefix, deps.logger),
      directory: this.directory,
      events: deps.events,
      logger: deps.logger,
      accountHandlers: {
        account_update: accountUpdateHandler(announcer),
        ...sendingLimitHandlers({ db: deps.db, redis: deps.queueRedis, prefix: deps.prefix, announcer }),
        message_template_status_update: createTemplateStatusHandler({ publisher: deps.queueRedis, sendState }),
        ...templateEventHandlers({ publisher: deps.queueRedis, sendState }),
        user_preferences: createUserPreferencesHandler({ db: deps.db, register: optOuts, logger: deps.logger }),
        ...deps.accountHandlers,
      },
      onStatus:
        deps.onStatus ??
        createOutboundStatusHook({
          queue: this.outboundQueue,
          logger: deps.logger,
          announcer,
          campaigns,
          ...(deps.prices ? { prices: deps.prices } : {}),
        }),
      onConversationsWritten: (conversations) => sendState.writeWindows(conversations),
      // Conversations merged into the person's oldest (a number change): every worker drops their cached ids.
      onConversationsMerged: async (merged) => {
        await deps.queueRedis.publish(CONVERSATIONS_DELETED_CHANNEL, JSON.stringify(merged));
      },
      onMessages: async (messages) => {
        await optOuts.fromInbound(
          messages.map(({ clientId, event }) => ({
            clientId,
            ...(event.waId ? { waId: event.waId } : {}),
            ...(event.userId ? { userId: event.userId } : {}),
            wamid: event.message.wamid,
            type: event.message.type,
            text: event.message.text,
            timestamp: event.message.timestamp,
            ...(event.identityChange ? { identityChange: event.identityChange } : {}),
          })),
        );
      },
      onMessagesWritten: (refs) => analytics.enqueue(refs),
      ...(deps.onBatchTimed ? { onBatchTimed: deps.onBatchTimed } : {}),
      ...(media
        ? {
            onMessageStored: (clientId: string, m: Parameters<MediaWorker["enqueue"]>[1]) => media.enqueue(clientId, m),
          }
        : {}),
    });
    this.batcher = new MicroBatcher({ flush: (batch) => this.processor.storeBatch(batch) });
    this.pump =
      deps.pump === false
        ? null
        : new IngressPump({ redis: deps.pumpRedis, queue: this.queue, prefix: deps.prefix, logger: deps.logger });
    this.upkeep =
      deps.upkeep === false
        ? null
        : new Upkeep({
            db: deps.db,
            redis: deps.queueRedis,
            events: deps.events,
            announcer,
            logger: deps.logger,
            prefix: deps.prefix,
            retention: new RetentionPurge({
              db: deps.db,
              redis: deps.queueRedis,
              events: deps.events,
              ...(deps.personalData?.policy ? { policy: deps.personalData.policy } : {}),
              ...(deps.personalData?.batchSize ? { batchSize: deps.personalData.batchSize } : {}),
              ...(deps.personalData?.pauseMs !== undefined ? { pauseMs: deps.personalData.pauseMs } : {}),
              ...(deps.personalData?.pauseFactor !== undefined ? { pauseFactor: deps.personalData.pauseFactor } : {}),
              ...(deps.personalData?.maxYieldMs !== undefined ? { maxYieldMs: deps.personalData.maxYieldMs } : {}),
              // Live work first: deliveries in the stream or the queue, sends queued or running.
              liveBacklog: () => this.liveBacklog(),
              onPurged: (collection, n) => deps.metrics?.purged.inc({ collection }, n),
            }),
            ...(deps.personalData?.purgeEveryMs ? { retentionEveryMs: deps.personalData.purgeEveryMs } : {}),
          });
  }

  async start(): Promise<void> {
    await this.directory.start();
    // Conversations deleted by an erasure or the retention purge, wherever it ran: their cached ids go.
    this.deps.subscriberRedis.on("message", (channel: string, raw: string) => {
      const deleted = parseConversationsDeleted(channel, raw);
      if (deleted) this.processor.forgetConversations(new Set(deleted.conversationIds));
    });
    await this.deps.subscriberRedis.subscribe(CONVERSATIONS_DELETED_CHANNEL);
    this.worker = new Worker<WebhookJob>(WEBHOOK_QUEUE, (job, token) => this.handle(job, token), {
      connection: this.deps.queueRedis,
      prefix: this.deps.prefix,
      concurrency: this.deps.concurrency ?? 64,
      settings: { backoffStrategy: (attemptsMade: number) => cappedBackoff(attemptsMade) },
    });
    this.worker.on("failed", (job, err) =>
      this.deps.logger.warn(
        { jobId: job?.id, attempts: job?.attemptsMade, err: err.message },
        "webhook delivery attempt failed",
      ),
    );
    this.worker.on("error", (err) => this.deps.logger.error({ err }, "inbound worker error"));
    await this.worker.waitUntilReady();
    await this.media?.start();
    await this.analytics.start();
    await this.pump?.start();
    await this.upkeep?.start();
    if (this.upkeep) {
      const pd = this.deps.personalData;
      this.erasures = new ErasureWorker({
        db: this.deps.db,
        redis: this.deps.queueRedis,
        prefix: this.deps.prefix,
        events: this.deps.events,
        hasher: pd?.hasher ?? prefixHasher(this.deps.prefix),
        logger: this.deps.logger,
        optOut: pd?.optOut ?? this.optOutErasure,
        onRemoved: (collection, n) => this.deps.metrics?.erased.inc({ collection }, n),
      });
    }
  }

  /**
   * Live work waiting in this deployment: webhook deliveries not yet moved from the ingress stream or
   * not yet stored, and sends queued or running (the retention purge waits while it is above 0).
   */
  async liveBacklog(): Promise<number> {
    const [stream, inbound, outbound] = await Promise.all([
      this.deps.queueRedis.xlen(ingressStreamKey(this.deps.prefix)),
      this.queue.getJobCounts("waiting", "active", "prioritized"),
      this.outboundQueue.getJobCounts("waiting", "active", "prioritized"),
    ]);
    const sum = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
    return stream + sum(inbound) + sum(outbound);
  }

  /** The BullMQ worker once started (main.ts instruments its events for /metrics); null before start(). */
  get bullWorker(): Worker<WebhookJob> | null {
    return this.worker;
  }

  private async handle(job: Job<WebhookJob>, token?: string) {
    const data = webhookJobSchema.safeParse(job.data);
    if (!data.success) throw new UnrecoverableError(`bad webhook job: ${data.error.message}`);
    try {
      const receivedAt = new Date(data.data.receivedAt);
      const prepared = {
        ...(await this.processor.prepare(
          data.data.deliveryId,
          data.data.body,
          Number.isFinite(receivedAt.getTime()) ? receivedAt : new Date(),
        )),
        isRetry: job.attemptsMade > 0,
      };
      // Completed only once its batch is stored: nothing is acknowledged that was not written.
      const result =
        prepared.messages.length || prepared.statuses.length ? await this.batcher.submit(prepared) : prepared.result;
      this.deps.logger.debug({ jobId: job.id, ...result }, "webhook delivery processed");
      return result;
    } catch (err) {
      if (err instanceof CountPendingError && token) {
        // A redelivery processed while another worker counts the message it stored: a live batch
        // releases it within moments, so look again soon (a second; later for an older claim, whose
        // writer may be dead), without spending an attempt (an exponential backoff here left such
        // deliveries waiting minutes behind a finished count). Bounded: a claim older than its lease
        // (60 s) is taken over.
        await job.moveToDelayed(Date.now() + err.retryAfterMs + Math.random() * COUNT_PENDING_JITTER_MS, token);
        throw new DelayedError();
      }
      throw await this.failure(job, data.data, err);
    }
  }

  /**
   * What a failed attempt throws. A database or network failure is thrown as is (BullMQ retries it
   * with capped backoff) until the job's last attempt; a deterministic failure, or the last attempt,
   * records the delivery as a dead letter and fails the job for good (UnrecoverableError naming the
   * dead letter: it stays in BullMQ's failed set, visible in Bull Board). If the dead letter cannot be
   * recorded, the original error is thrown: the job retries, or stays failed with its body in Redis.
   */
  private async failure(job: Job<WebhookJob>, data: WebhookJob, err: unknown): Promise<Error> {
    const failure = classifyFailure(err);
    const attempts = job.attemptsMade + 1;
    const lastAttempt = attempts >= (job.opts.attempts ?? 1);
    const error = err instanceof Error ? err : new Error(String(err));
    if (failure.kind === "transient" && !lastAttempt) return error;
    const reason = failure.kind === "deterministic" ? "deterministic" : "retries_exhausted";
    try {
      const id = await recordDeadLetter(this.deps.db, { id: String(job.id), data, attempts }, err, failure, reason);
      this.deps.metrics?.inboundDeadLetters.inc({ reason });
      this.deps.logger.error(
        { jobId: job.id, deliveryId: data.deliveryId, deadLetterId: id.toHexString(), reason, err: error.message },
        "webhook delivery recorded as a dead letter",
      );
      return new UnrecoverableError(`dead letter ${id.toHexString()} (${reason}): ${failure.name}: ${error.message}`);
    } catch (recordErr) {
      this.deps.logger.error(
        { jobId: job.id, err: error.message, recordErr },
        "dead letter could not be recorded; the job keeps its body",
      );
      return error;
    }
  }

  /** Stops intake (pump, then worker after its active jobs), within BullMQ's own close. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.pump?.close();
      await this.upkeep?.close();
      await this.erasures?.close();
      await this.worker?.close();
      await this.media?.close();
      await this.analytics.close();
      await this.queue.close();
      await this.outboundQueue.close();
      await this.campaigns.close();
    })();
    return this.closing;
  }
}
