import { Types } from "mongoose";
import type { Database } from "@linkojob/db";
import type { CampaignProgress } from "./campaign-progress.js";

/**
 * Counts `replied` for the campaign templates a batch's messages answered (the analytics projector
 * names each template a candidate's first message after it answers: AnalyticsProjector.project's
 * `replies`). One lookup for the batch (one request on MongoDB, one per template on FerretDB),
 * reading which of those templates are a campaign's.
 */
export async function countCampaignReplies(
  db: Database,
  campaigns: CampaignProgress,
  replies: Array<{ clientId: Types.ObjectId; templateId: string }>,
): Promise<void> {
  const wanted = new Map<string, { _id: Types.ObjectId; clientId: Types.ObjectId }>();
  for (const r of replies)
    if (Types.ObjectId.isValid(r.templateId))
      wanted.set(`${r.clientId.toHexString()}|${r.templateId}`, {
        _id: new Types.ObjectId(r.templateId),
        clientId: r.clientId,
      });
  if (!wanted.size) return;
  const pairs = [...wanted.values()];
  const ofCampaign = { campaignId: { $type: "objectId" } };
  // MongoDB: one find. FerretDB: one equality find per message (an `_id: {$in}` reads the collection).
  const found = await db.batchWriter.findEach<{
    _id: Types.ObjectId;
    clientId: Types.ObjectId;
    campaignId: Types.ObjectId;
  }>(
    db.messages.collection,
    {
      _id: { $in: [...new Set(pairs.map((p) => p._id.toHexString()))].map((id) => new Types.ObjectId(id)) },
      clientId: { $in: [...new Map(pairs.map((p) => [p.clientId.toHexString(), p.clientId])).values()] },
      ...ofCampaign,
    },
    pairs.map((p) => ({ ...p, ...ofCampaign })),
    { projection: { _id: 1, clientId: 1, campaignId: 1 } },
  );
  for (const m of found) await campaigns.mark(String(m.clientId), String(m.campaignId), [[String(m._id), "replied"]]);
}
