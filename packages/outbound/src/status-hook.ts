import type { Logger } from "pino";
import type { OutboundMessageDoc, StatusOutcome, TenantData } from "@linkojob/db";
import { DEFAULT_PRICE_TABLE_MAD, reportedCost, type PriceTable } from "./pricing.js";
import { countryOfPhone, countryOfUserId, recipientCountry } from "./country-of.js";
import type { NormalizedStatus } from "@linkojob/whatsapp";
import type { OutboundQueue } from "./enqueue.js";
import { GroupCommit } from "./group-commit.js";
import { createTemplateFallback } from "./template-fallback.js";
import { accountHoldReason, holdTenant } from "./account-holds.js";
import type { ClientStatusAnnouncer } from "./client-status-announcer.js";
import { classifyGraphCode } from "@linkojob/whatsapp";
import type { OptOutRegister } from "./opt-outs/opt-out-register.js";
import { campaignEventsOfStatuses, type CampaignProgress } from "./campaigns/campaign-progress.js";

/** Same shape as the inbound worker's StatusHook (apps/inbound-worker DeliveryProcessorDeps.onStatus). */
export type OutboundStatusHook = (
  tenant: TenantData,
  status: NormalizedStatus,
  outcome: StatusOutcome,
) => Promise<void>;

export interface OutboundStatusHookDeps {
  /** The outbound queue (fallback sends are enqueued on it). */
  queue: OutboundQueue;
  prices?: PriceTable;
  logger?: Logger;
  /**
   * With it, a `failed` status carrying an account-level code (131048 spam limit, 131042 payment…:
   * Meta often reports them after accepting the send) pauses the tenant's sends like the same
   * error answered at send time (account-holds.ts).
   */
  announcer?: ClientStatusAnnouncer;
  /** With it, a `failed` status with 131050 (the user stopped marketing messages) records a `marketing` opt-out. */
  optOuts?: OptOutRegister;
  /** With it, a campaign's message counts its statuses (from what the message holds after this one). */
  campaigns?: CampaignProgress;
}

/**
 * What the outbound side does with a status webhook, after the status batch
 * (db.messageStore.applyStatuses) stored it:
 * - `pricing` → the message's cost becomes what Meta's pricing implies (billable, category), in
 *   place of the estimate made at send time;
 * - `failed` with 131047 on a free-form text → one automatic template send (shared with the
 *   synchronous path, so a text gets one fallback however the 131047 arrives).
 * Idempotent: a redelivered status recomputes the same cost and finds the fallback already there.
 * Costs of statuses processed concurrently go together in one bulkWrite (group commit); each call
 * still returns only once its own cost is written.
 */
export function createOutboundStatusHook(deps: OutboundStatusHookDeps): OutboundStatusHook {
  const prices = deps.prices ?? DEFAULT_PRICE_TABLE_MAD;
  let costs: GroupCommit<{ tenant: TenantData; id: OutboundMessageDoc["_id"]; cost: number; category: string }> | null =
    null;
  return async (tenant, status, outcome) => {
    if (outcome.outcome === "pending" || !outcome.message) return;
    const id = outcome.message._id;
    const campaignId = outcome.message.campaignId;
    if (campaignId && deps.campaigns) {
      // Read from the message's statuses as stored: a repeated, late or out-of-order report counts once.
      const events = campaignEventsOfStatuses(outcome.message.statusAt);
      await deps.campaigns.mark(
        tenant.clientId.toHexString(),
        campaignId.toHexString(),
        events.map((e) => [id.toHexString(), e]),
      );
    }
    if (status.pricing) {
      // Meta's pricing decides (type, then billable; category), at the rate of the recipient's country on the status's day.
      const country =
        countryOfPhone(status.recipientId) ??
        countryOfUserId(status.recipientUserId) ??
        recipientCountry((outcome.message as Partial<OutboundMessageDoc>).request ?? {});
      const c = reportedCost(status.pricing, prices, { country, at: status.timestamp });
      costs ??= new GroupCommit(async (items) => {
        // Every tenant's messages are in one collection: one request for the whole group.
        await items[0]!.tenant.outbound.recordCosts(
          items.map((i) => ({ clientId: i.tenant.clientId, id: i.id, cost: i.cost, category: i.category })),
        );
      });
      // Written again with each status that carries pricing (Meta sends it with `sent` and with
      // `delivered` or `read`): idempotent, and a second write also repairs a first one that
      // FerretDB v1 lost to a concurrent write of the same message.
      await costs.add({ tenant, id, cost: c.cost, category: c.category });
    }
    if (status.status === "failed" && deps.announcer) {
      for (const e of status.errors ?? []) {
        const reason = typeof e.code === "number" ? accountHoldReason(classifyGraphCode(e.code)) : null;
        if (!reason) continue;
        await holdTenant(deps.announcer, tenant.clientId, reason, e.message ?? e.title ?? null);
        deps.logger?.warn(
          { clientId: tenant.clientId.toHexString(), code: e.code },
          "account-level error in a status webhook: the tenant's sends are paused",
        );
        break;
      }
    }
    if (status.status === "failed" && deps.optOuts && status.errors?.some((e) => e.code === 131050)) {
      const request = (outcome.message as Partial<OutboundMessageDoc>).request;
      await deps.optOuts.marketingStoppedByMeta({
        clientId: tenant.clientId,
        phone: status.recipientId ?? request?.candidatePhone ?? null,
        userId: status.recipientUserId ?? request?.candidateUserId ?? null,
        at: status.timestamp,
        key: status.wamid,
        wamid: status.wamid,
      });
    }
    if (status.status === "failed" && status.errors?.some((e) => e.code === 131047)) {
      const message = await tenant.outbound.get(id);
      if (!message) return;
      const fallbackId = await createTemplateFallback(tenant, deps.queue, message, prices);
      if (fallbackId)
        deps.logger?.info({ messageId: id.toHexString(), fallbackId }, "131047 on a text: template fallback queued");
    }
  };
}
