import { Types, type Connection } from "mongoose";
import {
  sendingProtectionModels,
  type NumberQualityDoc,
  type PortfolioLimitDoc,
  type SendingPolicyDoc,
} from "./sending-policy.model.js";

type PolicyFields = Pick<SendingPolicyDoc, "clientId" | "quietHours" | "timeZone" | "updatedAt">;
type LimitFields = Pick<PortfolioLimitDoc, "wabaId" | "maxDailyConversations" | "source" | "updatedAt">;
type QualityFields = Pick<
  NumberQualityDoc,
  "phoneNumberId" | "wabaId" | "rating" | "event" | "marketingPaused" | "updatedAt"
>;

/** Data access for sending policies, portfolio limits and number quality (one document per key, upserted). */
export class SendingProtectionRepository {
  private readonly m: ReturnType<typeof sendingProtectionModels>;

  constructor(connection: Connection) {
    this.m = sendingProtectionModels(connection);
  }

  async ensureIndexes(): Promise<void> {
    for (const model of [this.m.policies, this.m.limits, this.m.quality]) {
      await model.createCollection().catch(() => undefined);
      await model.createIndexes();
    }
  }

  policyOf(clientId: Types.ObjectId | string): Promise<PolicyFields | null> {
    return this.m.policies
      .findOne(
        { clientId: new Types.ObjectId(clientId) },
        { _id: 0, clientId: 1, quietHours: 1, timeZone: 1, updatedAt: 1 },
      )
      .lean<PolicyFields>()
      .exec();
  }

  async setPolicy(
    clientId: Types.ObjectId | string,
    policy: { quietHours: { start: string; end: string } | null; timeZone: string },
    updatedBy: string | null,
  ): Promise<PolicyFields> {
    const doc = { clientId: new Types.ObjectId(clientId), ...policy, updatedAt: new Date(), updatedBy };
    await this.m.policies.updateOne({ clientId: doc.clientId }, { $set: doc }, { upsert: true });
    return doc;
  }

  allPolicies(): Promise<PolicyFields[]> {
    return this.m.policies
      .find({}, { _id: 0, clientId: 1, quietHours: 1, timeZone: 1, updatedAt: 1 })
      .lean<PolicyFields[]>()
      .exec();
  }

  async setLimit(wabaId: string, maxDailyConversations: number, source: string, at = new Date()): Promise<void> {
    await this.m.limits.updateOne(
      { wabaId },
      { $set: { wabaId, maxDailyConversations, source, updatedAt: at } },
      { upsert: true },
    );
  }

  allLimits(): Promise<LimitFields[]> {
    return this.m.limits
      .find({}, { _id: 0, wabaId: 1, maxDailyConversations: 1, source: 1, updatedAt: 1 })
      .lean<LimitFields[]>()
      .exec();
  }

  async setQuality(q: Omit<QualityFields, "updatedAt">, at = new Date()): Promise<void> {
    await this.m.quality.updateOne(
      { phoneNumberId: q.phoneNumberId },
      { $set: { ...q, updatedAt: at } },
      { upsert: true },
    );
  }

  allQuality(): Promise<QualityFields[]> {
    return this.m.quality
      .find({}, { _id: 0, phoneNumberId: 1, wabaId: 1, rating: 1, event: 1, marketingPaused: 1, updatedAt: 1 })
      .lean<QualityFields[]>()
      .exec();
  }
}
