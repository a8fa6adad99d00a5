import type { JobsOptions, Queue } from "bullmq";
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
 * What enqueues one send: the message, its kind (replies go before bulk templates), a delay, the
 * API's acceptance. `lane: "campaign"`: a campaign's send, enqueued on the campaign queue
 * (OUTBOUND_CAMPAIGN_QUEUE, its own lane: first in, first out, no priority).
 */
export interface SendEnqueue {
  clientId: string;
  messageId: string;
  kind: OutboundKind;
  suffix?: string;
  delayMs?: number;
  accepted?: AcceptedSend;
  lane?: "campaign";
}

/** The job of a send (name, data, options), as enqueueSend adds it and the send intake's pump adds it in bulk. */
export function sendJobOf(input: SendEnqueue): {
  name: typeof OUTBOUND_SEND_JOB;
  data: OutboundJob;
  opts: JobsOptions;
} {
  return {
    name: OUTBOUND_SEND_JOB,
    data: {
      clientId: input.clientId,
      messageId: input.messageId,
      ...(input.accepted ? { accepted: input.accepted } : {}),
    },
    opts: {
      ...outboundJobOptions,
      jobId: outboundJobId(input.messageId, input.suffix),
      // Replies inside the window (text or media) before bulk templates; a campaign's lane has no priorities.
      ...(input.lane === "campaign"
        ? {}
        : { priority: input.kind === "template" ? OUTBOUND_PRIORITY.bulk : OUTBOUND_PRIORITY.reply }),
      ...(input.delayMs ? { delay: input.delayMs } : {}),
    },
  };
}

/**
 * Enqueues many sends in one round trip (a campaign's, on the campaign queue): the same jobs as
 * enqueueSend, so the same ids (enqueuing again is a no-op) and the same options.
 */
export async function enqueueSends(queue: OutboundQueue, inputs: SendEnqueue[]): Promise<void> {
  if (inputs.length) await queue.addBulk(inputs.map(sendJobOf));
}

/**
 * Enqueues the send of a message: an accepted one (`accepted`: the worker stores it first) or one
 * already stored. The job id is derived from the message id (plus a suffix for a resume or a
 * recovery), so enqueuing twice is one job; and the worker re-checks the message's state under a
 * lock anyway, so even two jobs never send twice.
 */
export async function enqueueSend(queue: OutboundQueue, input: SendEnqueue): Promise<void> {
  const job = sendJobOf(input);
  await queue.add(job.name, job.data, job.opts);
}
