import type { RedisClient } from "@linkojob/queues";
import { ingressStreamKey } from "@linkojob/queues";
import { ReplicaAck, type ReplicaAckOptions } from "@linkojob/outbound";

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
  private readonly replicaAck: ReplicaAck | null;
  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    /**
     * With a replica behind Sentinel: after the XADD, `WAIT replicas timeoutMs` (ReplicaAck); fewer
     * copies than `replicas` in time rejects (the route answers 503, Meta posts again, and the
     * inbound worker drops the copy it already has by wamid). Absent: the primary's answer suffices.
     */
    replicaAck?: ReplicaAckOptions,
  ) {
    this.key = ingressStreamKey(prefix);
    this.replicaAck = replicaAck ? new ReplicaAck(redis, replicaAck) : null;
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
    await this.replicaAck?.confirm();
    return id;
  }
}
