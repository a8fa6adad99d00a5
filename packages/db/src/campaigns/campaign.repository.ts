import { Types, type Model } from "mongoose";
import { isDuplicateKeyError } from "../errors.js";
import { toObjectId } from "../ids.js";
import type { CampaignCountsDoc, CampaignDoc } from "./campaign.model.js";

export type NewCampaign = Pick<
  CampaignDoc,
  | "idempotencyKey"
  | "templateName"
  | "language"
  | "requested"
  | "recipients"
  | "duplicates"
  | "suppressed"
  | "createdBy"
> & { _id?: Types.ObjectId };

/** One tenant's campaigns (every query names the tenant). Data access only: what a campaign does lives in @linkojob/outbound. */
export class CampaignRepository {
  constructor(
    private readonly model: Model<CampaignDoc>,
    readonly clientId: Types.ObjectId,
  ) {}

  /** The campaign of this idempotency key, if any. */
  async byKey(idempotencyKey: string): Promise<CampaignDoc | null> {
    return this.model.findOne({ clientId: this.clientId, idempotencyKey }).lean<CampaignDoc>();
  }

  async get(id: Types.ObjectId | string): Promise<CampaignDoc | null> {
    return this.model.findOne({ _id: toObjectId(id, "campaignId"), clientId: this.clientId }).lean<CampaignDoc>();
  }

  /**
   * Stores a new campaign, `accepting`, once per idempotency key (the unique `{ clientId,
   * idempotencyKey }` index decides between concurrent requests): `created` false returns the one stored.
   */
  async create(input: NewCampaign, now = new Date()): Promise<{ created: boolean; campaign: CampaignDoc }> {
    const doc: CampaignDoc = {
      _id: input._id ?? new Types.ObjectId(),
      clientId: this.clientId,
      idempotencyKey: input.idempotencyKey,
      templateName: input.templateName,
      language: input.language,
      status: "accepting",
      requested: input.requested,
      recipients: input.recipients,
      duplicates: input.duplicates,
      suppressed: input.suppressed,
      counts: null,
      countsAt: null,
      createdBy: input.createdBy,
      createdAt: now,
      acceptedAt: null,
      cancelledAt: null,
      updatedAt: now,
    };
    try {
      await this.model.collection.insertOne(doc);
      return { created: true, campaign: doc };
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      const existing = await this.byKey(input.idempotencyKey);
      if (!existing) throw err;
      return { created: false, campaign: existing };
    }
  }

  /** Every send of the campaign is queued: `running` (a cancelled one stays cancelled). */
  async markRunning(id: Types.ObjectId, at = new Date()): Promise<void> {
    await this.model.collection.updateOne(
      { _id: id, clientId: this.clientId, status: "accepting" },
      { $set: { status: "running", acceptedAt: at, updatedAt: at } },
    );
  }

  /** Cancelled (once: the first cancel's time stays). Returns false when it was cancelled already. */
  async markCancelled(id: Types.ObjectId, at = new Date()): Promise<boolean> {
    const res = await this.model.collection.updateOne(
      { _id: id, clientId: this.clientId, status: { $ne: "cancelled" } },
      { $set: { status: "cancelled", cancelledAt: at, updatedAt: at } },
    );
    return res.modifiedCount > 0;
  }

  /** Copies the live counts (read at `at`): an older copy never overwrites a newer one. */
  async saveCounts(id: Types.ObjectId, counts: CampaignCountsDoc, at = new Date()): Promise<void> {
    await this.model.collection.updateOne(
      { _id: id, clientId: this.clientId, $or: [{ countsAt: null }, { countsAt: { $lt: at } }] },
      { $set: { counts, countsAt: at } },
    );
  }
}
