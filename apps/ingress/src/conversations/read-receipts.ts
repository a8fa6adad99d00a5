import { Queue } from "bullmq";
import type { FastifyBaseLogger } from "fastify";
import type { Types } from "mongoose";
import type { Database } from "@linkojob/db";
import {
  RECEIPT_JOB,
  RECEIPT_QUEUE,
  receiptJobId,
  receiptJobOptions,
  type ReceiptJob,
  type RedisClient,
} from "@linkojob/queues";

/** Typing indicators per conversation: at most one per this many ms (Meta shows one for up to 25 s). */
export const TYPING_INTERVAL_MS = 20_000;

export type ReceiptResult =
  | { queued: true; wamid: string }
  | { queued: false; reason: "no_inbound" | "already_read" | "rate_limited" | "unavailable" };

/**
 * Read receipts at Meta for the inbox: opening or answering a conversation marks the candidate's
 * latest message read, once per message. The conversation remembers the last wamid marked read
 * (`readReceiptWamid`, written by a conditional update, so two opens at once enqueue one receipt);
 * the outbound worker sends the receipt (RECEIPT_QUEUE). Best effort: a failure here is logged and
 * never fails the request that caused it.
 */
export class ReadReceipts {
  readonly queue: Queue<ReceiptJob>;

  constructor(
    private readonly db: Database,
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly log?: FastifyBaseLogger,
  ) {
    this.queue = new Queue<ReceiptJob>(RECEIPT_QUEUE, { connection: redis, prefix });
    this.queue.on("error", (err) => this.log?.warn({ err: err.message }, "receipt queue connection error"));
  }

  /** The wamid of the candidate's latest message in the conversation (reactions and system messages excluded). */
  private async lastInboundWamid(clientId: Types.ObjectId, conversationId: Types.ObjectId): Promise<string | null> {
    const m = await this.db.messages
      .findOne(
        {
          clientId,
          conversationId,
          direction: "inbound",
          wamid: { $ne: null },
          type: { $nin: ["reaction", "system"] },
        },
        { wamid: 1 },
      )
      .sort({ timestamp: -1, _id: -1 })
      .lean();
    return m?.wamid ?? null;
  }

  /** Marks the candidate's latest message read at Meta unless it already was. Never throws. */
  async markRead(clientId: Types.ObjectId, conversationId: Types.ObjectId): Promise<ReceiptResult> {
    try {
      const wamid = await this.lastInboundWamid(clientId, conversationId);
      if (!wamid) return { queued: false, reason: "no_inbound" };
      const changed = await this.db.forTenant(clientId).conversations.recordReadReceipt(conversationId, wamid);
      if (!changed) return { queued: false, reason: "already_read" };
      await this.queue.add(
        RECEIPT_JOB,
        { clientId: clientId.toHexString(), wamid, typing: false },
        { ...receiptJobOptions, jobId: receiptJobId(wamid, false) },
      );
      return { queued: true, wamid };
    } catch (err) {
      this.log?.warn(
        { err: (err as Error).message, conversationId: conversationId.toHexString() },
        "read receipt not queued",
      );
      return { queued: false, reason: "unavailable" };
    }
  }

  /**
   * The recruiter started typing: shows "typing…" to the candidate (which also marks the latest
   * message read), at most once per TYPING_INTERVAL_MS per conversation. Never throws.
   */
  async typing(clientId: Types.ObjectId, conversationId: Types.ObjectId): Promise<ReceiptResult> {
    try {
      const slot = Math.floor(Date.now() / TYPING_INTERVAL_MS);
      const first = await this.redis.set(
        `${this.prefix}:typing:${conversationId.toHexString()}`,
        String(slot),
        "PX",
        TYPING_INTERVAL_MS,
        "NX",
      );
      if (first !== "OK") return { queued: false, reason: "rate_limited" };
      const wamid = await this.lastInboundWamid(clientId, conversationId);
      if (!wamid) return { queued: false, reason: "no_inbound" };
      // Typing marks it read too: a later open does not send a second receipt for this message.
      await this.db.forTenant(clientId).conversations.recordReadReceipt(conversationId, wamid, { always: true });
      await this.queue.add(
        RECEIPT_JOB,
        { clientId: clientId.toHexString(), wamid, typing: true },
        { ...receiptJobOptions, jobId: receiptJobId(wamid, true, String(slot)) },
      );
      return { queued: true, wamid };
    } catch (err) {
      this.log?.warn(
        { err: (err as Error).message, conversationId: conversationId.toHexString() },
        "typing indicator not queued",
      );
      return { queued: false, reason: "unavailable" };
    }
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
