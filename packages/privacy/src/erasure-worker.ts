import { Worker, type Job } from "bullmq";
import { Types } from "mongoose";
import { ERASURE_QUEUE, cappedBackoff, erasureJobSchema, type RedisClient } from "@linkojob/queues";
import { CandidateErasure, type CandidateErasureDeps } from "./candidate-erasure.js";

export interface ErasureWorkerOptions {
  /** Backoff base of a retried erasure (ms). Default 1 s, doubling up to 5 minutes. */
  retryBaseMs?: number;
}

/**
 * Runs the erasure jobs of ERASURE_QUEUE, one at a time per process: an erasure deletes in bounded
 * batches and yields between them, so it never crowds out live traffic. A job whose attempts ran
 * out marks its erasure `failed`; asking again resumes it.
 */
export class ErasureWorker {
  readonly erasure: CandidateErasure;
  readonly worker: Worker;
  private closing: Promise<void> | null = null;

  constructor(deps: CandidateErasureDeps & { redis: RedisClient }, options: ErasureWorkerOptions = {}) {
    this.erasure = new CandidateErasure(deps);
    this.worker = new Worker(ERASURE_QUEUE, (job) => this.process(job), {
      connection: deps.redis,
      prefix: deps.prefix,
      concurrency: 1,
      settings: {
        backoffStrategy: (attemptsMade: number) => cappedBackoff(attemptsMade, options.retryBaseMs ?? 1_000),
      },
    });
    this.worker.on("failed", (job, err) => {
      if (!job) return;
      const last = job.attemptsMade >= (job.opts.attempts ?? 1);
      deps.logger.warn(
        { jobId: job.id, attempts: job.attemptsMade, code: (err as { code?: string }).code },
        "erasure attempt stopped",
      );
      if (last) {
        const { erasureId } = erasureJobSchema.parse(job.data);
        void this.erasure.markFailed(new Types.ObjectId(erasureId), err).catch(() => undefined);
      }
    });
    this.worker.on("error", (err) => deps.logger.warn({ err }, "erasure worker error"));
  }

  private async process(job: Job): Promise<Record<string, number>> {
    const { erasureId } = erasureJobSchema.parse(job.data);
    const done = await this.erasure.run(new Types.ObjectId(erasureId));
    // The job's result is counts only: BullMQ keeps it in Redis and shows it in Bull Board.
    return { ...(done?.removed ?? {}) };
  }

  close(): Promise<void> {
    this.closing ??= this.worker.close();
    return this.closing;
  }
}
