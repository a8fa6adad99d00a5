export interface MicroBatcherOptions<I, R> {
  /**
   * Writes a batch; returns one result per item, in order: a value, or an Error that fails that
   * item alone. A throw fails every item of the batch.
   */
  flush: (items: I[]) => Promise<Array<R | Error>>;
  /** Items per batch at most. Default 256. */
  maxItems?: number;
  /** How long the first item of a batch waits for company when nothing is being written. Default 2 ms. */
  maxWaitMs?: number;
}

interface Waiting<I, R> {
  item: I;
  resolve: (r: R) => void;
  reject: (e: Error) => void;
}

/**
 * Gathers items submitted concurrently (one per BullMQ job) into batches written one at a time:
 * while a batch is being written the next one fills, so under load each write carries many items,
 * and when idle an item waits `maxWaitMs` at most. Each submitter's promise settles when its batch
 * is written (or failed), so a job completes only once its data is stored. One batch at a time per
 * process also means a process never races itself on one document.
 */
export class MicroBatcher<I, R> {
  private queue: Array<Waiting<I, R>> = [];
  private timer: NodeJS.Timeout | null = null;
  private writing = false;
  private readonly maxItems: number;
  private readonly maxWaitMs: number;

  constructor(private readonly opts: MicroBatcherOptions<I, R>) {
    this.maxItems = opts.maxItems ?? 256;
    this.maxWaitMs = opts.maxWaitMs ?? 2;
  }

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Items submitted and not yet settled by a finished batch write. */
  get backlog(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.writing) return; // the running batch schedules the next one when it ends
    if (this.queue.length >= this.maxItems) return void this.run();
    this.timer ??= setTimeout(() => void this.run(), this.maxWaitMs);
  }

  private async run(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.writing || !this.queue.length) return;
    this.writing = true;
    const batch = this.queue.splice(0, this.maxItems);
    try {
      const results = await this.opts.flush(batch.map((w) => w.item));
      batch.forEach((w, i) => {
        const r = results[i];
        if (r instanceof Error) w.reject(r);
        else w.resolve(r as R);
      });
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      for (const w of batch) w.reject(e);
    } finally {
      this.writing = false;
      // What arrived during the write goes at once: it has waited for a whole batch already.
      if (this.queue.length) void this.run();
    }
  }
}
