import { Queue } from "bullmq";
import type { RedisClient } from "@linkojob/queues";
import { WEBHOOK_QUEUE, ingressStreamKey, type WebhookJob } from "@linkojob/queues";

/**
 * How far the inbound pipeline (ingress stream → webhook queue → inbound worker) is behind: the
 * receipt time of the oldest webhook delivery not processed yet. The outbound worker asks before it
 * concludes that an unanswered send was not accepted: a `sent` status naming our id may be sitting
 * in this backlog. Measured in the storm test: with a 1.5 s grace and no such check, a send whose
 * answer was lost was sent again while its status webhook was still queued here.
 */
export class InboundBacklog {
  private readonly queue: Queue<WebhookJob>;
  /** The last look (or the one under way): its start time and answer, shared by concurrent callers. */
  private last: { at: number; answer: Promise<number | null> } | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    this.queue = new Queue<WebhookJob>(WEBHOOK_QUEUE, { connection: redis, prefix });
  }

  /**
   * Epoch ms of the oldest unprocessed delivery, or null when everything received is processed.
   * Every send waiting on an unanswered call asks this (each one every 500 ms while the pipeline is
   * behind), and each look reads up to a thousand job hashes: a look that began after `since`
   * and at most `maxAgeMs` ago answers for all of them. One begun at or before `since` is never reused: a
   * delivery received between that look and `since` could be the status the caller waits for.
   */
  oldestUnprocessedAt(since = Date.now(), maxAgeMs = 1_000): Promise<number | null> {
    const now = Date.now();
    if (this.last && this.last.at > since && now - this.last.at <= maxAgeMs) return this.last.answer;
    const answer = this.look();
    const entry = { at: now, answer };
    this.last = entry;
    answer.catch(() => {
      if (this.last === entry) this.last = null;
    });
    return answer;
  }

  private async look(): Promise<number | null> {
    let oldest: number | null = null;
    const consider = (t: number) => {
      if (Number.isFinite(t) && (oldest === null || t < oldest)) oldest = t;
    };
    // Entries not yet moved to the queue (the pump deletes them once moved). Ids are `<ms>-<seq>`.
    const first = (await this.redis.xrange(ingressStreamKey(this.prefix), "-", "+", "COUNT", 1)) as Array<
      [string, string[]]
    >;
    if (first[0]) consider(Number(first[0][0].split("-")[0]));
    // Jobs waiting, running or backing off after a failure.
    const jobs = await this.queue.getJobs(["active", "wait", "prioritized", "delayed", "paused"], 0, 199, true);
    for (const j of jobs) if (j) consider(Number(j.data?.receivedAt ?? j.timestamp));
    return oldest;
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
