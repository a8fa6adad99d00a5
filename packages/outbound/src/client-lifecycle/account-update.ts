import { applyClientTransition, type ClientStatusChange, type ClientTransition, type Database } from "@linkojob/db";
import { accountUpdateValueSchema } from "@linkojob/whatsapp";
import { disconnectedTransition, reactivatedTransition, reauthRequiredTransition } from "./client-lifecycle.js";

/**
 * The reading of Meta's `account_update` webhook: which transition of the client lifecycle each event
 * means (partner removed → disconnected, offboarded / disabled / restricted → reauth_required,
 * reconnected / reinstated / restrictions lifted → active), applied to the clients it names.
 */

export type AccountUpdateAction = "disconnected" | "reauth_required" | "active" | "none";

export interface AccountUpdateResult {
  /** Meta's event name (PARTNER_REMOVED, ACCOUNT_RESTRICTION…), or null when the value is not valid. */
  event: string | null;
  action: AccountUpdateAction;
  /** The clients whose status actually changed: announce each (client:status + clients:changed). */
  changes: ClientStatusChange[];
}

const digits = (s: string) => s.replace(/\D/g, "");

/** A scalar of a webhook value as text (Meta sends strings and unix-second numbers); an object or array is not text. */
const scalarText = (v: unknown): string | null =>
  typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : null;

/**
 * What an account_update event means for the WABA's clients (judgement documented per case): the
 * transition to apply (none, disconnected, reauth_required or back to active) and its detail.
 */
export function readAccountUpdate(v: ReturnType<typeof accountUpdateValueSchema.parse>): {
  action: AccountUpdateAction;
  detail: string | null;
  fromReasons?: string[];
} {
  switch (v.event) {
    // Final: our app lost access to the WABA. Only a fresh Embedded Signup brings it back.
    case "PARTNER_REMOVED":
    case "PARTNER_APP_UNINSTALLED":
    case "ACCOUNT_DELETED":
      return { action: "disconnected", detail: null };
    // The number moved to the WhatsApp Business app (device change or re-registration): sends are
    // held until ACCOUNT_RECONNECTED.
    case "ACCOUNT_OFFBOARDED":
      return { action: "reauth_required", detail: "the number was offboarded (device change or re-registration)" };
    case "ACCOUNT_RECONNECTED":
      return { action: "active", detail: null };
    // ban_info.waba_ban_state: DISABLE holds sends, REINSTATE lifts that hold, SCHEDULE_FOR_DISABLE
    // is only a warning (nothing to hold yet).
    case "DISABLED_UPDATE": {
      const state = (scalarText(v.ban_info?.waba_ban_state) ?? "").toUpperCase();
      const date = v.ban_info?.waba_ban_date ? scalarText(v.ban_info.waba_ban_date) : null;
      if (state === "DISABLE")
        return { action: "reauth_required", detail: `account disabled${date ? ` on ${date}` : ""}` };
      if (state === "REINSTATE") return { action: "active", detail: null, fromReasons: ["DISABLED_UPDATE"] };
      return { action: "none", detail: null };
    }
    // restriction_info lists the restrictions in force; an empty list means they were lifted.
    case "ACCOUNT_RESTRICTION": {
      const list = v.restriction_info ?? [];
      if (list.length === 0) return { action: "active", detail: null, fromReasons: ["ACCOUNT_RESTRICTION"] };
      const detail = list
        .map((r) => {
          const until = r.expiration ? scalarText(r.expiration) : null;
          return `${scalarText(r.restriction_type) ?? "RESTRICTED"}${until ? ` until ${until}` : ""}`;
        })
        .join(", ");
      return { action: "reauth_required", detail };
    }
    default:
      // ACCOUNT_VIOLATION, PARTNER_APP_INSTALLED, pricing and verification updates: recorded by the
      // inbound worker, no change to the connection.
      return { action: "none", detail: null };
  }
}

/**
 * Applies one `account_update` webhook value to the clients of `wabaId` (only the number named in
 * `phone_number`, when Meta names one). Idempotent: a redelivered event changes nothing and returns
 * no changes. Returns the changes to announce.
 */
export async function applyAccountUpdate(
  db: Database,
  wabaId: string,
  value: unknown,
  at = new Date(),
): Promise<AccountUpdateResult> {
  const parsed = accountUpdateValueSchema.safeParse(value);
  if (!parsed.success) return { event: null, action: "none", changes: [] };
  const v = parsed.data;
  const { action, detail, fromReasons } = readAccountUpdate(v);
  if (action === "none") return { event: v.event, action, changes: [] };

  const targetWaba = v.waba_info?.waba_id ?? wabaId;
  let clients = await db.clients
    .find({ wabaId: targetWaba }, { _id: 1, whatsappNumber: 1, displayPhoneNumber: 1 })
    .lean();
  if (v.phone_number) {
    const wanted = digits(v.phone_number);
    clients = clients.filter(
      (c) => digits(c.whatsappNumber ?? "") === wanted || digits(c.displayPhoneNumber ?? "") === wanted,
    );
  }
  const opts = { detail, at };
  const transition: ClientTransition =
    action === "disconnected"
      ? disconnectedTransition(v.event, opts)
      : action === "reauth_required"
        ? reauthRequiredTransition(v.event, opts)
        : reactivatedTransition(v.event, { ...opts, ...(fromReasons ? { fromReasons } : {}) });
  const changes: ClientStatusChange[] = [];
  for (const c of clients) {
    const change = await applyClientTransition(db, c._id, transition);
    if (change?.changed) changes.push(change);
  }
  return { event: v.event, action, changes };
}
