import type { Queue } from "bullmq";
import {
  expectedCost,
  type ClientDoc,
  type Database,
  type OutboundMessageDoc,
  type OutboundRequest,
  type TenantData,
} from "@linkojob/db";
import { OUTBOUND_PRIORITY, OUTBOUND_SEND_JOB, outboundJobId, outboundJobOptions, type OutboundJob } from "@linkojob/queues";
import { HttpError } from "../http/errors";

export interface SendAnswer {
  success: true;
  messageId: string;
  status: "queued";
  kind: "text" | "template";
  /** Expected cost in MAD; confirmed or corrected later by the pricing Meta reports. */
  cost: number;
}

const answerOf = (m: Pick<OutboundMessageDoc, "_id" | "kind" | "costExpected">): SendAnswer => ({
  success: true,
  messageId: m._id.toHexString(),
  status: "queued",
  kind: m.kind,
  cost: m.costExpected,
});

/**
 * Accepts a send: stores the message `queued` in its conversation and enqueues it. No Meta call:
 * the outbound worker decides and sends. The answer's `kind` is the plan from the window as it is
 * now; the worker decides again at send time (a candidate may write meanwhile).
 *
 * With an Idempotency-Key, the message's dedupe key is `out:idem:<key>` (unique per client): a
 * repeated request finds the first message and answers the same, and only enqueues it again (same
 * job id: no second job), which also heals a first request whose enqueue failed.
 */
export class SendAcceptance {
  constructor(
    private readonly db: Database,
    private readonly queue: Queue<OutboundJob>,
  ) {}

  async accept(tenant: TenantData, request: OutboundRequest, idempotencyKey: string | null): Promise<{ answer: SendAnswer; replay: boolean }> {
    const clientId = tenant.clientId;
    if (idempotencyKey) {
      const first = await this.db.messages.collection.findOne({ clientId, dedupeKey: `out:idem:${idempotencyKey}` });
      if (first) {
        const m = first as unknown as OutboundMessageDoc;
        await this.enqueue(clientId.toHexString(), m);
        return { answer: answerOf(m), replay: true };
      }
    }
    const client = await this.db.clients.findById(clientId, { defaultTemplate: 1, status: 1 }).lean<Pick<ClientDoc, "defaultTemplate" | "status">>();
    if (!client) throw new HttpError(404, "NOT_FOUND", "client not found");

    // Read first: the conversation is written (created) only when it does not exist yet.
    const existing = await this.db.conversations
      .findOne({ clientId, candidateKey: request.candidatePhone }, { _id: 1, windowExpiresAt: 1 })
      .lean<{ _id: OutboundMessageDoc["conversationId"]; windowExpiresAt?: Date | null }>();
    const conversationId =
      existing?._id ??
      (await tenant.conversations.ensure(
        { candidateKey: request.candidatePhone, candidatePhone: request.candidatePhone },
        { ...(request.applicationId ? { applicationId: request.applicationId } : {}), ...(request.jobTitle ? { jobTitle: request.jobTitle } : {}) },
      ));
    const inWindow = !!existing?.windowExpiresAt && new Date(existing.windowExpiresAt).getTime() > Date.now();
    const kind = request.message && inWindow ? "text" : "template";
    let category: string | null = null;
    if (kind === "template") {
      const name = request.templateName ?? client.defaultTemplate?.name ?? "application_received";
      const language = request.templateLanguage ?? client.defaultTemplate?.language ?? "fr";
      category = (await tenant.templates.find(name, language))?.category ?? null;
    }
    const est = expectedCost(kind, category, inWindow);
    const { message } = await tenant.outbound.create({
      conversationId,
      request,
      kind,
      cost: est.cost,
      costCategory: est.category,
      idempotencyKey,
    });
    await this.enqueue(clientId.toHexString(), message);
    return { answer: answerOf(message), replay: false };
  }

  private async enqueue(clientId: string, m: Pick<OutboundMessageDoc, "_id" | "kind">): Promise<void> {
    const messageId = m._id.toHexString();
    try {
      await this.queue.add(
        OUTBOUND_SEND_JOB,
        { clientId, messageId },
        { ...outboundJobOptions, jobId: outboundJobId(messageId), priority: m.kind === "text" ? OUTBOUND_PRIORITY.reply : OUTBOUND_PRIORITY.bulk },
      );
    } catch {
      // Stored but not queued: the caller retries with the same Idempotency-Key (which enqueues it),
      // and the outbound worker re-enqueues messages left queued without a job when it starts.
      throw new HttpError(503, "QUEUE_UNAVAILABLE", "the message is stored but could not be queued; retry with the same Idempotency-Key", { messageId });
    }
  }
}
