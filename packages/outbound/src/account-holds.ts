import type { Types } from "mongoose";
import type { ClientDoc, Database } from "@linkojob/db";
import type { GraphErrorClassification } from "@linkojob/whatsapp";
import type { ClientStatusAnnouncer } from "./client-status-announcer.js";

/**
 * Account-level errors concern every message of a business number, not the one that met them
 * (Meta's account-level error codes): the tenant's sends are paused instead of each queued message
 * spending its own attempt on the same refusal. The pause is the client's `reauth_required` status with one of
 * these reasons (the platform's statuses stay as they are), announced through ClientStatusAnnouncer:
 * the dashboard gets `client:status` with the reason and Meta's message, every process drops its
 * cached client, and held messages resume when the client is `active` again.
 *
 * Lifted by: an `account_update` that clears it (ACCOUNT_RECONNECTED, or an ACCOUNT_RESTRICTION with
 * an empty list for a restriction), a new connection, or the time-based re-check below, which lets
 * the held sends try again after `recheckAfterMs` of the reason (a refusal holds them again, without
 * spending attempts).
 */
export const ACCOUNT_HOLD_REASONS = {
  131042: "PAYMENT_PROBLEM",
  131031: "ACCOUNT_LOCKED",
  368: "POLICY_BLOCKED",
  131048: "SPAM_RATE_LIMITED",
  133010: "NUMBER_NOT_REGISTERED",
} as const satisfies Record<number, string>;

export type AccountHoldReason = (typeof ACCOUNT_HOLD_REASONS)[keyof typeof ACCOUNT_HOLD_REASONS];

export const ACCOUNT_HOLD_REASON_LIST: AccountHoldReason[] = Object.values(ACCOUNT_HOLD_REASONS);

/** The account-level pause a client is in (from its status reason), or null. */
export function accountHoldOf(client: Pick<ClientDoc, "statusReason">): AccountHoldReason | null {
  const reason = client.statusReason ?? "";
  return ACCOUNT_HOLD_REASON_LIST.find((r) => r === reason) ?? null;
}

/**
 * The one hold check: null when the client may send now, else why its sends are held (its code, an
 * account-level pause's reason or CLIENT_NOT_ACTIVE, and the words a dashboard shows). The worker
 * holds by it; the send API answers `held` by the same status.
 */
export function sendHoldOf(
  client: Pick<ClientDoc, "status" | "statusReason"> | null,
): { code: AccountHoldReason | "CLIENT_NOT_ACTIVE"; reason: string } | null {
  if (client?.status === "active") return null;
  const paused = client ? accountHoldOf(client) : null;
  if (paused) return { code: paused, reason: accountHoldMessage(paused, null) };
  return {
    code: "CLIENT_NOT_ACTIVE",
    reason: client ? `client is ${client.status}: reconnect WhatsApp to resume sends` : "client not found",
  };
}

/** How long each reason holds before the sends try again. */
export type AccountHoldRecheck = Record<AccountHoldReason, number>;

/**
 * Defaults: Meta's spam rate limit (131048) is "do not retry soon": one hour. A payment problem, a
 * lock, a policy block or a registration are fixed by the business (Business Manager), often without
 * a webhook: a re-check every 6 hours.
 */
export const DEFAULT_ACCOUNT_HOLD_RECHECK_MS: AccountHoldRecheck = {
  SPAM_RATE_LIMITED: 3_600_000,
  PAYMENT_PROBLEM: 6 * 3_600_000,
  ACCOUNT_LOCKED: 6 * 3_600_000,
  POLICY_BLOCKED: 6 * 3_600_000,
  NUMBER_NOT_REGISTERED: 6 * 3_600_000,
};

/**
 * Whether what Meta says of the number now proves that a hold's cause is gone, so that a recruiter's
 * connection check may lift it. Only a registration can be proven this way (the number is CONNECTED
 * on the Cloud API). A payment problem, a lock, a policy block or the spam rate limit show in no field
 * a check reads: those lift only on Meta's `account_update` or the timed re-check, or every check
 * would release the held sends into a pause that still stands.
 */
export function holdCauseGone(
  reason: string | null | undefined,
  phone: { status: string | null; platformType: string | null },
): boolean {
  if (reason === ACCOUNT_HOLD_REASONS[133010])
    return phone.status === "CONNECTED" && phone.platformType === "CLOUD_API";
  return false;
}

/** The hold reason of an account-level Graph error, or null for a per-message one. */
export function accountHoldReason(c: Pick<GraphErrorClassification, "accountHold" | "code">): AccountHoldReason | null {
  if (!c.accountHold || c.code == null) return null;
  return (ACCOUNT_HOLD_REASONS as Record<number, AccountHoldReason>)[c.code] ?? null;
}

/** What a held message shows: the reason in words and what lifts it. */
export function accountHoldMessage(reason: AccountHoldReason, metaCode: number | null): string {
  const what: Record<AccountHoldReason, string> = {
    PAYMENT_PROBLEM:
      "WhatsApp sends are paused: the business account has a payment problem (fix the payment method in Meta Business Manager)",
    ACCOUNT_LOCKED: "WhatsApp sends are paused: the business account is locked by Meta",
    POLICY_BLOCKED: "WhatsApp sends are paused: the number is temporarily blocked for policy violations",
    SPAM_RATE_LIMITED:
      "WhatsApp sends are paused: Meta's spam rate limit was reached (message quality); they resume after a pause",
    NUMBER_NOT_REGISTERED:
      "WhatsApp sends are paused: the phone number is not registered on the Cloud API and could not be registered again",
  };
  return `${what[reason]}${metaCode != null ? ` (Meta ${metaCode})` : ""}`;
}

/** Pauses the tenant's sends for an account-level error (announced once, however many sends meet it). */
export function holdTenant(
  announcer: ClientStatusAnnouncer,
  clientId: Types.ObjectId | string,
  reason: AccountHoldReason,
  detail: string | null,
) {
  return announcer.markReauthRequired(clientId, reason, { detail });
}

/**
 * The time-based re-check: every client held for an account reason for longer than its re-check
 * period goes back to `active` (announced: its held sends resume). Returns the clients released.
 */
export async function recheckAccountHolds(
  db: Database,
  announcer: ClientStatusAnnouncer,
  options: { recheckMs?: Partial<AccountHoldRecheck>; now?: Date } = {},
): Promise<string[]> {
  const now = options.now ?? new Date();
  const recheck = { ...DEFAULT_ACCOUNT_HOLD_RECHECK_MS, ...(options.recheckMs ?? {}) };
  const held = await db.clients
    .find(
      { status: "reauth_required", statusReason: { $in: ACCOUNT_HOLD_REASON_LIST } },
      { _id: 1, statusReason: 1, statusChangedAt: 1 },
    )
    .lean<Array<Pick<ClientDoc, "_id" | "statusReason" | "statusChangedAt">>>();
  const released: string[] = [];
  for (const c of held) {
    const reason = c.statusReason as AccountHoldReason;
    const since = c.statusChangedAt ? new Date(c.statusChangedAt).getTime() : 0;
    if (now.getTime() - since < recheck[reason]) continue;
    const change = await announcer.markActive(c._id, "HOLD_RECHECK", {
      fromReasons: [reason],
      detail: `re-checking after ${reason}`,
    });
    if (change?.changed) released.push(c._id.toHexString());
  }
  return released;
}
