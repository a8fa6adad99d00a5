import type { Redis } from "ioredis";
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CampaignCounts, DashboardEventMap, DashboardEventName, TypedDashboardEvents } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { eventually, testServices } from "@linkojob/testing";
import { CampaignProgress, EMPTY_CAMPAIGN_COUNTS, type CampaignEvent } from "./campaign-progress.js";
import { campaignMessageId } from "./campaign-ids.js";

// A campaign's counts on the real Redis: two instances stand for two processes counting one campaign.
let a: Redis;
let b: Redis;
let prefix: string;

beforeAll(() => {
  const services = testServices("campaigns");
  prefix = services.prefix;
  a = createRedis(services.redisUrl);
  b = createRedis(services.redisUrl);
});
afterAll(async () => {
  await a?.quit();
  await b?.quit();
});

/** A seeded shuffle, so a failure replays. */
function shuffle<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const client = new Types.ObjectId().toHexString();

describe("CampaignProgress", () => {
  it("counts each message once whatever the order and the repetition of its reports, across two processes", async () => {
    const campaign = new Types.ObjectId();
    const one = new CampaignProgress({ redis: a, prefix });
    const two = new CampaignProgress({ redis: b, prefix });
    // 60 messages: the last status each reaches (read counts in sent and delivered), some replied, some failed.
    const fate = (i: number): CampaignEvent[] =>
      i % 6 === 0
        ? ["sent"]
        : i % 6 === 1
          ? ["sent", "delivered"]
          : i % 6 === 2
            ? ["sent", "delivered", "read"]
            : i % 6 === 3
              ? ["sent", "read", "replied"]
              : i % 6 === 4
                ? ["failed"]
                : ["delivered", "read"]; // Meta's `sent` lost: read still counts sent
    const events: Array<[string, CampaignEvent]> = [];
    for (let i = 0; i < 60; i++) {
      const id = campaignMessageId(campaign, i).toHexString();
      events.push([id, "queued"]);
      for (const e of fate(i)) events.push([id, e], [id, e]); // each report twice
    }
    // Unordered: a report may come before the message is even counted queued.
    const mixed = shuffle(events, 7);
    await Promise.all(mixed.map((e, k) => (k % 2 ? one : two).mark(client, campaign.toHexString(), [e])));
    const want: CampaignCounts = {
      ...EMPTY_CAMPAIGN_COUNTS,
      sent: 50,
      delivered: 40,
      read: 30,
      replied: 10,
      failed: 10,
    };
    expect(await one.counts(campaign.toHexString())).toEqual(want);
    // Marking everything again changes nothing.
    expect(await one.mark(client, campaign.toHexString(), events)).toBe(0);
    expect(await two.counts(campaign.toHexString())).toEqual(want);
  });

  it("queued and scheduled count what waits; a cancel moves exactly those to cancelled (in suppressed), and a send that raced it undoes its cancel", async () => {
    const campaign = new Types.ObjectId().toHexString();
    const p = new CampaignProgress({ redis: a, prefix });
    await p.mark(client, campaign, [
      ["m1", "queued"],
      ["m2", "queued"],
      ["m3", "scheduled"],
      ["m4", "scheduled"],
      ["r9", "suppressed"],
    ]);
    await p.mark(client, campaign, [
      ["m1", "sent"],
      ["m2", "scheduled"], // the gate moved it at send time
    ]);
    expect(await p.counts(campaign)).toEqual({ ...EMPTY_CAMPAIGN_COUNTS, scheduled: 3, sent: 1, suppressed: 1 });
    expect(await p.isCancelled(campaign)).toBe(false);
    expect((await p.cancel(client, campaign)).sort()).toEqual(["m2", "m3", "m4"]);
    expect(await p.isCancelled(campaign)).toBe(true);
    expect(await p.counts(campaign)).toEqual({ ...EMPTY_CAMPAIGN_COUNTS, sent: 1, suppressed: 4, cancelled: 3 });
    // The worker's own count of a cancelled message, and a second cancel: nothing more.
    expect(await p.mark(client, campaign, [["m3", "cancelled"]])).toBe(0);
    expect(await p.cancel(client, campaign)).toEqual([]);
    // m4's Graph call was already under way when the cancel came: it went, and counts as sent.
    await p.mark(client, campaign, [["m4", "sent"]]);
    expect(await p.counts(campaign)).toEqual({ ...EMPTY_CAMPAIGN_COUNTS, sent: 2, suppressed: 3, cancelled: 2 });
  });

  it("campaign:progress: at most one per period across processes, and the last change is always announced", async () => {
    const campaign = new Types.ObjectId().toHexString();
    const seen: Array<{ at: number; counts: CampaignCounts }> = [];
    const events: TypedDashboardEvents = {
      toClient<E extends DashboardEventName>(_c: string, event: E, payload: DashboardEventMap[E]) {
        if (event === "campaign:progress")
          seen.push({ at: Date.now(), counts: (payload as { counts: CampaignCounts }).counts });
      },
    };
    const one = new CampaignProgress({ redis: a, prefix, events, throttleMs: 300 });
    const two = new CampaignProgress({ redis: b, prefix, events, throttleMs: 300 });
    for (let i = 0; i < 40; i++) {
      await (i % 2 ? one : two).mark(client, campaign, [[`m${i}`, "queued"]]);
      await new Promise((r) => setTimeout(r, 20));
    }
    await eventually(() => (seen.at(-1)?.counts.queued === 40 ? true : null), 5_000);
    // One per 300 ms period (Redis decides; the gap seen here also holds each emit's own reads).
    const span = seen.at(-1)!.at - seen[0]!.at;
    expect(seen.length).toBeLessThanOrEqual(Math.floor(span / 300) + 2);
    expect(seen.length).toBeLessThan(40);
    await one.close();
    await two.close();
  });

  it("counts whose process died before announcing them: the next sweep announces the cumulative counts once", async () => {
    const campaign = new Types.ObjectId().toHexString();
    const seen: CampaignCounts[] = [];
    const events: TypedDashboardEvents = {
      toClient<E extends DashboardEventName>(_c: string, event: E, payload: DashboardEventMap[E]) {
        const p = payload as { campaignId?: string; counts: CampaignCounts };
        if (event === "campaign:progress" && p.campaignId === campaign) seen.push(p.counts);
      },
    };
    // The dying process: its counts land in Redis, its announcement never goes.
    const dying = new CampaignProgress({ redis: a, prefix });
    await dying.mark(client, campaign, [
      ["m1", "queued"],
      ["m2", "queued"],
    ]);
    await dying.mark(client, campaign, [["m1", "sent"]]);
    expect(seen).toEqual([]);
    const next = new CampaignProgress({ redis: b, prefix, events, throttleMs: 100 });
    // Not yet: a live process may still be within its throttle period.
    expect(await next.announceMissed(60_000)).toBe(0);
    expect(await next.announceMissed(0)).toBeGreaterThanOrEqual(1);
    expect(seen).toEqual([{ ...EMPTY_CAMPAIGN_COUNTS, queued: 1, sent: 1 }]);
    // Announced: the next sweep has nothing for it.
    await next.announceMissed(0);
    expect(seen).toHaveLength(1);
    // A change announced by its own process leaves nothing to sweep either.
    await next.mark(client, campaign, [["m2", "sent"]]);
    await eventually(() => (seen.length === 2 ? true : null), 5_000);
    await next.announceMissed(0);
    expect(seen).toEqual([
      { ...EMPTY_CAMPAIGN_COUNTS, queued: 1, sent: 1 },
      { ...EMPTY_CAMPAIGN_COUNTS, sent: 2 },
    ]);
    await next.close();
    await dying.close();
  });
});
