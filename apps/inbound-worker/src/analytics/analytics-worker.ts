import { Queue, UnrecoverableError, Worker, type Job } from "bullmq";
import { Types } from "mongoose";
import type { Logger } from "pino";
import type { Database } from "@linkojob/db";
import { lazyWorkerAnalytics } from "@linkojob/outbound";
import {
  ANALYTICS_JOB,
  ANALYTICS_QUEUE,
  ANALYTICS_REFS_PER_JOB,
  analyticsJobOptions,
  analyticsJobSchema,
  cappedBackoff,
  type AnalyticsJob,
  type RedisClient,
} from "@linkojob/queues";

export interface AnalyticsWorkerDeps {
  db: Database;
  redis: RedisClient;
  prefix: string;
  logger: Pick<Logger, "warn" | "error">;
  /** Jobs projected at once in this process. Default 2 (each is a whole batch's messages). */
  concurrency?: number;
  /** Backoff base of a retried job (ms). Default 1 s, doubling up to 5 minutes. */
  retryBaseMs?: number;
  /** Told of the templates a job's messages answered (their first reply): a campaign counts them `replied`. */
  onReplies?: (replies: Array<{ clientId: Types.ObjectId; templateId: string }>) => Promise<void>;
}

/**
 * Keeps the analytics counters from what the webhook batches wrote: `enqueue` is called
 * by a batch once its messages and statuses are stored (one job per batch), and the worker projects
 * each job's messages into the counters (AnalyticsProjector: it reads them as stored and counts each
 * event once). A failure retries the job, never the batch: storage and dashboards do not wait for
 * the counters, and a database outage in the middle of a count costs only a retry of the count.
 */
export class AnalyticsWorker {
  readonly queue: Queue<AnalyticsJob>;
  private worker: Worker<AnalyticsJob> | null = null;
  private readonly projector: ReturnType<typeof lazyWorkerAnalytics>;
  private closing: Promise<void> | null = null;

  constructor(private readonly deps: AnalyticsWorkerDeps) {
    this.queue = new Queue<AnalyticsJob>(ANALYTICS_QUEUE, { connection: deps.redis, prefix: deps.prefix });
    this.projector = lazyWorkerAnalytics(deps.db, deps.redis, deps.prefix, deps.logger);
  }

  /** Queues the projection of these messages: one job per ANALYTICS_REFS_PER_JOB references. */
  async enqueue(
    refs: Array<{ clientId: Types.ObjectId; messageId: Types.ObjectId; conversationId?: Types.ObjectId | null }>,
  ): Promise<void> {
    const tuples = [
      ...new Map(
        refs.map((r) => [
          r.messageId.toHexString(),
          r.conversationId
            ? ([r.clientId.toHexString(), r.messageId.toHexString(), r.conversationId.toHexString()] as [
                string,
                string,
                string,
              ])
            : ([r.clientId.toHexString(), r.messageId.toHexString()] as [string, string]),
        ]),
      ).values(),
    ];
    if (!tuples.length) return;
    const jobs = [];
    for (let i = 0; i < tuples.length; i += ANALYTICS_REFS_PER_JOB)
      jobs.push({
        name: ANALYTICS_JOB,
        data: { refs: tuples.slice(i, i + ANALYTICS_REFS_PER_JOB) },
        opts: analyticsJobOptions,
      });
    await (jobs.length === 1 ? this.queue.add(jobs[0]!.name, jobs[0]!.data, jobs[0]!.opts) : this.queue.addBulk(jobs));
  }

  async start(): Promise<void> {
    this.worker = new Worker<AnalyticsJob>(ANALYTICS_QUEUE, (job) => this.process(job), {
      connection: this.deps.redis,
      prefix: this.deps.prefix,
      concurrency: this.deps.concurrency ?? 2,
      settings: {
        backoffStrategy: (attemptsMade: number) => cappedBackoff(attemptsMade, this.deps.retryBaseMs ?? 1_000),
      },
    });
    this.worker.on("failed", (job, err) =>
      this.deps.logger.warn(
        { jobId: job?.id, attempts: job?.attemptsMade, err: err.message },
        "analytics projection attempt failed",
      ),
    );
    this.worker.on("error", (err) => this.deps.logger.warn({ err }, "analytics worker error"));
    await this.worker.waitUntilReady();
  }

  private async process(job: Job<AnalyticsJob>): Promise<{ counted: number }> {
    const data = analyticsJobSchema.safeParse(job.data);
    if (!data.success) throw new UnrecoverableError(`bad analytics job: ${data.error.message}`);
    const refs = data.data.refs.map(([clientId, messageId, conversationId]) => ({
      clientId: new Types.ObjectId(clientId),
      messageId: new Types.ObjectId(messageId),
      conversationId: conversationId ? new Types.ObjectId(conversationId) : null,
    }));
    const replies: Array<{ clientId: Types.ObjectId; templateId: string }> = [];
    const counted = await (await this.projector()).project(refs, replies);
    if (replies.length && this.deps.onReplies) await this.deps.onReplies(replies);
    return { counted };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.worker?.close();
      await this.queue.close();
    })();
    return this.closing;
  }
}
