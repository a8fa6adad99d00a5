import { createHash } from "node:crypto";
import { Types } from "mongoose";

/** Largest campaign: the positions of its recipients fit the id's 3-byte counter. */
export const MAX_CAMPAIGN_RECIPIENTS = 10_000;

/**
 * The message id of a campaign's recipient at `index`, the same every time: the campaign's time (the
 * first 4 bytes of its id, so the id still sorts by time), 5 bytes of the campaign id's hash, and the
 * position as the 3-byte counter, as an ObjectId is laid out. A campaign's acceptance resumed after a
 * crash therefore enqueues the same jobs (one job per id) and counts the same members.
 */
export function campaignMessageId(campaignId: Types.ObjectId, index: number): Types.ObjectId {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffff)
    throw new RangeError("campaign recipient index out of range");
  const id = Buffer.from(campaignId.toHexString(), "hex");
  const out = Buffer.alloc(12);
  id.copy(out, 0, 0, 4);
  createHash("sha256").update(id).digest().copy(out, 4, 0, 5);
  out.writeUIntBE(index, 9, 3);
  return new Types.ObjectId(out.toString("hex"));
}
