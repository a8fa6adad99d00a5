import { hostname } from "node:os";
import type { Queue } from "bullmq";
import type { RedisClient } from "@linkojob/queues";
import type { Logger } from "pino";
import {
  INGRESS_STREAM_GROUP,
  WEBHOOK_JOB,
  ingressStreamKey,
  webhookJobOptions,
  type WebhookJob,
} from "@linkojob/queues";

export interface IngressPumpOptions {
  /** A connection of its own: XREADGROUP blocks it. */
  redis: RedisClient;
  queue: Queue<WebhookJob>;
  prefix: string;
  logger: Logger;
  /** Entries moved per round trip. Default 200. */
  batchSize?: number;
  /** Entries left pending this long by a dead pump are taken over. Default 60 s. */
  claimIdleMs?: number;
  consumerName?: string;
}

type StreamEntry = [id: string, fields: string[]];

/**
 * Moves deliveries from the ingress stream into the BullMQ webhook queue: XREADGROUP a batch,
 * addBulk them (job id derived from the stream id, so a batch moved twice is one job each), then
 * XACK and XDEL. Entries a crashed pump had read but not acknowledged are reclaimed after
 * `claimIdleMs`. Several pumps (one per worker process) share the consumer group.
 */
export class IngressPump {
  private readonly key: string;
  private readonly consumer: string;
  private running = false;
  private loop: Promise<void> | null = null;
  private lastClaim = 0;

  constructor(private readonly opts: IngressPumpOptions) {
    this.key = ingressStreamKey(opts.prefix);
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
      await this.opts.redis.xgroup("CREATE", this.key, INGRESS_STREAM_GROUP, "0", "MKSTREAM");
    } catch (err) {
      if (!String((err as Error).message).includes("BUSYGROUP")) throw err;
    }
  }

  private async run(): Promise<void> {
    const { redis, logger } = this.opts;
    const count = this.opts.batchSize ?? 200;
    while (this.running) {
      try {
        if (Date.now() - this.lastClaim > (this.opts.claimIdleMs ?? 60_000) / 2) {
          this.lastClaim = Date.now();
          await this.reclaim();
        }
        const res = (await redis.xreadgroup(
          "GROUP",
          INGRESS_STREAM_GROUP,
          this.consumer,
          "COUNT",
          count,
          "BLOCK",
          1_000,
          "STREAMS",
          this.key,
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
        logger.error({ err }, "ingress pump failed a round; retrying");
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  /** Takes over entries that another (dead) pump read but never acknowledged. */
  private async reclaim(): Promise<void> {
    let cursor = "0-0";
    for (let i = 0; i < 100; i++) {
      const [next, entries] = (await this.opts.redis.xautoclaim(
        this.key,
        INGRESS_STREAM_GROUP,
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
    const jobs = entries.map(([id, fields]) => {
      const map: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) map[fields[i]!] = fields[i + 1]!;
      return {
        name: WEBHOOK_JOB,
        // A stream id is "<Redis time in ms>-<seq>": the time the ingress stored the delivery.
        data: {
          deliveryId: id,
          receivedAt: Number(id.split("-")[0]),
          body: map.b ?? "",
          ...(map.s ? { signature: map.s } : {}),
        },
        opts: { ...webhookJobOptions, jobId: `wh-${id}` },
      };
    });
    await this.opts.queue.addBulk(jobs);
    const ids = entries.map(([id]) => id);
    await this.opts.redis
      .multi()
      .xack(this.key, INGRESS_STREAM_GROUP, ...ids)
      .xdel(this.key, ...ids)
      .exec();
  }

  /** Stops after the current round (at most the 1 s block). Idempotent. */
  async close(): Promise<void> {
    this.running = false;
    await this.loop;
    this.loop = null;
  }
}
