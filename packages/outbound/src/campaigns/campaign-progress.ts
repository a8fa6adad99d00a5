import type { Logger } from "pino";
import { Types } from "mongoose";
import type { CampaignCountsDoc, CampaignStatus, Database } from "@linkojob/db";
import { EVENTS, type CampaignCounts, type TypedDashboardEvents } from "@linkojob/events";
import { RedisScript, type RedisClient } from "@linkojob/queues";

const MARK = new RedisScript("ljCampaignMark", new URL("./mark-campaign.lua", import.meta.url), 3);
const ANNOUNCED = new RedisScript("ljCampaignAnnounced", new URL("./campaign-announced.lua", import.meta.url), 1);
const CANCEL = new RedisScript("ljCampaignCancel", new URL("./cancel-campaign.lua", import.meta.url), 3);

/** What can happen to one of a campaign's messages (or a recipient refused at acceptance). */
export type CampaignEvent =
  "queued" | "scheduled" | "sent" | "delivered" | "read" | "replied" | "failed" | "suppressed" | "cancelled";

export const EMPTY_CAMPAIGN_COUNTS: CampaignCounts = {
  queued: 0,
  scheduled: 0,
  sent: 0,
  delivered: 0,
  read: 0,
  replied: 0,
  failed: 0,
  suppressed: 0,
  cancelled: 0,
};

/** The member standing for a recipient refused at acceptance (no message was made): its position in the request. */
export const refusedRecipientMember = (index: number) => `r${index}`;

/**
 * The campaign events a message's stored statuses imply (`statusAt`: the first time each was
 * reported): read from what the message holds after a status is applied, so a status that waited
 * for its message (pending) or came out of order counts the same.
 */
export function campaignEventsOfStatuses(statusAt: Record<string, unknown> | null | undefined): CampaignEvent[] {
  const at = statusAt ?? {};
  const out: CampaignEvent[] = [];
  if (at.read || at.played) out.push("read");
  else if (at.delivered) out.push("delivered");
  else if (at.sent) out.push("sent");
  if (at.failed) out.push("failed");
  return out;
}

export interface CampaignProgressOptions {
  redis: RedisClient;
  prefix: string;
  /** The dashboards' emitter: `campaign:progress` to the tenant's room. */
  events?: TypedDashboardEvents;
  /** With it, each emitted snapshot is copied to the campaign's document (GET falls back to it when Redis lost the counters). */
  db?: Database;
  logger?: Pick<Logger, "warn">;
  /** At most one `campaign:progress` per campaign in this period, across processes. Default 1,000 ms. */
  throttleMs?: number;
  /** How long a campaign's counters live after their last change. Default 30 days. */
  ttlMs?: number;
}

/**
 * A campaign's live counts, in Redis (shared by the send API, every outbound and inbound worker):
 * `queued, scheduled, sent, delivered, read, replied, failed, suppressed` (and `cancelled`, the part
 * of `suppressed` a cancel stopped). Each message's state is kept beside the counters and moved by
 * one Lua script (mark-campaign.lua) that counts a move only once, in any order: exact under Meta's
 * at-least-once, unordered webhooks, across processes and restarts of any of them.
 *
 * `campaign:progress` is throttled across processes: the first change of a period emits at once
 * (SET NX PX), later ones once the period ends, so the last counts are always announced.
 */
export class CampaignProgress {
  private readonly throttleMs: number;
  private readonly ttlMs: number;
  private readonly pending = new Map<string, { clientId: string; timer: NodeJS.Timeout | null }>();
  private closed = false;

  constructor(private readonly opts: CampaignProgressOptions) {
    this.throttleMs = opts.throttleMs ?? 1_000;
    this.ttlMs = opts.ttlMs ?? 30 * 86_400_000;
  }

  private key(campaignId: string, part: "counts" | "states" | "cancelled" | "emit") {
    return `${this.opts.prefix}:campaign:${campaignId}:${part}`;
  }

  /** Campaigns whose latest counts no `campaign:progress` has carried yet (`<clientId>:<campaignId>`, by change time). */
  private get unannouncedKey() {
    return `${this.opts.prefix}:campaigns:unannounced`;
  }

  /** Records events of a campaign's messages; emits `campaign:progress` (throttled) when a count moved. Returns how many moved. */
  async mark(
    clientId: string,
    campaignId: string,
    events: Array<[member: string, event: CampaignEvent]>,
  ): Promise<number> {
    if (!events.length) return 0;
    const moved = Number(
      await MARK.run(
        this.opts.redis,
        [this.key(campaignId, "counts"), this.key(campaignId, "states"), this.unannouncedKey],
        [String(this.ttlMs), Date.now(), `${clientId}:${campaignId}`, ...events.flat()],
      ),
    );
    if (moved > 0) this.announce(clientId, campaignId);
    return moved;
  }

  /**
   * Cancels what has not gone: every message still queued or scheduled is counted `cancelled` (in
   * `suppressed`), and the campaign is flagged for the workers' check before each send. Returns the
   * members cancelled (message ids).
   */
  async cancel(clientId: string, campaignId: string): Promise<string[]> {
    const members = (await CANCEL.run(
      this.opts.redis,
      [this.key(campaignId, "counts"), this.key(campaignId, "states"), this.key(campaignId, "cancelled")],
      [String(this.ttlMs)],
    )) as string[];
    this.announce(clientId, campaignId);
    return members;
  }

  /** Each member's recorded state (null: never counted), in order: what a resumed expansion skips. */
  async statesOf(campaignId: string, members: string[]): Promise<Array<string | null>> {
    if (!members.length) return [];
    return this.opts.redis.hmget(this.key(campaignId, "states"), ...members);
  }

  /** Whether the campaign was cancelled (the worker's check just before a send). */
  async isCancelled(campaignId: string): Promise<boolean> {
    return (await this.opts.redis.exists(this.key(campaignId, "cancelled"))) === 1;
  }

  /** The live counts; null when Redis has none for it (never counted, or lost). */
  async counts(campaignId: string): Promise<CampaignCounts | null> {
    const raw = await this.opts.redis.hgetall(this.key(campaignId, "counts"));
    if (!Object.keys(raw).length) return null;
    const counts = { ...EMPTY_CAMPAIGN_COUNTS };
    for (const k of Object.keys(counts) as Array<keyof CampaignCounts>) counts[k] = Math.max(0, Number(raw[k] ?? 0));
    return counts;
  }

  /** Schedules a `campaign:progress` for this campaign: now when the period is free, else when it ends. */
  private announce(clientId: string, campaignId: string): void {
    if (this.closed || !this.opts.events) return;
    const entry = this.pending.get(campaignId);
    if (entry) return; // a timer of this process will read the counts then
    this.pending.set(campaignId, { clientId, timer: null });
    void this.tryEmit(campaignId);
  }

  private async tryEmit(campaignId: string): Promise<void> {
    const entry = this.pending.get(campaignId);
    if (!entry || this.closed) return;
    entry.timer = null;
    try {
      const key = this.key(campaignId, "emit");
      const won = await this.opts.redis.set(key, "1", "PX", this.throttleMs, "NX");
      if (!won) {
        const left = await this.opts.redis.pttl(key);
        entry.timer = setTimeout(() => void this.tryEmit(campaignId), Math.max(20, left > 0 ? left : this.throttleMs));
        entry.timer.unref();
        return;
      }
      this.pending.delete(campaignId);
      await this.emitNow(entry.clientId, campaignId);
    } catch (err) {
      this.pending.delete(campaignId);
      this.opts.logger?.warn({ err, campaignId }, "campaign progress not announced");
    }
  }

  /**
   * Announces the campaigns whose counts moved at least `olderThanMs` ago and that no
   * `campaign:progress` carried since (the process that counted them died before its announcement,
   * or had no emitter): each gets one now, with its cumulative counts. The outbound worker runs it
   * at start and then periodically. Returns how many were announced.
   */
  async announceMissed(olderThanMs = 5 * this.throttleMs): Promise<number> {
    if (this.closed || !this.opts.events) return 0;
    const now = Date.now();
    // Marks of campaigns whose counters have expired are dropped without an announcement.
    await this.opts.redis.zremrangebyscore(this.unannouncedKey, "-inf", now - this.ttlMs);
    const members = await this.opts.redis.zrangebyscore(
      this.unannouncedKey,
      "-inf",
      now - olderThanMs,
      "LIMIT",
      0,
      100,
    );
    let n = 0;
    for (const member of members) {
      const [clientId, campaignId] = member.split(":");
      if (!clientId || !campaignId || this.pending.has(campaignId)) continue;
      // One that fails keeps its mark (tried again at the next sweep); the others go on.
      const ok = await this.emitNow(clientId, campaignId).then(
        () => true,
        (err: unknown) => {
          this.opts.logger?.warn({ err, campaignId }, "missed campaign progress not announced");
          return false;
        },
      );
      if (ok) n++;
    }
    return n;
  }

  /** Reads the counts and emits them (and copies them to the campaign's document). */
  async emitNow(clientId: string, campaignId: string): Promise<void> {
    const at = new Date();
    const [counts, cancelled] = await Promise.all([this.counts(campaignId), this.isCancelled(campaignId)]);
    if (!counts) {
      await this.announced(clientId, campaignId, at);
      return;
    }
    let status: CampaignStatus = cancelled ? "cancelled" : "running";
    if (this.opts.db) {
      const campaigns = this.opts.db.campaignsOf(clientId);
      const id = new Types.ObjectId(campaignId);
      await campaigns.saveCounts(id, counts satisfies CampaignCountsDoc, at);
      if (!cancelled) status = (await campaigns.get(id))?.status ?? status;
    }
    if (!this.opts.events) return;
    this.opts.events.toClient(clientId, EVENTS.campaignProgress, {
      clientId,
      campaignId,
      status,
      counts,
      at: at.toISOString(),
    });
    await this.announced(clientId, campaignId, at);
  }

  /** The counts read at `readAt` were announced: the campaign's unannounced mark goes, unless it moved since. */
  private async announced(clientId: string, campaignId: string, readAt: Date): Promise<void> {
    await ANNOUNCED.run(this.opts.redis, [this.unannouncedKey], [readAt.getTime(), `${clientId}:${campaignId}`]);
  }

  /** Stops the timers; the changes they would have announced are emitted now (unthrottled, best effort). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const left = [...this.pending.entries()];
    this.pending.clear();
    for (const [, e] of left) if (e.timer) clearTimeout(e.timer);
    await Promise.all(left.map(([id, e]) => this.emitNow(e.clientId, id).catch(() => undefined)));
  }
}
