import type { Logger } from "pino";
import { DEFAULT_PRICE_TABLE_MAD, reportedCost, type OutboundMessageDoc, type PriceTable, type StatusOutcome, type TenantData } from "@linkojob/db";
import type { NormalizedStatus } from "@linkojob/whatsapp";
import type { OutboundQueue } from "./enqueue";
import { createTemplateFallback } from "./template-fallback";

/** Same shape as the inbound worker's StatusHook (apps/inbound-worker DeliveryProcessorDeps.onStatus). */
export type OutboundStatusHook = (tenant: TenantData, status: NormalizedStatus, outcome: StatusOutcome) => Promise<void>;

export interface OutboundStatusHookDeps {
  /** The outbound queue (fallback sends are enqueued on it). */
  queue: OutboundQueue;
  prices?: PriceTable;
  logger?: Logger;
}

/**
 * What the outbound side does with a status webhook, after MessageRepository.applyStatus stored it:
 * - `pricing` → the message's cost becomes what Meta's pricing implies (billable, category), in
 *   place of the estimate made at send time;
 * - `failed` with 131047 on a free-form text → one automatic template send (shared with the
 *   synchronous path, so a text gets one fallback however the 131047 arrives).
 * Idempotent: a redelivered status recomputes the same cost and finds the fallback already there.
 */
export function createOutboundStatusHook(deps: OutboundStatusHookDeps): OutboundStatusHook {
  const prices = deps.prices ?? DEFAULT_PRICE_TABLE_MAD;
  return async (tenant, status, outcome) => {
    if (outcome.outcome === "pending" || !outcome.message) return;
    const id = outcome.message._id;
    if (status.pricing) {
      const c = reportedCost(status.pricing, prices);
      await tenant.outbound.recordCost(id, c.cost, c.category);
    }
    if (status.status === "failed" && status.errors?.some((e) => e.code === 131047)) {
      const message = await tenant.outbound.get(id);
      if (!message) return;
      const fallbackId = await createTemplateFallback(tenant, deps.queue, message as OutboundMessageDoc, prices);
      if (fallbackId) deps.logger?.info({ messageId: id.toHexString(), fallbackId }, "131047 on a text: template fallback queued");
    }
  };
}
