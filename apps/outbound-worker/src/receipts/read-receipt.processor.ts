import { UnrecoverableError, Worker, type Job } from "bullmq";
import type { Logger } from "pino";
import type { ClientDoc, Database } from "@linkojob/db";
import { RECEIPT_QUEUE, receiptJobSchema, type RedisClient } from "@linkojob/queues";
import type { TokenVault } from "@linkojob/vault";
import { classifyGraphError, markAsRead, type GraphClient } from "@linkojob/whatsapp";
import { clientAccessToken } from "../send/token-access.js";

export interface ReadReceiptDeps {
  db: Database;
  graph: GraphClient;
  vault: TokenVault;
  logger: Logger;
  /** Limit for Meta's answer (ms). Default 5,000. */
  timeoutMs?: number;
}

export type ReceiptOutcome = "sent" | "skipped";

/**
 * Sends one read receipt (with the typing indicator when asked): `POST /{phone-number-id}/messages`
 * `{ messaging_product, status: "read", message_id, typing_indicator? }`. A client without a usable
 * token, or an answer Meta will not change on retry, ends the job at once; a receipt never holds or
 * fails a send and never changes a message.
 */
export class ReadReceiptProcessor {
  constructor(private readonly deps: ReadReceiptDeps) {}

  async process(job: Job): Promise<ReceiptOutcome> {
    const parsed = receiptJobSchema.safeParse(job.data);
    if (!parsed.success)
      throw new UnrecoverableError(
        `receipt job ${job.id} is malformed: ${parsed.error.issues[0]?.message ?? "invalid"}`,
      );
    const { clientId, wamid, typing } = parsed.data;
    const client = await this.deps.db.clients
      .findById(clientId, { _id: 1, phoneNumberId: 1, accessToken: 1, status: 1 })
      .lean<ClientDoc>();
    if (!client || client.status !== "active" || !client.accessToken) return "skipped";
    let token: string;
    try {
      token = clientAccessToken(this.deps.vault, client);
    } catch {
      return "skipped";
    }
    try {
      await markAsRead(this.deps.graph, {
        phoneNumberId: client.phoneNumberId,
        token,
        wamid,
        typing,
        timeoutMs: this.deps.timeoutMs ?? 5_000,
      });
    } catch (err) {
      const policy = classifyGraphError(err);
      if (!policy.retryable)
        throw new UnrecoverableError(`read receipt refused by Meta (${policy.code ?? "unknown"}): ${policy.reason}`);
      throw new Error(`read receipt not sent (${policy.code ?? "network"}): retried`);
    }
    return "sent";
  }
}

/** The BullMQ worker of RECEIPT_QUEUE. Its failures are logged at debug level and touch nothing else. */
export function startReceiptWorker(
  deps: ReadReceiptDeps & { connection: RedisClient; prefix: string; concurrency?: number },
): Worker {
  const processor = new ReadReceiptProcessor(deps);
  const worker = new Worker(RECEIPT_QUEUE, (job: Job) => processor.process(job), {
    connection: deps.connection,
    prefix: deps.prefix,
    concurrency: deps.concurrency ?? 8,
  });
  worker.on("failed", (job, err) => deps.logger.debug({ jobId: job?.id, err: err.message }, "read receipt not sent"));
  worker.on("error", (err) => deps.logger.warn({ err: err.message }, "receipt worker error"));
  return worker;
}
