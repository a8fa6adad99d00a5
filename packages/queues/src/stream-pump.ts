import { hostname } from "node:os";
import type { JobsOptions, Queue } from "bullmq";
import type { RedisClient } from "./redis.js";

/** A stream entry as XREADGROUP returns it: its id and its fields, name and value alternating. */
export type StreamEntry = [id: string, fields: string[]];

/** What an entry becomes: one job (its id derived from the entry, so an entry moved twice is one job), or null to drop it. */
export type StreamJob<T> = { name: string; data: T; opts: JobsOptions } | null;

export interface StreamPumpOptions<T> {
  /** A connection of its own: XREADGROUP blocks it. */
  redis: RedisClient;
  queue: Queue<T>;
  /** The stream producers append to. */
  key: string;
  /** The consumer group the pumps share. */
  group: string;
  toJob: (id: string, fields: Record<string, string>) => StreamJob<T>;
  /** Failures of a round (retried after 1 s). */
  onError: (err: unknown) => void;
  /** Entries moved per round trip. Default 200. */
  batchSize?: number;
  /** Entries left pending this long by a dead pump are taken over. Default 60 s. */
  claimIdleMs?: number;
  consumerName?: string;
}

/**
 * Moves entries from a Redis stream into a BullMQ queue: XREADGROUP a batch, addBulk them, then XACK
 * and XDEL them in one MULTI. Producers pay one XADD (one command, answered once Redis has it) instead
 * of BullMQ's add (a Lua script of about ten commands); the pump adds them in batches. Entries a
 * crashed pump had read but not acknowledged are reclaimed after `claimIdleMs`. Several pumps (one per
 * worker process) share the consumer group. Any stream: the inbound worker's IngressPump (the webhook
 * ingress stream) and the outbound worker's send intake pump are this class with their `toJob`.
 */
export class StreamPump<T> {
  private readonly consumer: string;
  private running = false;
  private loop: Promise<void> | null = null;
  private lastClaim = 0;

  constructor(private readonly opts: StreamPumpOptions<T>) {
    this.consumer = opts.consumerName ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.ensureGroup();
    this.running = true;
    this.loop = this.run();
  }

  private async ensureGroup(): Promise<void> {
    try {
      // From 0, not $: entries appended before the first pump ever started are moved too.
      await this.opts.redis.xgroup("CREATE", this.opts.key, this.opts.group, "0", "MKSTREAM");
    } catch (err) {
      if (!String((err as Error).message).includes("BUSYGROUP")) throw err;
    }
  }

  private async run(): Promise<void> {
    const { redis, key, group } = this.opts;
    const count = this.opts.batchSize ?? 200;
    while (this.running) {
      try {
        if (Date.now() - this.lastClaim > (this.opts.claimIdleMs ?? 60_000) / 2) {
          this.lastClaim = Date.now();
          await this.reclaim();
        }
        const res = (await redis.xreadgroup(
          "GROUP",
          group,
          this.consumer,
          "COUNT",
          count,
          "BLOCK",
          1_000,
          "STREAMS",
          key,
          ">",
        )) as Array<[string, StreamEntry[]]> | null;
        const entries = res?.[0]?.[1] ?? [];
        if (entries.length) await this.move(entries);
      } catch (err) {
        if (!this.running) break;
        // A Redis that restarted without persistence lost the group (and the stream): recreate it.
        if (String((err as Error).message).includes("NOGROUP")) {
          await this.ensureGroup().catch(() => undefined);
          continue;
        }
        this.opts.onError(err);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  /** Takes over entries that another (dead) pump read but never acknowledged. */
  private async reclaim(): Promise<void> {
    let cursor = "0-0";
    for (let i = 0; i < 100; i++) {
      const [next, entries] = (await this.opts.redis.xautoclaim(
        this.opts.key,
        this.opts.group,
        this.consumer,
        this.opts.claimIdleMs ?? 60_000,
        cursor,
        "COUNT",
        200,
      )) as [string, StreamEntry[], ...unknown[]];
      const live = entries.filter((e) => e && e[1]);
      if (live.length) await this.move(live);
      if (next === "0-0") return;
      cursor = next;
    }
  }

  private async move(entries: StreamEntry[]): Promise<void> {
    const jobs = entries.flatMap(([id, fields]) => {
      const map: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) map[fields[i]!] = fields[i + 1]!;
      const job = this.opts.toJob(id, map);
      return job ? [job] : [];
    });
    // addBulk's types want the queue's name type; the jobs are built for this queue.
    if (jobs.length) await this.opts.queue.addBulk(jobs as Parameters<Queue<T>["addBulk"]>[0]);
    const ids = entries.map(([id]) => id);
    await this.opts.redis
      .multi()
      .xack(this.opts.key, this.opts.group, ...ids)
      .xdel(this.opts.key, ...ids)
      .exec();
  }

  /** Stops after the current round (at most the 1 s block). Idempotent. */
  async close(): Promise<void> {
    this.running = false;
    await this.loop;
    this.loop = null;
  }
}
