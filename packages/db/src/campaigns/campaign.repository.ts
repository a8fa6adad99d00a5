import { Types, type Model } from "mongoose";
import { isDuplicateKeyError } from "../errors.js";
import { toObjectId } from "../ids.js";
import type {
  CampaignCountsDoc,
  CampaignDoc,
  CampaignRecipientChunkDoc,
  CampaignRecipientDoc,
} from "./campaign.model.js";

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
    private readonly chunkModel?: Model<CampaignRecipientChunkDoc>,
  ) {}

  private get chunkDocs(): Model<CampaignRecipientChunkDoc> {
    if (!this.chunkModel) throw new Error("this repository has no campaign_recipients collection");
    return this.chunkModel;
  }

  /** The campaign of this idempotency key, if any. */
  async byKey(idempotencyKey: string): Promise<CampaignDoc | null> {
    return this.model.findOne({ clientId: this.clientId, idempotencyKey }).lean<CampaignDoc>();
  }

  async get(id: Types.ObjectId | string): Promise<CampaignDoc | null> {
    return this.model.findOne({ _id: toObjectId(id, "campaignId"), clientId: this.clientId }).lean<CampaignDoc>();
  }

  /**
   * Stores a new campaign, `expanding`, once per idempotency key (the unique `{ clientId,
   * idempotencyKey }` index decides between concurrent requests): `created` false returns the one stored.
   */
  async create(
    input: NewCampaign & { chunks?: number },
    now = new Date(),
  ): Promise<{ created: boolean; campaign: CampaignDoc }> {
    const doc: CampaignDoc = {
      _id: input._id ?? new Types.ObjectId(),
      clientId: this.clientId,
      idempotencyKey: input.idempotencyKey,
      templateName: input.templateName,
      language: input.language,
      status: "expanding",
      requested: input.requested,
      recipients: input.recipients,
      duplicates: input.duplicates,
      suppressed: input.suppressed,
      chunks: input.chunks ?? 0,
      expandedChunks: 0,
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

  /**
   * Stores a campaign's recipients in chunks (before its campaign document: a campaign stored is
   * always complete). Stored again after a crash, a chunk already there is kept.
   */
  async storeRecipients(campaignId: Types.ObjectId, chunks: CampaignRecipientDoc[][], now = new Date()): Promise<void> {
    if (!chunks.length) return;
    const docs: CampaignRecipientChunkDoc[] = chunks.map((recipients, chunk) => ({
      _id: `${campaignId.toHexString()}:${chunk}`,
      clientId: this.clientId,
      campaignId,
      chunk,
      packed: JSON.stringify(recipients),
      createdAt: now,
    }));
    try {
      await this.chunkDocs.collection.insertMany(docs as unknown as Array<Record<string, unknown>>, { ordered: false });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }

  /** One chunk of a campaign's recipients (null once expanded and deleted). */
  async recipientChunk(
    campaignId: Types.ObjectId,
    chunk: number,
  ): Promise<{ chunk: number; recipients: CampaignRecipientDoc[] } | null> {
    const doc = await this.chunkDocs
      .findOne({ _id: `${campaignId.toHexString()}:${chunk}`, clientId: this.clientId })
      .lean<CampaignRecipientChunkDoc>();
    return doc ? { chunk: doc.chunk, recipients: JSON.parse(doc.packed) as CampaignRecipientDoc[] } : null;
  }

  /**
   * The expansion's cursor: chunks below `expanded` are queued (never moves back), and the
   * recipients refused there (opted out) are added to `suppressed` (once each). Then the expanded
   * chunk is deleted.
   */
  async chunkExpanded(
    id: Types.ObjectId,
    chunk: number,
    suppressed: Array<{ index: number; code: string }>,
    at = new Date(),
  ): Promise<void> {
    await this.model.collection.updateOne(
      { _id: id, clientId: this.clientId },
      {
        $max: { expandedChunks: chunk + 1 },
        $set: { updatedAt: at },
        ...(suppressed.length ? { $addToSet: { suppressed: { $each: suppressed } } } : {}),
      },
    );
    await this.chunkDocs.deleteOne({ _id: `${id.toHexString()}:${chunk}`, clientId: this.clientId });
  }

  /** Deletes every recipient chunk left of a campaign (expanded, or cancelled). */
  async dropRecipients(id: Types.ObjectId): Promise<void> {
    await this.chunkDocs.deleteMany({ clientId: this.clientId, campaignId: id });
  }

  /**
   * Removes the recipients `match` names from this tenant's chunks not yet expanded (an erasure: a
   * campaign still expanding holds their number until its chunk is decided). Each chunk holding one
   * is rewritten without them; the campaign document is left alone (the expansion is its one writer
   * meanwhile), so an erased recipient is simply never decided. Returns how many were removed.
   */
  async eraseRecipients(match: (r: CampaignRecipientDoc) => boolean): Promise<number> {
    let removed = 0;
    const chunks = await this.chunkDocs.find({ clientId: this.clientId }).lean<CampaignRecipientChunkDoc[]>();
    for (const doc of chunks) {
      const recipients = JSON.parse(doc.packed) as CampaignRecipientDoc[];
      const kept = recipients.filter((r) => !match(r));
      if (kept.length === recipients.length) continue;
      await this.chunkDocs.updateOne(
        { _id: doc._id, clientId: this.clientId },
        { $set: { packed: JSON.stringify(kept) } },
      );
      removed += recipients.length - kept.length;
    }
    return removed;
  }

  /** Every send of the campaign is queued: `running` (a cancelled one stays cancelled). */
  async markRunning(id: Types.ObjectId, at = new Date()): Promise<void> {
    await this.model.collection.updateOne(
      { _id: id, clientId: this.clientId, status: { $in: ["expanding", "accepting"] } },
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

  /**
   * Copies the live counts (read at `at`): an older copy never overwrites a newer one. Not while the
   * campaign is expanding: the expansion is then the document's one writer (a MongoDB-protocol server
   * that applies an update as read-modify-write could otherwise lose its cursor or `suppressed`); the
   * expansion's end copies them.
   */
  async saveCounts(id: Types.ObjectId, counts: CampaignCountsDoc, at = new Date()): Promise<void> {
    await this.model.collection.updateOne(
      {
        _id: id,
        clientId: this.clientId,
        status: { $ne: "expanding" },
        $or: [{ countsAt: null }, { countsAt: { $lt: at } }],
      },
      { $set: { counts, countsAt: at } },
    );
  }
}
