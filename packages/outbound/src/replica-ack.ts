import type { RedisClient } from "@linkojob/queues";
import { GroupCommit } from "./group-commit.js";

/** The replica's copy was not confirmed in time: the write is on the primary only. */
export class NotReplicatedError extends Error {
  constructor(
    readonly copies: number,
    readonly wanted: number,
  ) {
    super(`stored on the primary, but ${copies} of ${wanted} replicas confirmed it in time`);
    this.name = "NotReplicatedError";
  }
}

export interface ReplicaAckOptions {
  /** Copies to wait for (`WAIT replicas timeoutMs`). */
  replicas: number;
  timeoutMs: number;
}

/**
 * Waits until a write of one connection has reached the replica, for hand-offs that are acknowledged
 * to a caller (a webhook's 200, a send's 202). Redis replicates asynchronously: without this, a
 * primary that dies right after answering takes an acknowledged write with it when Sentinel promotes
 * its replica.
 *
 * `confirm()` is called after the write was answered by the primary. Every confirm() queued while a
 * WAIT runs shares the next one (WAIT covers every earlier write of the connection), so under load
 * concurrent requests share one WAIT instead of one each. It rejects with `NotReplicatedError` when
 * fewer copies than asked were confirmed in time while a replica is connected.
 *
 * A primary left alone (its replica promoted away or not yet re-attached) has nobody to wait for: a
 * failover cannot happen without a replica, so its own copy (AOF) is what there is, and refusing
 * every write until a replica returns would turn a degraded deployment into an outage. The replica
 * count comes from INFO replication, read at most once a second and shared by concurrent callers.
 */
export class ReplicaAck {
  constructor(
    private readonly redis: RedisClient,
    private readonly opts: ReplicaAckOptions,
  ) {}

  async confirm(): Promise<void> {
    if ((await this.replicasConnected()) > 0) await this.copies.add(null);
  }

  private readonly copies = new GroupCommit<null>(async () => {
    const { replicas, timeoutMs } = this.opts;
    const copies = await this.redis.wait(replicas, timeoutMs);
    if (copies < replicas && (await this.replicasConnected(true)) > 0) throw new NotReplicatedError(copies, replicas);
  }, 100_000);

  private replicas: { count: number; at: number } | null = null;
  private replicasRead: Promise<number> | null = null;

  private replicasConnected(fresh = false): Promise<number> {
    if (!fresh && this.replicas && Date.now() - this.replicas.at < 1_000) return Promise.resolve(this.replicas.count);
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
