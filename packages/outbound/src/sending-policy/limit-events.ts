import type { ClientDoc, Database } from "@linkojob/db";
import type { ClientStatusAnnouncer } from "../client-status-announcer.js";
import { sameStatusChange } from "../client-lifecycle/client-lifecycle.js";
import type { ProtectionState } from "./protection-state.js";
import { LIFTING_QUALITY, PAUSING_QUALITY } from "./sending-policy.js";

/**
 * What Meta's limit and quality webhooks mean for the send path (meta-cloud-api.md §4):
 * `business_capability_update` carries the portfolio's `max_daily_conversations_per_business`
 * (250, 2000, 10000, 100000, or -1 for unlimited); the 2026 `phone_number_quality_update` carries
 * `event` (FLAGGED, UNFLAGGED, UPGRADE, DOWNGRADE…) and the same portfolio limit
 * (`current_limit` is being removed). A FLAGGED number (quality RED) pauses its marketing first
 * contacts; UNFLAGGED lifts the pause.
 */

const limitIn = (value: Record<string, unknown>): number | null => {
  const n = value.max_daily_conversations_per_business;
  if (typeof n === "number" && Number.isInteger(n) && n >= -1) return n;
  if (typeof n === "string" && /^-?\d+$/.test(n)) return Number(n);
  return null;
};

const record = (value: unknown): Record<string, unknown> =>
  value && typeof value === "object" ? (value as Record<string, unknown>) : {};

/** `business_capability_update`: the portfolio's limit. Returns it, or null when the value has none. */
export async function applyCapabilityUpdate(
  state: ProtectionState,
  wabaId: string,
  value: unknown,
): Promise<number | null> {
  const limit = limitIn(record(value));
  if (limit !== null) await state.setLimit(wabaId, limit, "business_capability_update");
  return limit;
}

const digits = (s: string | null | undefined) => (s ?? "").replace(/\D/g, "");

export interface QualityUpdateResult {
  event: string | null;
  limit: number | null;
  /** The numbers whose marketing pause changed: paused (true) or lifted (false). */
  changed: Array<{ clientId: string; marketingPaused: boolean }>;
}

/**
 * `phone_number_quality_update`: the portfolio's limit when given, and for the number named by
 * `display_phone_number` (every number of the WABA when absent) the marketing pause, announced on
 * `client:status` (reason QUALITY_FLAGGED or QUALITY_RESTORED; the client's status itself is
 * unchanged: replies and utility templates still go). A lift also tells the outbound workers to
 * resume the held sends.
 */
export async function applyQualityUpdate(
  deps: { db: Database; state: ProtectionState; announcer: ClientStatusAnnouncer },
  wabaId: string,
  value: unknown,
  at = new Date(),
): Promise<QualityUpdateResult> {
  const v = record(value);
  const event = typeof v.event === "string" ? v.event.toUpperCase() : null;
  const rating = typeof v.quality_rating === "string" ? v.quality_rating.toUpperCase() : null;
  const limit = limitIn(v);
  if (limit !== null) await deps.state.setLimit(wabaId, limit, "phone_number_quality_update");
  const signal = rating ?? event;
  const pause = signal && PAUSING_QUALITY.has(signal) ? true : signal && LIFTING_QUALITY.has(signal) ? false : null;
  const changed: QualityUpdateResult["changed"] = [];
  if (pause === null) return { event, limit, changed };

  let clients = await deps.db.clients
    .find(
      { wabaId },
      { _id: 1, userId: 1, phoneNumberId: 1, wabaId: 1, status: 1, whatsappNumber: 1, displayPhoneNumber: 1 },
    )
    .lean<
      Array<
        Pick<
          ClientDoc,
          "_id" | "userId" | "phoneNumberId" | "wabaId" | "status" | "whatsappNumber" | "displayPhoneNumber"
        >
      >
    >();
  const named = digits(typeof v.display_phone_number === "string" ? v.display_phone_number : "");
  if (named)
    clients = clients.filter((c) => digits(c.whatsappNumber) === named || digits(c.displayPhoneNumber) === named);

  for (const c of clients) {
    const before = (await deps.state.view({ _id: c._id, wabaId: c.wabaId, phoneNumberId: c.phoneNumberId })).quality;
    await deps.state.setQuality(c.phoneNumberId, c.wabaId, {
      rating: rating ?? (pause ? "RED" : null),
      event,
      marketingPaused: pause,
    });
    if ((before?.marketingPaused ?? false) === pause) continue;
    // The status itself is unchanged: the reason and detail say what moved.
    const change = sameStatusChange(c, at, {
      reason: pause ? "QUALITY_FLAGGED" : "QUALITY_RESTORED",
      detail: pause
        ? `Meta flagged this number's quality (${signal}): marketing first contacts are paused; replies and utility templates still go`
        : `Meta lifted the quality flag (${signal}): marketing first contacts resume`,
    });
    await deps.announcer.announce(change, { marketingPaused: pause });
    changed.push({ clientId: change.clientId, marketingPaused: pause });
  }
  return { event, limit, changed };
}
