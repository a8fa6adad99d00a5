import type { Queue } from "bullmq";
import type { Database } from "@linkojob/db";
import { outboundJobId, type OutboundJob } from "@linkojob/queues";
import { acceptedSendSchema, type CampaignProgress } from "@linkojob/outbound";
import type { SendAcceptance } from "../sends/send-acceptance.js";

/** Jobs looked at (and removed) at once. */
const CHUNK = 500;
/** The code and words a cancelled campaign's unsent messages end with. */
export const CAMPAIGN_CANCELLED = "CAMPAIGN_CANCELLED";
const CANCELLED_REASON = "the campaign was cancelled before this message went";

/**
 * Stops what has not gone of a campaign: the campaign is marked cancelled, every message still
 * queued or scheduled is counted `cancelled` and flagged for the outbound workers (their check just
 * before the Graph call suppresses a job that was already running), its waiting job is removed and
 * the budget place its acceptance counted given back, and the messages already stored but not sent
 * end `suppressed`. Repeating it changes nothing more.
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
  const members = await deps.progress.cancel(clientId, campaignId);
  for (let i = 0; i < members.length; i += CHUNK) {
    await Promise.all(
      members.slice(i, i + CHUNK).map(async (messageId) => {
        const job = await deps.queue.getJob(outboundJobId(messageId));
        if (!job) return;
        const state = await job.getState();
        if (!["delayed", "waiting", "prioritized", "paused"].includes(state)) return;
        // A job taken by a worker meanwhile is locked: not removed, and that worker's check suppresses it.
        const removed = await job.remove().then(
          () => true,
          () => false,
        );
        const accepted = acceptedSendSchema.safeParse(job.data.accepted);
        if (removed && accepted.success && accepted.data.budget)
          await deps.acceptance.giveBack({ action: "go", reservation: accepted.data.budget });
      }),
    );
  }
  await deps.db.forTenant(clientId).outbound.suppressCampaign(campaign._id, CAMPAIGN_CANCELLED, CANCELLED_REASON);
  await deps.progress.emitNow(clientId, campaignId).catch(() => undefined);
  return { cancelled: members.length };
}
