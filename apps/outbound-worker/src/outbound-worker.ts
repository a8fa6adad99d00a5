import { Queue, Worker, type Job } from "bullmq";
import type { RedisClient } from "@linkojob/queues";
import type { Logger } from "pino";
import type { Types } from "mongoose";
import type { ClientDoc, Database } from "@linkojob/db";
import { CLIENTS_CHANGED_CHANNEL, type DashboardEvents, parseClientChanged } from "@linkojob/events";
import {
  CAMPAIGN_EXPANSION_QUEUE,
  OUTBOUND_CAMPAIGN_QUEUE,
  campaignExpansionJobSchema,
  type CampaignExpansionJob,
  OUTBOUND_QUEUE,
  TEMPLATE_SYNC_JOB,
  TEMPLATE_SYNC_QUEUE,
  cappedBackoff,
  duplicateRedis,
  outboundJobId,
  type OutboundJob,
  type StreamPump,
} from "@linkojob/queues";
import type { TokenVault } from "@linkojob/vault";
import { retryDelayMs, type GraphClient } from "@linkojob/whatsapp";
import { SendPacer, type PacerOptions } from "./pacing/send-pacer.js";
import {
  CampaignExpander,
  CampaignProgress,
  ClientStatusAnnouncer,
  SendDecider,
  OptOutRegister,
  SendCaches,
  SendGate,
  SendState,
  enqueueSend,
  lazyWorkerAnalytics,
  publishTemplatesChanged,
  recheckAccountHolds,
  type AccountHoldRecheck,
  type ExpansionPacing,
  type IdentifierHash,
  type OutboundQueue,
  type SendingPolicy,
} from "@linkojob/outbound";
import { RetryableSendError } from "./send/send-errors.js";
import { InboundBacklog } from "./send/inbound-backlog.js";
import { SendProcessor, type SendOutcome, type SendProcessorOptions } from "./send/send-processor.js";
import { clientAccessToken } from "./send/token-access.js";
import { refreshMessagingLimits } from "./send/messaging-limit-refresh.js";
import {
  MediaFetcher,
  MediaLinkCache,
  createOutboundStatusHook,
  syncTemplates,
  sendIntakePump,
  type MediaFetchOptions,
  type OutboundStatusHook,
} from "@linkojob/outbound";
import { startReceiptWorker } from "./receipts/read-receipt.processor.js";
import { prefixHasher } from "@linkojob/privacy";

export interface OutboundWorkerDeps {
  db: Database;
  /** For BullMQ (blocking commands; maxRetriesPerRequest null). */
  queueRedis: RedisClient;
  /** Commands: message locks, pacing, publishing client changes. */
  redis: RedisClient;
  /** Subscriber-mode connection for CLIENTS_CHANGED_CHANNEL (held sends resume on `active`). */
  subscriberRedis: RedisClient;
  graph: GraphClient;
  vault: TokenVault;
  events: DashboardEvents;
  logger: Logger;
  prefix: string;
  /**
   * The deployment's keyed hash of candidates' identifiers (PERSONAL_DATA_HASH_KEY): the check before
   * the Graph call also refuses a candidate whose opt-out an erasure kept as a hash. Default:
   * prefixHasher(prefix), as the ingress's and the inbound worker's defaults (tests).
   */
  personalDataHasher?: IdentifierHash;
  /** Jobs processed at once. Default 32 (each mostly waits on Meta). */
  concurrency?: number;
  /** Campaign jobs processed at once (OUTBOUND_CAMPAIGN_QUEUE), beside `concurrency`. Default 4. */
  campaignConcurrency?: number;
  /** How a campaign's expansion shares the process: recipients per slice, pause after each (DEFAULT_EXPANSION_PACING). */
  expansionPacing?: ExpansionPacing;
  /**
   * Replies first, in this process: a campaign send (and an expansion's slice) about to start while
   * main-lane sends (replies, single sends) are running waits until none is, at most this long.
   * Default 100 ms (0: no waiting).
   */
  campaignGiveWayMs?: number;
  send?: Omit<SendProcessorOptions, "prefix">;
  pacing?: Omit<PacerOptions, "prefix">;
  /** First delay of the exponential retry backoff. Default 1,000 ms. */
  retryBaseMs?: number;
  /** Templates of every active client's WABA are synced this often (0 = never). Default 6 h. */
  templateSyncIntervalMs?: number;
  /** At start, messages left queued/sending longer than this without a live job are re-enqueued. Default 10 min. */
  recoverAfterMs?: number;
  /**
   * Account-level pauses (131042, 131031, 368, 131048, 133010) are re-checked this often; a pause
   * older than its reason's period (accountHoldRecheckMs) lets the held sends try again. Default 60 s
   * (0 = never).
   */
  accountHoldCheckEveryMs?: number;
  /** Per reason, how long a pause lasts before the re-check. Default DEFAULT_ACCOUNT_HOLD_RECHECK_MS (spam 1 h, others 6 h). */
  accountHoldRecheckMs?: Partial<AccountHoldRecheck>;
  /** How often the send state's marker is checked, rebuilt when Redis lost it. Default 5,000 ms (0 = only at start). */
  sendStateCheckEveryMs?: number;
  /** The portfolio messaging budget's moving window (MESSAGING_LIMIT_WINDOW_MS). Default 24 h. */
  messagingLimitWindowMs?: number;
  /** How often every client's portfolio limit is read from the Graph API, also at start and on each connection (0 = never). Default 0; main.ts: MESSAGING_LIMIT_REFRESH_MS (6 h). */
  messagingLimitRefreshMs?: number;
  /** The sending policy of tenants that set none (SENDING_DEFAULT_*). Default: no quiet hours. */
  defaultSendingPolicy?: SendingPolicy;
  /** How media URLs are fetched before they are uploaded to Meta (hosts allowed on private addresses, extra CA). */
  mediaFetch?: MediaFetchOptions;
}

/**
 * The outbound worker: consumes the outbound queue (SendProcessor), resumes held sends when a client
 * is active again, re-enqueues messages a lost enqueue or a dead worker left behind, and keeps
 * templates synced. Whoever created the connections closes them after close().
 */
export class OutboundWorker {
  readonly queue: OutboundQueue;
  /** Campaigns' sends (the same jobs, a lane of their own). */
  readonly campaignQueue: OutboundQueue;
  readonly processor: SendProcessor;
  private readonly mediaFetcher: MediaFetcher;
  readonly pacer: SendPacer;
  /** Hook for the inbound worker's status processing (costs from pricing, 131047 fallback). */
  readonly statusHook: OutboundStatusHook;
  /** Clients and templates in process, dropped on `clients:changed` / `templates:changed`. */
  readonly caches: SendCaches;
  /** The send API's state in Redis (clients, templates, windows), rebuilt here when Redis lost it. */
  readonly sendState: SendState;
  /** The candidates' opt-out register (opt-outs of @linkojob/outbound). */
  readonly optOuts: OptOutRegister;
  private readonly backlog: InboundBacklog;
  private stateTimer: NodeJS.Timeout | null = null;
  private worker: Worker<OutboundJob, SendOutcome> | null = null;
  private campaignWorker: Worker<OutboundJob, SendOutcome> | null = null;
  /** Campaigns' expansions (CAMPAIGN_EXPANSION_QUEUE): one job per campaign, its recipients decided and queued in chunks. */
  private expansionWorker: Worker<CampaignExpansionJob> | null = null;
  private syncQueue: Queue | null = null;
  private syncWorker: Worker | null = null;
  /** Read receipts and typing indicators (RECEIPT_QUEUE). */
  private receiptWorker: Worker | null = null;
  private closing: Promise<void> | null = null;
  private readonly announcer: ClientStatusAnnouncer;
  private holdTimer: NodeJS.Timeout | null = null;
  /** Moves the sends the API appended to the send stream into the outbound queue (its own blocking connection). */
  private intakePump: { pump: StreamPump<OutboundJob>; redis: RedisClient } | null = null;
  private limitTimer: NodeJS.Timeout | null = null;
  /** Announces campaigns' counts a process counted but died before announcing (CampaignProgress.announceMissed). */
  private progressTimer: NodeJS.Timeout | null = null;

  /** Main-lane jobs (replies, single sends) running in this process now. */
  private mainRunning = 0;
  /** Campaign work waiting for the main lane to be idle (resolved when it is). */
  private mainIdle: Array<() => void> = [];

  /** A main-lane job: counted while it runs, so campaign work gives way to it. */
  private async runMain(job: Job<OutboundJob>, token?: string): Promise<SendOutcome> {
    this.mainRunning++;
    try {
      return await this.processor.process(job, token);
    } finally {
      if (--this.mainRunning === 0) for (const resume of this.mainIdle.splice(0)) resume();
    }
  }

  /**
   * Campaign work (a send, an expansion's slice) starts when no main-lane job runs in this process,
   * or after `campaignGiveWayMs` at most: a reply does not share the event loop, the Redis
   * connections and the MongoDB pool with a campaign's burst.
   */
  giveWay(): Promise<void> {
    const maxMs = this.deps.campaignGiveWayMs ?? 100;
    if (this.mainRunning === 0 || maxMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const at = this.mainIdle.indexOf(done);
        if (at >= 0) this.mainIdle.splice(at, 1);
        resolve();
      }, maxMs);
      this.mainIdle.push(done);
    });
  }

  /** The portfolio messaging limits from the Graph API (all active clients, or one). */
  refreshLimits(clientId?: string): Promise<number> {
    const { db, graph, vault, logger } = this.deps;
    return refreshMessagingLimits({ db, graph, vault, logger, state: this.gate.state }, clientId).catch(
      (err: unknown) => {
        logger.warn({ err }, "portfolio messaging limits not refreshed");
        return 0;
      },
    );
  }
  private readonly onChange = (channel: string, raw: string) => {
    const msg = parseClientChanged(channel, raw);
    if (!msg) return;
    if (msg.status !== undefined && msg.status !== "active") return;
    void this.resumeHeld(msg.clientId).catch((err: unknown) =>
      this.deps.logger.error({ err, clientId: msg.clientId }, "could not resume held sends"),
    );
    // A connection (or reconnection): the portfolio's messaging limit is read again.
    if (this.deps.messagingLimitRefreshMs) void this.refreshLimits(msg.clientId);
  };

  readonly gate: SendGate;
  /** Campaigns' live counts and cancel flags (the last check before a campaign's message goes). */
  readonly campaigns: CampaignProgress;
  /** The send API's own decision (send state in Redis, the sending protections), for campaigns' recipients. */
  readonly decider: SendDecider;
  /** Expands accepted campaigns into their sends (CampaignExpander). */
  readonly expander: CampaignExpander;

  constructor(private readonly deps: OutboundWorkerDeps) {
    this.gate = new SendGate({
      redis: deps.redis,
      prefix: deps.prefix,
      db: deps.db,
      budgetWindowMs: deps.messagingLimitWindowMs,
      defaultPolicy: deps.defaultSendingPolicy,
    });
    this.queue = new Queue<OutboundJob>(OUTBOUND_QUEUE, { connection: deps.queueRedis, prefix: deps.prefix });
    this.campaignQueue = new Queue<OutboundJob>(OUTBOUND_CAMPAIGN_QUEUE, {
      connection: deps.queueRedis,
      prefix: deps.prefix,
    });
    this.pacer = new SendPacer(deps.redis, { prefix: deps.prefix, ...(deps.pacing ?? {}) });
    this.backlog = new InboundBacklog(deps.queueRedis, deps.prefix);
    this.caches = new SendCaches(deps.db);
    this.sendState = new SendState({
      redis: deps.redis,
      prefix: deps.prefix,
      db: deps.db,
      hasher: deps.personalDataHasher ?? prefixHasher(deps.prefix),
    });
    this.mediaFetcher = new MediaFetcher(deps.mediaFetch);
    this.announcer = new ClientStatusAnnouncer({
      db: deps.db,
      events: deps.events,
      publisher: deps.redis,
      log: deps.logger,
      sendState: this.sendState,
    });
    // The candidates' opt-outs: the worker's last check before Meta, and 131050 failures recorded.
    this.optOuts = new OptOutRegister({
      db: deps.db,
      state: this.sendState.optOuts,
      events: deps.events,
      logger: deps.logger,
    });
    const analytics = lazyWorkerAnalytics(deps.db, deps.redis, deps.prefix, deps.logger);
    this.campaigns = new CampaignProgress({
      redis: deps.redis,
      prefix: deps.prefix,
      events: deps.events,
      db: deps.db,
      logger: deps.logger,
    });
    this.decider = new SendDecider(this.sendState, {
      gate: this.gate,
      ...(deps.send?.prices ? { prices: deps.send.prices } : {}),
    });
    this.expander = new CampaignExpander({
      db: deps.db,
      decider: this.decider,
      queue: this.campaignQueue,
      progress: this.campaigns,
      logger: deps.logger,
      ...(deps.expansionPacing ? { pacing: deps.expansionPacing } : {}),
      beforeSlice: () => this.giveWay(),
    });
    this.processor = new SendProcessor({
      campaigns: this.campaigns,
      optOuts: this.optOuts,
      caches: this.caches,
      announcer: this.announcer,
      db: deps.db,
      redis: deps.redis,
      queue: this.queue,
      graph: deps.graph,
      vault: deps.vault,
      pacer: this.pacer,
      backlog: this.backlog,
      events: deps.events,
      logger: deps.logger,
      options: { prefix: deps.prefix, ...(deps.send ?? {}) },
      gate: this.gate,
      media: { fetcher: this.mediaFetcher, links: new MediaLinkCache(deps.redis, deps.prefix) },
      onMessageWritten: async (clientId, messageId) => {
        await (await analytics()).project([{ clientId, messageId }]);
      },
    });
    this.statusHook = createOutboundStatusHook({
      queue: this.queue,
      logger: deps.logger,
      announcer: this.announcer,
      optOuts: this.optOuts,
      campaigns: this.campaigns,
      ...(deps.send?.prices ? { prices: deps.send.prices } : {}),
    });
  }

  async start(): Promise<void> {
    this.deps.subscriberRedis.on("message", this.onChange);
    await this.deps.subscriberRedis.subscribe(CLIENTS_CHANGED_CHANNEL);
    await this.caches.subscribe(this.deps.subscriberRedis);
    const base = this.deps.retryBaseMs ?? 1_000;
    this.worker = new Worker<OutboundJob, SendOutcome>(
      OUTBOUND_QUEUE,
      (job: Job<OutboundJob>, token?: string) => this.runMain(job, token),
      {
        connection: this.deps.queueRedis,
        prefix: this.deps.prefix,
        concurrency: this.deps.concurrency ?? 32,
        settings: {
          // Meta's error policy decides the wait: 4^n s for 131056, exponential with jitter otherwise.
          backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) =>
            err instanceof RetryableSendError
              ? retryDelayMs(err.classification, attemptsMade, { baseMs: base })
              : cappedBackoff(attemptsMade, base),
        },
      },
    );
    this.worker.on("failed", (job, err) =>
      this.deps.logger.debug({ jobId: job?.id, err: err.message }, "outbound attempt failed"),
    );
    this.worker.on("error", (err) => this.deps.logger.error({ err }, "outbound worker error"));
    await this.worker.waitUntilReady();
    const intakeRedis = duplicateRedis(this.deps.queueRedis, "outbound-send-intake");
    this.intakePump = {
      redis: intakeRedis,
      pump: sendIntakePump({
        redis: intakeRedis,
        queue: this.queue,
        prefix: this.deps.prefix,
        logger: this.deps.logger,
      }),
    };
    await this.intakePump.pump.start();
    // The campaign lane: the same processor, its own few slots, each giving way to running replies.
    this.campaignWorker = new Worker<OutboundJob, SendOutcome>(
      OUTBOUND_CAMPAIGN_QUEUE,
      async (job: Job<OutboundJob>, token?: string) => {
        await this.giveWay();
        return this.processor.process(job, token);
      },
      {
        connection: this.deps.queueRedis,
        prefix: this.deps.prefix,
        concurrency: this.deps.campaignConcurrency ?? 4,
        settings: {
          backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) =>
            err instanceof RetryableSendError
              ? retryDelayMs(err.classification, attemptsMade, { baseMs: base })
              : cappedBackoff(attemptsMade, base),
        },
      },
    );
    this.campaignWorker.on("error", (err) => this.deps.logger.error({ err }, "campaign send worker error"));
    await this.campaignWorker.waitUntilReady();
    // Campaigns' expansions: one at a time per process (each one's chunks are many Redis round trips already).
    void this.decider.caches
      .subscribe(this.deps.subscriberRedis)
      .catch((err: unknown) =>
        this.deps.logger.warn({ err }, "campaign decider caches not subscribed: every read goes to Redis"),
      );
    this.expansionWorker = new Worker<CampaignExpansionJob>(
      CAMPAIGN_EXPANSION_QUEUE,
      async (job: Job<CampaignExpansionJob>) => {
        const { clientId, campaignId } = campaignExpansionJobSchema.parse(job.data);
        return this.expander.expand(clientId, campaignId);
      },
      {
        connection: this.deps.queueRedis,
        prefix: this.deps.prefix,
        concurrency: 1,
        settings: { backoffStrategy: (attemptsMade: number) => cappedBackoff(attemptsMade, base) },
      },
    );
    this.expansionWorker.on("failed", (job, err) =>
      this.deps.logger.warn(
        { jobId: job?.id, err: err.message },
        "campaign expansion attempt failed (resumed at its cursor)",
      ),
    );
    this.expansionWorker.on("error", (err) => this.deps.logger.error({ err }, "campaign expansion worker error"));
    await this.expansionWorker.waitUntilReady();
    await this.ensureSendState();
    const stateEvery = this.deps.sendStateCheckEveryMs ?? 5_000;
    if (stateEvery > 0) {
      // Redis restarted empty (or was flushed): the send API finds no window there; copy them back.
      this.stateTimer = setInterval(() => void this.ensureSendState(), stateEvery);
      this.stateTimer.unref();
    }
    // Campaign counts a dead process moved without announcing them: announced now, then checked every 10 s.
    const announceMissed = () =>
      void this.campaigns
        .announceMissed()
        .catch((err: unknown) => this.deps.logger.warn({ err }, "missed campaign progress not announced"));
    announceMissed();
    this.progressTimer = setInterval(announceMissed, 10_000);
    this.progressTimer.unref();
    const { db, graph, vault, logger, queueRedis, prefix } = this.deps;
    this.receiptWorker = startReceiptWorker({ db, graph, vault, logger, connection: queueRedis, prefix });
    await this.resumeAllHeld();
    await this.recoverStale();
    const limitsEvery = this.deps.messagingLimitRefreshMs ?? 0;
    if (limitsEvery > 0) {
      void this.refreshLimits();
      this.limitTimer = setInterval(() => void this.refreshLimits(), limitsEvery);
      this.limitTimer.unref();
    }
    const holdEvery = this.deps.accountHoldCheckEveryMs ?? 60_000;
    if (holdEvery > 0) {
      // Guarded transitions: several outbound processes re-checking at once release a client once.
      this.holdTimer = setInterval(
        () =>
          void this.recheckAccountHolds().catch((err: unknown) =>
            this.deps.logger.warn({ err }, "account hold re-check failed"),
          ),
        holdEvery,
      );
      this.holdTimer.unref();
    }
    const every = this.deps.templateSyncIntervalMs ?? 6 * 3_600_000;
    if (every > 0) {
      // One run per interval across all outbound processes (a job scheduler, not a timer per process).
      const connection = this.deps.queueRedis;
      this.syncQueue = new Queue(TEMPLATE_SYNC_QUEUE, { connection, prefix: this.deps.prefix });
      await this.syncQueue.upsertJobScheduler(TEMPLATE_SYNC_JOB, { every }, { name: TEMPLATE_SYNC_JOB });
      this.syncWorker = new Worker(TEMPLATE_SYNC_QUEUE, () => this.syncAllTemplates(), {
        connection,
        prefix: this.deps.prefix,
        concurrency: 1,
      });
      this.syncWorker.on("error", (err) => this.deps.logger.warn({ err: err.message }, "template sync worker error"));
    }
  }

  /** The BullMQ worker once started (main.ts instruments its events for /metrics); null before start(). */
  get bullWorker(): Worker<OutboundJob, SendOutcome> | null {
    return this.worker;
  }

  /** Rebuilds the send state from MongoDB when its marker is gone. Never throws (logged, retried next check). */
  async ensureSendState(): Promise<void> {
    try {
      if (await this.sendState.ensureBuilt()) this.deps.logger.info("send state rebuilt from MongoDB");
    } catch (err) {
      this.deps.logger.warn({ err }, "send state not rebuilt (retried at the next check)");
    }
  }

  /** Releases the account-level pauses whose period has passed (announced: their held sends resume). */
  recheckAccountHolds(now = new Date()): Promise<string[]> {
    return recheckAccountHolds(this.deps.db, this.announcer, {
      now,
      ...(this.deps.accountHoldRecheckMs ? { recheckMs: this.deps.accountHoldRecheckMs } : {}),
    });
  }

  /** Re-enqueues a client's held messages (it is active again). Returns how many. */
  async resumeHeld(clientId: string): Promise<number> {
    const client = await this.deps.db.clients.findById(clientId, { status: 1 }).lean();
    if (client?.status !== "active") return 0;
    const tenant = this.deps.db.forTenant(clientId);
    const held = await tenant.outbound.listHeld();
    for (const m of held) {
      // A campaign's message goes back to the campaign's lane, behind nobody's reply.
      await enqueueSend(m.campaignId ? this.campaignQueue : this.queue, {
        clientId,
        messageId: m._id.toHexString(),
        kind: m.kind,
        suffix: `resume-${m.heldAt ? new Date(m.heldAt).getTime() : 0}`,
        ...(m.campaignId ? { lane: "campaign" as const } : {}),
      });
    }
    if (held.length) this.deps.logger.info({ clientId, count: held.length }, "resumed held sends");
    return held.length;
  }

  private async resumeAllHeld(): Promise<void> {
    const clientIds = await this.deps.db.messages.distinct<"clientId", Types.ObjectId>("clientId", {
      direction: "outbound",
      status: "held",
    });
    for (const id of clientIds) await this.resumeHeld(id.toHexString());
  }

  /**
   * Messages left `queued` or `sending` whose job is gone (the enqueue after the API's write failed,
   * or the job was lost): enqueue them again. Their state is re-checked under the lock, so a message
   * whose job still exists is not sent twice.
   */
  async recoverStale(olderThanMs = this.deps.recoverAfterMs ?? 600_000): Promise<number> {
    const before = new Date(Date.now() - olderThanMs);
    const left = ["queued", "sending"];
    // One find on MongoDB; on FerretDB one per status (an `$in` there reads every outbound message).
    const stale = await this.deps.db.batchWriter.findEach<{
      _id: Types.ObjectId;
      clientId: Types.ObjectId;
      kind?: "text" | "template";
      updatedAt: Date;
      campaignId?: Types.ObjectId | null;
    }>(
      this.deps.db.messages.collection,
      { direction: "outbound", status: { $in: left }, updatedAt: { $lt: before } },
      left.map((status) => ({ direction: "outbound", status, updatedAt: { $lt: before } })),
      { projection: { _id: 1, clientId: 1, kind: 1, updatedAt: 1, campaignId: 1 }, limit: 5_000 },
    );
    let n = 0;
    for (const m of stale) {
      const id = outboundJobId(m._id.toHexString());
      // A campaign's message has its job in the campaign lane.
      const job = (await this.queue.getJob(id)) ?? (await this.campaignQueue.getJob(id));
      const state = job ? await job.getState() : "missing";
      if (["waiting", "delayed", "active", "prioritized", "waiting-children"].includes(state)) continue;
      // A campaign's message goes back to the campaign's lane.
      await enqueueSend(m.campaignId ? this.campaignQueue : this.queue, {
        clientId: m.clientId.toHexString(),
        messageId: m._id.toHexString(),
        kind: m.kind ?? "template",
        suffix: `recover-${new Date(m.updatedAt).getTime()}`,
        ...(m.campaignId ? { lane: "campaign" as const } : {}),
      });
      n++;
    }
    if (n) this.deps.logger.warn({ count: n }, "re-enqueued outbound messages left without a job");
    return n;
  }

  /** Syncs one client's WABA templates from Meta (all pages). */
  async syncTemplates(clientId: string) {
    const client = await this.deps.db.clients.findById(clientId).lean<ClientDoc>();
    if (!client?.accessToken) return { wabaId: client?.wabaId ?? null, upserted: 0, removed: 0 };
    const res = await syncTemplates(
      this.deps.graph,
      this.deps.db.forTenant(clientId).templates,
      clientAccessToken(this.deps.vault, client),
    );
    if (res.wabaId) {
      // The send state's copy first: a process that drops its cached templates then reads the new ones.
      await this.sendState.writeTemplates(res.wabaId);
      await publishTemplatesChanged(this.deps.redis, res.wabaId);
    }
    return res;
  }

  /** Every active client's WABA once (a WABA shared by several clients is synced once). */
  async syncAllTemplates(): Promise<void> {
    const clients = await this.deps.db.clients.find({ status: "active" }, { _id: 1, wabaId: 1 }).lean();
    const done = new Set<string>();
    for (const c of clients) {
      if (done.has(c.wabaId)) continue;
      done.add(c.wabaId);
      await this.syncTemplates(c._id.toHexString()).catch((err) =>
        this.deps.logger.warn({ wabaId: c.wabaId, err: (err as Error).message }, "template sync of a WABA failed"),
      );
    }
  }

  /** Stops intake, waits for active jobs, closes the queue. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.holdTimer) clearInterval(this.holdTimer);
      if (this.limitTimer) clearInterval(this.limitTimer);
      if (this.stateTimer) clearInterval(this.stateTimer);
      if (this.progressTimer) clearInterval(this.progressTimer);
      await this.intakePump?.pump.close();
      this.intakePump?.redis.disconnect();
      await this.syncWorker?.close();
      await this.syncQueue?.close();
      await this.receiptWorker?.close();
      this.deps.subscriberRedis.off("message", this.onChange);
      await this.caches.close();
      await this.deps.subscriberRedis.unsubscribe(CLIENTS_CHANGED_CHANNEL).catch(() => undefined);
      await this.expansionWorker?.close();
      await this.decider.caches.close();
      await this.worker?.close();
      await this.campaignWorker?.close();
      await this.queue.close();
      await this.campaignQueue.close();
      await this.backlog.close();
      await this.mediaFetcher.close();
      await this.campaigns.close();
    })();
    return this.closing;
  }
}
