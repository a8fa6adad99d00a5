import { Types } from "mongoose";
import type { Database } from "@linkojob/db";
import type { CampaignProgress } from "./campaign-progress.js";

/**
 * Counts `replied` for the campaign templates a batch's messages answered (the analytics projector
 * names each template a candidate's first message after it answers: AnalyticsProjector.project's
 * `replies`). One MongoDB request for the batch, reading which of those templates are a campaign's.
 */
export async function countCampaignReplies(
  db: Database,
  campaigns: CampaignProgress,
  replies: Array<{ clientId: Types.ObjectId; templateId: string }>,
): Promise<void> {
  const ids = [...new Set(replies.map((r) => r.templateId))].filter((id) => Types.ObjectId.isValid(id));
  if (!ids.length) return;
  const clients = [...new Map(replies.map((r) => [r.clientId.toHexString(), r.clientId])).values()];
  const found = await db.messages.collection
    .find(
      {
        _id: { $in: ids.map((id) => new Types.ObjectId(id)) },
        clientId: { $in: clients },
        campaignId: { $type: "objectId" },
      },
      { projection: { _id: 1, clientId: 1, campaignId: 1 } },
    )
    .toArray();
  for (const m of found) await campaigns.mark(String(m.clientId), String(m.campaignId), [[String(m._id), "replied"]]);
}
