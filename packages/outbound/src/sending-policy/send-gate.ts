import type { RedisClient } from "@linkojob/queues";
import type { Database } from "@linkojob/db";
import { candidateZones } from "./candidate-zone.js";
import { MessagingBudget, type BudgetReservation } from "./messaging-budget.js";
import { ProtectionState, type ProtectionView } from "./protection-state.js";
import { nextAllowedAt } from "./quiet-hours.js";
import { QUALITY_PAUSE_REASON, type ScheduleReason, type SendingPolicy } from "./sending-policy.js";

/** What the gate decides for one send. */
export type GateDecision =
  | { action: "go"; reservation?: BudgetReservation }
  | { action: "schedule"; at: number; reason: ScheduleReason; reservation?: BudgetReservation }
  | { action: "hold"; code: typeof QUALITY_PAUSE_REASON; reason: string };

export interface GateInput {
  client: { _id: { toHexString(): string }; wabaId: string; phoneNumberId: string };
  request: { candidatePhone?: string | null; candidateUserId?: string | null };
  /**
   * A business-initiated message: a template to a closed window or a first contact. Anything else (a
   * reply inside a window the candidate opened) is never held, scheduled or counted.
   */
  businessInitiated: boolean;
  /** The template's category (MARKETING, UTILITY, AUTHENTICATION), when known. */
  category: string | null | undefined;
  /** The outbound worker, just before the Graph call: the budget place is confirmed at this moment. */
  atSendTime?: boolean;
  now?: number;
  /** The protections as already read (the send API reads them with the candidate's state in one MGET). */
  view?: ProtectionView;
}

/** A send due less than this far away goes now (clock skew between processes). */
const SLACK_MS = 1_000;

/**
 * The one decision on a send's protections, taken by the send API (its answer) and again by the
 * outbound worker just before the Graph call (a policy, the quality or the budget may have changed):
 *
 * 1. quality: a marketing first contact from a number whose quality is RED or FLAGGED is held;
 * 2. quiet hours: in the candidate's zone(s), else the tenant's; a send inside them is scheduled for
 *    the first allowed minute;
 * 3. the portfolio's messaging limit: the recipient is counted in the portfolio's moving 24-hour
 *    budget at the first moment with room (the budget's own slot may then fall in quiet hours: it is
 *    given back and taken again after them).
 *
 * Reads: one Redis MGET (policy, limit, quality) and, for a budgeted portfolio, one script call.
 */
export class SendGate {
  readonly state: ProtectionState;
  readonly budget: MessagingBudget;

  constructor(deps: {
    redis: RedisClient;
    prefix: string;
    db: Database;
    budgetWindowMs?: number | undefined;
    /** The policy of tenants that set none. Default UNCONFIGURED_SENDING_POLICY (no quiet hours). */
    defaultPolicy?: SendingPolicy | undefined;
  }) {
    this.state = new ProtectionState(deps.redis, deps.prefix, deps.db, deps.defaultPolicy);
    this.budget = new MessagingBudget(deps.redis, deps.prefix, { windowMs: deps.budgetWindowMs });
  }

  async decide(input: GateInput): Promise<GateDecision> {
    if (!input.businessInitiated) return { action: "go" };
    const now = input.now ?? Date.now();
    const view = input.view ?? (await this.state.view(input.client));
    if (input.category?.toUpperCase() === "MARKETING" && view.quality?.marketingPaused) {
      const why = view.quality.rating ?? view.quality.event ?? "low";
      return {
        action: "hold",
        code: QUALITY_PAUSE_REASON,
        reason: `marketing first contacts from this number are paused: Meta rates its quality ${why}; they resume when it improves`,
      };
    }
    const quiet = view.policy.quietHours;
    // The candidate's zones only matter with quiet hours (their country: a libphonenumber parse).
    const zones = quiet ? candidateZones(input.request, view.policy.timeZone) : [];
    let at = nextAllowedAt(now, quiet, zones);
    let reason: ScheduleReason = "QUIET_HOURS";
    const limit = view.limit;
    const recipient = input.request.candidatePhone || input.request.candidateUserId || "";
    let reservation: BudgetReservation | undefined;
    if (limit !== null && limit >= 0 && recipient) {
      for (let round = 0; round < 4; round++) {
        const slot = await this.budget.reserve(input.client.wabaId, limit, recipient, at, now, {
          confirm: input.atSendTime === true && at <= now,
        });
        if (slot.at > at) reason = "MESSAGING_LIMIT";
        const allowed = nextAllowedAt(slot.at, quiet, zones);
        at = slot.at;
        reservation = slot.counted
          ? { portfolioId: input.client.wabaId, member: recipient, at: slot.at, previous: slot.previous ?? null }
          : undefined;
        if (allowed === slot.at) break;
        // The budget's slot is in quiet hours: given back, taken again once they end.
        if (reservation) await this.budget.restore(reservation);
        reservation = undefined;
        at = allowed;
      }
    }
    const held = reservation ? { reservation } : {};
    return at > now + SLACK_MS ? { action: "schedule", at, reason, ...held } : { action: "go", ...held };
  }

  /**
   * A send the gate let through (and counted) was refused before it went (opted out since, template
   * no longer usable, campaign cancelled): its place in the budget is given back, the entry it
   * replaced put back. Only while the place is still this send's (never a later send's).
   */
  async giveBackReservation(reservation: BudgetReservation | null | undefined): Promise<boolean> {
    return reservation ? this.budget.restore(reservation) : false;
  }

  /** Meta refused the message for that recipient (131049): their place in the budget is given back. */
  async giveBack(client: { wabaId: string }, request: GateInput["request"], now = Date.now()): Promise<void> {
    const recipient = request.candidatePhone || request.candidateUserId || "";
    if (recipient) await this.budget.release(client.wabaId, recipient, now);
  }
}
