import type { Queue } from "bullmq";
import type { Logger } from "pino";
import {
  INGRESS_STREAM_GROUP,
  StreamPump,
  WEBHOOK_JOB,
  ingressStreamKey,
  webhookJobOptions,
  type RedisClient,
  type StreamJob,
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

/**
 * The webhook job of an ingress stream entry (`b`: the raw body, `s`: Meta's signature). Its job id
 * is derived from the stream id, so an entry moved twice is one job.
 */
export function webhookJobOf(id: string, fields: Record<string, string>): StreamJob<WebhookJob> {
  return {
    name: WEBHOOK_JOB,
    // A stream id is "<Redis time in ms>-<seq>": the time the ingress stored the delivery.
    data: {
      deliveryId: id,
      receivedAt: Number(id.split("-")[0]),
      body: fields.b ?? "",
      ...(fields.s ? { signature: fields.s } : {}),
    },
    opts: { ...webhookJobOptions, jobId: `wh-${id}` },
  };
}

/**
 * Moves deliveries from the ingress stream into the BullMQ webhook queue with @linkojob/queues'
 * StreamPump (XREADGROUP a batch, addBulk, XACK and XDEL; entries a crashed pump left pending are
 * reclaimed after `claimIdleMs`). Several pumps (one per worker process) share the consumer group.
 */
export class IngressPump extends StreamPump<WebhookJob> {
  constructor({ prefix, logger, ...opts }: IngressPumpOptions) {
    super({
      ...opts,
      key: ingressStreamKey(prefix),
      group: INGRESS_STREAM_GROUP,
      toJob: webhookJobOf,
      onError: (err) => logger.error({ err }, "ingress pump failed a round; retrying"),
    });
  }
}
