import type { Logger } from "pino";
import {
  INGRESS_STREAM_GROUP,
  StreamPump,
  sendStreamKey,
  type OutboundJob,
  type RedisClient,
  type StreamJob,
} from "@linkojob/queues";
import { sendJobOf, type OutboundQueue, type SendEnqueue } from "./enqueue.js";
import { ReplicaAck, type ReplicaAckOptions } from "./replica-ack.js";

/** An accepted send as the intake stream carries it: the enqueue, with an absolute time instead of a delay. */
type IntakeEntry = Omit<SendEnqueue, "delayMs" | "suffix"> & { notBefore?: number };

/**
 * The send API's durable hand-off, as webhooks have it (apps/ingress's WebhookInbox): one XADD of
 * the accepted send to the send stream, answered by Redis before the 202, instead of BullMQ's add (a
 * Lua script of about ten commands per send, bench/send-api.bench.ts). The outbound worker's pump
 * (`sendIntakePump`) moves entries into the outbound queue in batches, each under the job id of its
 * message (`send-<messageId>`), so an entry moved twice is one job.
 */
export class SendIntake {
  private readonly key: string;
  private readonly replicaAck: ReplicaAck | null;
  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    /**
     * With a replica behind Sentinel: after the XADD, `WAIT replicas timeoutMs` (ReplicaAck), as
     * webhooks have it, so that a 202 survives the primary's death.
     */
    replicaAck?: ReplicaAckOptions,
  ) {
    this.key = sendStreamKey(prefix);
    this.replicaAck = replicaAck ? new ReplicaAck(redis, replicaAck) : null;
  }

  /**
   * Stores one accepted send; resolves once Redis has it (and its replica, when asked), rejects if
   * Redis cannot take it. A `NotReplicatedError` means the entry IS on the primary (it will be sent
   * if the primary lives) but its replica did not confirm it: the caller must not say "nothing was
   * queued".
   */
  async append(input: Omit<SendEnqueue, "suffix">): Promise<void> {
    const { delayMs, ...rest } = input;
    const entry: IntakeEntry = { ...rest, ...(delayMs ? { notBefore: Date.now() + delayMs } : {}) };
    const id = await this.redis.xadd(this.key, "*", "j", JSON.stringify(entry));
    if (!id) throw new Error("XADD returned no id");
    await this.replicaAck?.confirm();
  }
}

/** The job of one intake entry (null for an entry this code did not write: dropped, logged). */
export function intakeJobOf(fields: Record<string, string>, now = Date.now()): StreamJob<OutboundJob> {
  if (!fields.j) return null;
  const { notBefore, ...entry } = JSON.parse(fields.j) as IntakeEntry;
  if (typeof entry.messageId !== "string" || typeof entry.clientId !== "string") return null;
  return sendJobOf({ ...entry, ...(notBefore && notBefore > now ? { delayMs: notBefore - now } : {}) });
}

/**
 * The pump of the send stream into the outbound queue, run by each outbound worker process. `redis`
 * is a connection of its own (XREADGROUP blocks it); the caller closes it after the pump.
 */
export function sendIntakePump(opts: {
  redis: RedisClient;
  queue: OutboundQueue;
  prefix: string;
  logger: Pick<Logger, "error" | "warn">;
  batchSize?: number;
}): StreamPump<OutboundJob> {
  return new StreamPump<OutboundJob>({
    redis: opts.redis,
    queue: opts.queue,
    key: sendStreamKey(opts.prefix),
    group: INGRESS_STREAM_GROUP,
    ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
    toJob: (id, fields) => {
      try {
        const job = intakeJobOf(fields);
        if (!job) opts.logger.error({ entryId: id }, "send intake entry without a send: dropped");
        return job;
      } catch {
        // Not the error itself: a JSON parse error quotes the entry, which names the candidate.
        opts.logger.error({ entryId: id }, "send intake entry unreadable: dropped");
        return null;
      }
    },
    onError: (err) => opts.logger.error({ err }, "send intake pump failed a round; retrying"),
  });
}
