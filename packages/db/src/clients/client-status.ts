import type { Types } from "mongoose";
import { accountUpdateValueSchema } from "@linkojob/whatsapp";
import type { Database } from "../database.js";
import { toObjectId } from "../ids.js";
import { KeyedMutex } from "../keyed-mutex.js";
import { tokenExpiryOf, type ClientDoc, type ClientStatus } from "./client.model.js";
import { userIdString } from "./user-id.js";

/**
 * A client's connection state machine:
 *
 *   pending ──connect──▶ active ◀──────── reconnect / ACCOUNT_RECONNECTED / REINSTATE
 *                          │  ▲                         │
 *         190/0, expiry,   ▼  │                         │
 *         restriction ─▶ reauth_required ───────────────┘
 *                          │
 *   user disconnect, PARTNER_REMOVED, APP_UNINSTALLED, ACCOUNT_DELETED ─▶ disconnected (token wiped)
 *
 * Every transition is one guarded atomic update: calling it again, or concurrently, changes nothing
 * and reports `changed: false`, so each change is announced once. `disconnected` is final until the
 * tenant connects again (a late 190 never turns it into `reauth_required`).
 */

/** Why a client is in its status. Meta's account_update events are used as reasons as they are. */
export const CLIENT_STATUS_REASONS = {
  connected: "CONNECTED",
  reconnected: "RECONNECTED",
  userDisconnected: "USER_DISCONNECTED",
  /** Meta error 190 or 0 on a call made with the tenant's token. */
  tokenInvalid: "TOKEN_INVALID",
  /** The token's expiry (from debug_token) has passed. */
  tokenExpired: "TOKEN_EXPIRED",
} as const;

/** Reasons that only a fresh connect (a new token) can clear. */
const TOKEN_REASONS = [CLIENT_STATUS_REASONS.tokenInvalid, CLIENT_STATUS_REASONS.tokenExpired];

export interface ClientStatusChange {
  clientId: string;
  userId: string;
  phoneNumberId: string;
  wabaId: string;
  status: ClientStatus;
  previousStatus: ClientStatus;
  reason: string | null;
  detail: string | null;
  at: Date;
  /** False when the client already was in that status: nothing to announce. */
  changed: boolean;
}

type StatusFields = Pick<
  ClientDoc,
  "_id" | "userId" | "phoneNumberId" | "wabaId" | "status" | "statusReason" | "statusDetail"
>;
const STATUS_PROJECTION = {
  _id: 1,
  userId: 1,
  phoneNumberId: 1,
  wabaId: 1,
  status: 1,
  statusReason: 1,
  statusDetail: 1,
} as const;

function toChange(
  before: StatusFields,
  after: { status: ClientStatus; reason: string | null; detail: string | null },
  at: Date,
  changed: boolean,
): ClientStatusChange {
  return {
    clientId: before._id.toHexString(),
    userId: userIdString(before.userId),
    phoneNumberId: before.phoneNumberId,
    wabaId: before.wabaId,
    status: changed ? after.status : before.status,
    previousStatus: before.status,
    reason: changed ? after.reason : (before.statusReason ?? null),
    detail: changed ? after.detail : (before.statusDetail ?? null),
    at,
    changed,
  };
}

/**
 * Transitions of one client run one after the other within a process. MongoDB makes the guarded
 * update below atomic across processes; FerretDB v1 (development and CI) does not isolate
 * concurrent updates of one document (see KeyedMutex), and this keeps "announced once" exact there.
 */
const transitions = new KeyedMutex();

/**
 * Applies `set` when the client matches `guard`; returns the change (changed: false when the guard
 * did not match), or null when the client does not exist.
 */
async function transition(
  db: Database,
  clientId: Types.ObjectId | string,
  guard: Record<string, unknown>,
  target: { status: ClientStatus; reason: string | null; detail: string | null },
  set: Record<string, unknown>,
  at: Date,
): Promise<ClientStatusChange | null> {
  const _id = toObjectId(clientId, "clientId");
  return transitions.run(_id.toHexString(), () => guardedTransition(db, _id, guard, target, set, at));
}

async function guardedTransition(
  db: Database,
  _id: Types.ObjectId,
  guard: Record<string, unknown>,
  target: { status: ClientStatus; reason: string | null; detail: string | null },
  set: Record<string, unknown>,
  at: Date,
): Promise<ClientStatusChange | null> {
  // Read, then a guarded update that must still match what was read: of concurrent callers exactly
  // one sees modifiedCount 1 (an updateOne is atomic per document, also on FerretDB, whose
  // findAndModify is not), and previousStatus is exact.
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await db.clients.findById(_id, STATUS_PROJECTION).lean<StatusFields>();
    if (!current) return null;
    const res = await db.clients.updateOne(
      { _id, $and: [{ status: current.status }, guard] },
      {
        $set: {
          status: target.status,
          statusReason: target.reason,
          statusDetail: target.detail,
          statusChangedAt: at,
          ...set,
        },
      },
    );
    if (res.modifiedCount === 1) return toChange(current, target, at, true);
    const now = await db.clients.findById(_id, STATUS_PROJECTION).lean<StatusFields>();
    if (!now) return null;
    // The guard does not match (already there, or a status this transition does not leave): done.
    if (now.status === current.status) return toChange(now, target, at, false);
    // The status moved between the read and the write: decide again on the new one.
  }
  const last = await db.clients.findById(_id, STATUS_PROJECTION).lean<StatusFields>();
  return last ? toChange(last, target, at, false) : null;
}

export interface StatusOptions {
  detail?: string | null;
  at?: Date;
}

/**
 * The tenant must reconnect (Meta error 190/0, token expired, account restricted…): its sends are
 * held, its inbound webhooks keep being stored. Only an `active` or `pending` client moves.
 */
export function markClientReauthRequired(
  db: Database,
  clientId: Types.ObjectId | string,
  reason: string,
  options: StatusOptions = {},
): Promise<ClientStatusChange | null> {
  const at = options.at ?? new Date();
  return transition(
    db,
    clientId,
    { status: { $in: ["active", "pending"] } },
    { status: "reauth_required", reason, detail: options.detail ?? null },
    { reauthRequiredAt: at },
    at,
  );
}

/**
 * The connection is over (the tenant disconnected, or Meta says the partner was removed, the app
 * uninstalled or the account deleted). The token is wiped unless `keepToken`.
 */
export function markClientDisconnected(
  db: Database,
  clientId: Types.ObjectId | string,
  reason: string,
  options: StatusOptions & { keepToken?: boolean } = {},
): Promise<ClientStatusChange | null> {
  const at = options.at ?? new Date();
  return transition(
    db,
    clientId,
    { status: { $ne: "disconnected" } },
    { status: "disconnected", reason, detail: options.detail ?? null },
    {
      disconnectedAt: at,
      ...(options.keepToken
        ? {}
        : { accessToken: null, tokenExpiresAt: null, tokenExpiry: null, tokenExpiryWarnedAt: null }),
    },
    at,
  );
}

/**
 * Back to `active` without a new token (ACCOUNT_RECONNECTED, a ban lifted). Only a client that still
 * holds a token and is held for one of `fromReasons` (default: any reason but an invalid or expired
 * token, which only a fresh connect clears) moves. A fresh connect goes through the onboarding upsert
 * instead, which always sets `active`.
 */
export function markClientActive(
  db: Database,
  clientId: Types.ObjectId | string,
  reason: string,
  options: StatusOptions & { fromReasons?: string[] } = {},
): Promise<ClientStatusChange | null> {
  const at = options.at ?? new Date();
  return transition(
    db,
    clientId,
    {
      status: "reauth_required",
      accessToken: { $ne: null },
      statusReason: options.fromReasons ? { $in: options.fromReasons } : { $nin: TOKEN_REASONS },
    },
    { status: "active", reason, detail: options.detail ?? null },
    { reauthRequiredAt: null },
    at,
  );
}

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

/** What an account_update event means for the WABA's clients (judgement documented per case). */
function actionFor(v: ReturnType<typeof accountUpdateValueSchema.parse>): {
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
  const { action, detail, fromReasons } = actionFor(v);
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
  const changes: ClientStatusChange[] = [];
  for (const c of clients) {
    const opts = { detail, at };
    const change =
      action === "disconnected"
        ? await markClientDisconnected(db, c._id, v.event, opts)
        : action === "reauth_required"
          ? await markClientReauthRequired(db, c._id, v.event, opts)
          : await markClientActive(db, c._id, v.event, { ...opts, ...(fromReasons ? { fromReasons } : {}) });
    if (change?.changed) changes.push(change);
  }
  return { event: v.event, action, changes };
}

export interface TokenExpiryWarning {
  clientId: string;
  userId: string;
  phoneNumberId: string;
  tokenExpiresAt: Date;
}

export interface TokenExpirySweep {
  /** Clients whose token expired: now reauth_required (announce each). */
  expired: ClientStatusChange[];
  /** Clients whose token expires within the window, warned for the first time (announce each). */
  warnings: TokenExpiryWarning[];
}

/**
 * The scheduled check of token expiry (run it every few hours from one worker): tokens already
 * expired → `reauth_required` (TOKEN_EXPIRED); tokens expiring within `warnWithinMs` (default 7 days)
 * → one warning per token (a new connect resets it). Safe to run concurrently and repeatedly.
 */
/** Clients whose token expiry (`tokenExpiresAt`, else the platform's `tokenExpiry`: tokenExpiryOf) matches `range`. */
const expiryIn = (range: Record<string, unknown>) => ({
  $or: [{ tokenExpiresAt: range }, { tokenExpiresAt: null, tokenExpiry: range }],
});

export async function sweepTokenExpiry(
  db: Database,
  options: { warnWithinMs?: number; now?: Date } = {},
): Promise<TokenExpirySweep> {
  const now = options.now ?? new Date();
  const horizon = new Date(now.getTime() + (options.warnWithinMs ?? 7 * 86_400_000));

  const expiredDocs = await db.clients
    .find({ status: { $in: ["active", "pending"] }, ...expiryIn({ $ne: null, $lte: now }) }, { _id: 1 })
    .lean();
  const expired: ClientStatusChange[] = [];
  for (const d of expiredDocs) {
    const change = await markClientReauthRequired(db, d._id, CLIENT_STATUS_REASONS.tokenExpired, {
      at: now,
      detail: "the access token expired",
    });
    if (change?.changed) expired.push(change);
  }

  const soon = await db.clients
    .find(
      { status: "active", ...expiryIn({ $gt: now, $lte: horizon }), tokenExpiryWarnedAt: null },
      { _id: 1, userId: 1, phoneNumberId: 1, tokenExpiresAt: 1, tokenExpiry: 1 },
    )
    .lean();
  const warnings: TokenExpiryWarning[] = [];
  for (const d of soon) {
    // Guarded: of two concurrent sweeps, one warns.
    const res = await db.clients.updateOne(
      { _id: d._id, tokenExpiryWarnedAt: null },
      { $set: { tokenExpiryWarnedAt: now } },
    );
    if (res.modifiedCount === 1) {
      warnings.push({
        clientId: d._id.toHexString(),
        userId: userIdString(d.userId),
        phoneNumberId: d.phoneNumberId,
        tokenExpiresAt: tokenExpiryOf(d)!,
      });
    }
  }
  return { expired, warnings };
}
