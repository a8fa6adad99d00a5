import { SendingProtectionRepository, type Database } from "@linkojob/db";
import type { RedisClient } from "@linkojob/queues";
import { UNCONFIGURED_SENDING_POLICY, type SendingPolicy } from "./sending-policy.js";

/** A number's quality as the send path reads it. */
export interface NumberQuality {
  rating: string | null;
  event: string | null;
  marketingPaused: boolean;
  at: string;
}

/** What the send path knows of a send's protections, read in one Redis request. */
export interface ProtectionView {
  policy: SendingPolicy;
  /** The portfolio's limit; null when not known yet (not budgeted), -1 for unlimited. */
  limit: number | null;
  quality: NumberQuality | null;
}

/**
 * The Redis copy of the sending protections (tenant policies, portfolio limits, number quality),
 * under the send state's prefix so that the send API reads them with no MongoDB request. MongoDB
 * (SendingProtectionRepository) stays the source of truth: every writer writes both, and `rebuild`
 * (called by SendState.rebuild, hence `cli:rebuild-send-state`) copies them all again.
 */
export class ProtectionState {
  private readonly prefix: string;
  readonly repo: SendingProtectionRepository;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    db: Database,
    /** The policy of a tenant that set none (the deployment's default). */
    readonly defaultPolicy: SendingPolicy = UNCONFIGURED_SENDING_POLICY,
  ) {
    this.prefix = `${prefix}:send-state`;
    this.repo = new SendingProtectionRepository(db.connection);
  }

  policyKey(clientId: string): string {
    return `${this.prefix}:policy:${clientId}`;
  }
  limitKey(wabaId: string): string {
    return `${this.prefix}:limit:${wabaId}`;
  }
  qualityKey(phoneNumberId: string): string {
    return `${this.prefix}:quality:${phoneNumberId}`;
  }

  /** The keys of `view`, for a caller that reads them in one MGET with others (the send API). */
  keysOf(client: { _id: { toHexString(): string }; wabaId: string; phoneNumberId: string }): string[] {
    return [
      this.policyKey(client._id.toHexString()),
      this.limitKey(client.wabaId),
      this.qualityKey(client.phoneNumberId),
    ];
  }

  /** The view from the values of `keysOf`, in that order. */
  viewOf([policy, limit, quality]: ReadonlyArray<string | null | undefined>): ProtectionView {
    return {
      policy: policy ? (JSON.parse(policy) as SendingPolicy) : this.defaultPolicy,
      limit: limit === null || limit === undefined ? null : Number(limit),
      quality: quality ? (JSON.parse(quality) as NumberQuality) : null,
    };
  }

  /** One MGET: the tenant's policy (default when none is set), the portfolio's limit, the number's quality. */
  async view(client: {
    _id: { toHexString(): string };
    wabaId: string;
    phoneNumberId: string;
  }): Promise<ProtectionView> {
    return this.viewOf(await this.redis.mget(...this.keysOf(client)));
  }

  /** Whether the tenant has set a policy (else the defaults apply). */
  async hasPolicy(clientId: string): Promise<boolean> {
    return (await this.redis.exists(this.policyKey(clientId))) === 1;
  }

  async setPolicy(clientId: string, policy: SendingPolicy, updatedBy: string | null): Promise<void> {
    await this.repo.setPolicy(clientId, policy, updatedBy);
    await this.redis.set(this.policyKey(clientId), JSON.stringify(policy));
  }

  async setLimit(wabaId: string, limit: number, source: string): Promise<void> {
    await this.repo.setLimit(wabaId, limit, source);
    await this.redis.set(this.limitKey(wabaId), String(limit));
  }

  async setQuality(phoneNumberId: string, wabaId: string, q: Omit<NumberQuality, "at">): Promise<void> {
    const at = new Date();
    await this.repo.setQuality({ phoneNumberId, wabaId, ...q }, at);
    await this.redis.set(this.qualityKey(phoneNumberId), JSON.stringify({ ...q, at: at.toISOString() }));
  }

  /** Copies every policy, limit and quality from MongoDB. Returns how many of each. */
  async rebuild(): Promise<{ policies: number; limits: number; quality: number }> {
    const [policies, limits, quality] = await Promise.all([
      this.repo.allPolicies(),
      this.repo.allLimits(),
      this.repo.allQuality(),
    ]);
    const p = this.redis.pipeline();
    for (const x of policies)
      p.set(
        this.policyKey(x.clientId.toHexString()),
        JSON.stringify({ quietHours: x.quietHours ?? null, timeZone: x.timeZone }),
      );
    for (const x of limits) p.set(this.limitKey(x.wabaId), String(x.maxDailyConversations));
    for (const x of quality)
      p.set(
        this.qualityKey(x.phoneNumberId),
        JSON.stringify({
          rating: x.rating,
          event: x.event,
          marketingPaused: x.marketingPaused,
          at: new Date(x.updatedAt).toISOString(),
        }),
      );
    if (policies.length + limits.length + quality.length) await p.exec();
    return { policies: policies.length, limits: limits.length, quality: quality.length };
  }
}
