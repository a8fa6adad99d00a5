import type { Queue } from "bullmq";
import type { OutboundKind } from "@linkojob/db";
import {
  OUTBOUND_PRIORITY,
  OUTBOUND_SEND_JOB,
  outboundJobId,
  outboundJobOptions,
  type OutboundJob,
} from "@linkojob/queues";
import type { AcceptedSend } from "./accepted-send.js";

export type OutboundQueue = Queue<OutboundJob>;

/**
 * Enqueues the send of a message: an accepted one (`accepted`: the worker stores it first) or one
 * already stored. The job id is derived from the message id (plus a suffix for a resume or a
 * recovery), so enqueuing twice is one job; and the worker re-checks the message's state under a
 * lock anyway, so even two jobs never send twice.
 */
export async function enqueueSend(
  queue: OutboundQueue,
  input: {
    clientId: string;
    messageId: string;
    kind: OutboundKind;
    suffix?: string;
    delayMs?: number;
    accepted?: AcceptedSend;
  },
): Promise<void> {
  await queue.add(
    OUTBOUND_SEND_JOB,
    {
      clientId: input.clientId,
      messageId: input.messageId,
      ...(input.accepted ? { accepted: input.accepted } : {}),
    },
    {
      ...outboundJobOptions,
      jobId: outboundJobId(input.messageId, input.suffix),
      // Replies inside the window (text or media) before bulk templates.
      priority: input.kind === "template" ? OUTBOUND_PRIORITY.bulk : OUTBOUND_PRIORITY.reply,
      ...(input.delayMs ? { delay: input.delayMs } : {}),
    },
  );
}
