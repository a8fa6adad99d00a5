import type { Queue } from "bullmq";
import type { Database } from "@linkojob/db";
import type { OutboundJob } from "@linkojob/queues";
import {
  CAMPAIGN_CANCELLED,
  CAMPAIGN_CANCELLED_REASON,
  cancelCampaignSends,
  type CampaignProgress,
} from "@linkojob/outbound";
import type { SendAcceptance } from "../sends/send-acceptance.js";

export { CAMPAIGN_CANCELLED };

/**
 * Stops what has not gone of a campaign: the campaign is marked cancelled, every message still
 * queued or scheduled is counted `cancelled` and its waiting job removed, its budget place given
 * back (cancelCampaignSends), and the messages already stored but not sent end `suppressed`. A
 * campaign still expanding stops there: the expansion sees the cancel before its next chunk and
 * cancels what it queued meanwhile. Repeating it changes nothing more.
 */
export async function cancelCampaign(
  deps: { db: Database; queue: Queue<OutboundJob>; progress: CampaignProgress; acceptance: SendAcceptance },
  clientId: string,
  campaignId: string,
): Promise<{ cancelled: number }> {
  const campaigns = deps.db.campaignsOf(clientId);
  const campaign = await campaigns.get(campaignId);
  if (!campaign) return { cancelled: 0 };
  await campaigns.markCancelled(campaign._id);
  const members = await cancelCampaignSends(
    { queue: deps.queue, progress: deps.progress, decider: deps.acceptance },
    clientId,
    campaignId,
  );
  await deps.db
    .forTenant(clientId)
    .outbound.suppressCampaign(campaign._id, CAMPAIGN_CANCELLED, CAMPAIGN_CANCELLED_REASON);
  await deps.progress.emitNow(clientId, campaignId).catch(() => undefined);
  return { cancelled: members.length };
}
