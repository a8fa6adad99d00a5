import type { RedisClient } from "@linkojob/queues";
import { ingressStreamKey } from "@linkojob/queues";
import { GroupCommit } from "@linkojob/outbound";

/**
 * The durable hand-off between the ingress and the workers: one XADD of the raw body to a Redis
 * stream. The 200 goes to Meta only after Redis has answered this command, so nothing is
 * acknowledged that is not stored. The inbound worker's pump moves entries into the BullMQ queue.
 *
 * Why not `queue.add` here: a BullMQ add runs a Lua script of many commands plus per-job
 * bookkeeping, and on a 2-core machine that halves the ingress's throughput (bench/ingress.bench.ts);
 * an auto-pipelined XADD costs one command.
 */
export class WebhookInbox {
  private readonly key: string;
  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    /**
     * With a replica behind Sentinel: after the XADD, `WAIT replicas timeoutMs`; fewer copies than
     * `replicas` in time rejects (the route answers 503, Meta posts again). Redis replicates
     * asynchronously, so without it a primary that dies right after answering takes an acknowledged
     * delivery with it when its replica is promoted. Absent: the primary's answer suffices.
     */
    private readonly replicaAck?: { replicas: number; timeoutMs: number },
  ) {
    this.key = ingressStreamKey(prefix);
  }

  /**
   * Stores one delivery with the X-Hub-Signature-256 it came with (`s`: a replay checks it again, so
   * that only what Meta signed is ever processed); resolves with its id once Redis has it, rejects if
   * Redis cannot take it. The id Redis assigns starts with its clock in milliseconds: that is the time
   * of receipt.
   */
  async append(rawBody: Buffer, signature: string): Promise<string> {
    const id = await this.redis.xadd(this.key, "*", "b", rawBody, "s", signature);
    if (!id) throw new Error("XADD returned no id");
    if (this.replicaAck && (await this.replicasConnected()) > 0) await this.replicaCopies.add(null);
    return id;
  }

  /**
   * One WAIT for every append whose XADD was answered before it was sent (WAIT covers all earlier
   * writes of the connection): under load, concurrent webhooks share one WAIT instead of one each.
   */
  private readonly replicaCopies = new GroupCommit<null>(async () => {
    const { replicas, timeoutMs } = this.replicaAck!;
    const copies = await this.redis.wait(replicas, timeoutMs);
    if (copies < replicas && (await this.replicasConnected(true)) > 0)
      throw new Error(`stored on the primary, but ${copies} of ${replicas} replicas confirmed it in time`);
  }, 100_000);

  private replicas: { count: number; at: number } | null = null;
  private replicasRead: Promise<number> | null = null;

  /**
   * Replicas connected to the primary (INFO replication), read at most once a second. A primary left
   * alone (its replica promoted away or not yet re-attached) has nobody to wait for: a failover
   * cannot happen without a replica, so its own copy (AOF) is what there is, and refusing every
   * webhook until a replica returns would turn a degraded deployment into an outage.
   */
  private replicasConnected(fresh = false): Promise<number> {
    if (!fresh && this.replicas && Date.now() - this.replicas.at < 1_000) return Promise.resolve(this.replicas.count);
    // Concurrent callers share one INFO.
    this.replicasRead ??= this.redis
      .info("replication")
      .then((info) => {
        const count = Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0);
        this.replicas = { count, at: Date.now() };
        return count;
      })
      .finally(() => (this.replicasRead = null));
    return this.replicasRead;
  }
}
