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

/** What one send's enqueue needs. `lane: "campaign"` puts it behind replies and single first contacts. */
export interface SendToEnqueue {
  clientId: string;
  messageId: string;
  kind: OutboundKind;
  suffix?: string;
  delayMs?: number;
  accepted?: AcceptedSend;
  lane?: "campaign";
}

/** Replies inside the window (text or media) before bulk templates, and a campaign's after both. */
const priorityOf = (input: Pick<SendToEnqueue, "kind" | "lane">) =>
  input.lane === "campaign"
    ? OUTBOUND_PRIORITY.campaign
    : input.kind === "template"
      ? OUTBOUND_PRIORITY.bulk
      : OUTBOUND_PRIORITY.reply;

const jobOf = (input: SendToEnqueue) => ({
  name: OUTBOUND_SEND_JOB,
  data: {
    clientId: input.clientId,
    messageId: input.messageId,
    ...(input.accepted ? { accepted: input.accepted } : {}),
  },
  opts: {
    ...outboundJobOptions,
    jobId: outboundJobId(input.messageId, input.suffix),
    priority: priorityOf(input),
    ...(input.delayMs ? { delay: input.delayMs } : {}),
  },
});

/**
 * Enqueues many sends in one round trip (a campaign's): the same jobs as enqueueSend, so the same
 * ids (enqueuing again is a no-op) and the same options.
 */
export async function enqueueSends(queue: OutboundQueue, inputs: SendToEnqueue[]): Promise<void> {
  if (inputs.length) await queue.addBulk(inputs.map(jobOf));
}

/**
 * Enqueues the send of a message: an accepted one (`accepted`: the worker stores it first) or one
 * already stored. The job id is derived from the message id (plus a suffix for a resume or a
 * recovery), so enqueuing twice is one job; and the worker re-checks the message's state under a
 * lock anyway, so even two jobs never send twice.
 */
export async function enqueueSend(queue: OutboundQueue, input: SendToEnqueue): Promise<void> {
  const job = jobOf(input);
  await queue.add(job.name, job.data, job.opts);
}
