import { UnrecoverableError, type Worker } from "bullmq";
import { FailingStreak, type FailingStreakOptions } from "@linkojob/metrics";
import { RetryableSendError } from "./send-errors.js";

/**
 * Whether a failed send attempt says something about this process's dependencies. Meta's answers
 * do not: a transient refusal (5xx, throttling, 131000…) is RetryableSendError, a permanent one (or a
 * send refused before the call) UnrecoverableError, and a restart would change neither. What is left
 * is our own MongoDB or Redis call failing (a connection closed, a timeout, READONLY after a failover).
 */
export const failureIsOwn = (err: Error): boolean =>
  !(err instanceof RetryableSendError) &&
  !(err instanceof UnrecoverableError) &&
  err.name !== "RetryableSendError" &&
  err.name !== "UnrecoverableError";

/**
 * The outbound worker's `work` readiness: not ready once every send attempt has failed through its
 * own database or Redis calls for `failingForMs` (10 attempts at least). A completed send ends the
 * streak; a Meta error storm neither starts nor ends one. BullMQ's `error` events (the worker could
 * not even record a job's outcome in Redis) count as failures too.
 */
export function trackSendWork(worker: Pick<Worker, "on">, opts: FailingStreakOptions = {}): FailingStreak {
  const streak = new FailingStreak(opts);
  worker.on("completed", () => streak.succeeded());
  worker.on("failed", (_job, err) => {
    if (failureIsOwn(err)) streak.failed();
  });
  worker.on("error", () => streak.failed());
  return streak;
}
