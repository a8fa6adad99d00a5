import type { Job, Worker } from "bullmq";
import type { GatewayMetrics, JobOutcome } from "./gateway-metrics.js";

/**
 * Records every attempt the worker finishes: `lj_jobs_total` and `lj_job_duration_seconds` by queue
 * and outcome. `onCompleted` also receives each completed job's result (the outbound worker passes
 * GatewayMetrics.sendOutcome to count sends by kind, fallbacks and holds). Listens to the worker's
 * local events only, so with N processes each attempt is counted once, by the process that ran it.
 */
export function instrumentWorker<D, R>(
  worker: Worker<D, R>,
  metrics: GatewayMetrics,
  onCompleted?: (job: Job<D, R>, result: R) => void,
): void {
  const queue = worker.name;
  const observe = (job: Job<D, R>, outcome: JobOutcome) => {
    const started = job.processedOn ?? Date.now();
    const seconds = Math.max(0, (job.finishedOn ?? Date.now()) - started) / 1000;
    metrics.jobs.inc({ queue, outcome });
    metrics.jobDurationSeconds.observe({ queue, outcome }, seconds);
  };
  worker.on("completed", (job, result) => {
    observe(job, "completed");
    onCompleted?.(job, result);
  });
  worker.on("failed", (job, err) => {
    if (!job) return;
    const final = err?.name === "UnrecoverableError" || job.attemptsMade >= (job.opts.attempts ?? 1);
    observe(job, final ? "failed" : "retried");
  });
}
