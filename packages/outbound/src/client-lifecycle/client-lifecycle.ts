import type { Types } from "mongoose";
import {
  applyClientTransition,
  clientStatusChange,
  tokenExpiryOf,
  transitionFields,
  userIdString,
  type ClientDoc,
  type ClientStatus,
  type ClientStatusChange,
  type ClientTransition,
  type Database,
} from "@linkojob/db";

/**
 * A client's connection state machine, the one place its status changes:
 *
 *   pending ──connect──▶ active ◀──────── reconnect / ACCOUNT_RECONNECTED / REINSTATE
 *                          │  ▲                         │
 *         190/0, expiry,   ▼  │                         │
 *         restriction ─▶ reauth_required ───────────────┘
 *                          │
 *   user disconnect, PARTNER_REMOVED, APP_UNINSTALLED, ACCOUNT_DELETED ─▶ disconnected (token wiped)
 *
 * Each transition is a guard (the statuses it leaves) and what it writes; @linkojob/db applies it as
 * one conditional write, atomic on MongoDB, so calling it again, or concurrently, changes nothing and
 * reports `changed: false`: each change is announced once. `disconnected` is final until the tenant connects
 * again (a late 190 never turns it into `reauth_required`). Connecting a number is the one transition
 * written by the onboarding upsert (it stores the new token in the same write): `connectTransition`.
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

export interface StatusOptions {
  detail?: string | null;
  at?: Date;
}

/**
 * The tenant must reconnect (Meta error 190/0, token expired, account restricted…): its sends are
 * held, its inbound webhooks keep being stored. Only an `active` or `pending` client moves.
 */
export function reauthRequiredTransition(reason: string, options: StatusOptions = {}): ClientTransition {
  const at = options.at ?? new Date();
  return {
    guard: { status: { $in: ["active", "pending"] } },
    target: { status: "reauth_required", reason, detail: options.detail ?? null },
    set: { reauthRequiredAt: at },
    at,
  };
}

/**
 * The connection is over (the tenant disconnected, or Meta says the partner was removed, the app
 * uninstalled or the account deleted). The token is wiped unless `keepToken`.
 */
export function disconnectedTransition(
  reason: string,
  options: StatusOptions & { keepToken?: boolean } = {},
): ClientTransition {
  const at = options.at ?? new Date();
  return {
    guard: { status: { $ne: "disconnected" } },
    target: { status: "disconnected", reason, detail: options.detail ?? null },
    set: {
      disconnectedAt: at,
      ...(options.keepToken
        ? {}
        : { accessToken: null, tokenExpiresAt: null, tokenExpiry: null, tokenExpiryWarnedAt: null }),
    },
    at,
  };
}

/**
 * Back to `active` without a new token (ACCOUNT_RECONNECTED, a ban lifted). Only a client that still
 * holds a token and is held for one of `fromReasons` (default: any reason but an invalid or expired
 * token, which only a fresh connect clears) moves.
 */
export function reactivatedTransition(
  reason: string,
  options: StatusOptions & { fromReasons?: string[] } = {},
): ClientTransition {
  const at = options.at ?? new Date();
  return {
    guard: {
      status: "reauth_required",
      accessToken: { $ne: null },
      statusReason: options.fromReasons ? { $in: options.fromReasons } : { $nin: TOKEN_REASONS },
    },
    target: { status: "active", reason, detail: options.detail ?? null },
    set: { reauthRequiredAt: null },
    at,
  };
}

/**
 * A number connected (or connected again) with a fresh token: from any status to `active`, the holds
 * and the disconnection cleared. The onboarding upsert writes `connectFields` together with the token
 * (one atomic write); `connectedChange` is the change it announces.
 */
export function connectTransition(reconnected: boolean, at = new Date()): ClientTransition {
  return {
    guard: {},
    target: {
      status: "active",
      reason: reconnected ? CLIENT_STATUS_REASONS.reconnected : CLIENT_STATUS_REASONS.connected,
      detail: null,
    },
    set: { reauthRequiredAt: null, connectedAt: at, disconnectedAt: null },
    at,
  };
}

/**
 * The fields the connect upsert writes for `t` (a connectTransition). A connected client holds no
 * reason: CONNECTED / RECONNECTED is announced (connectedChange), the stored statusReason is null.
 */
export const connectFields = (t: ClientTransition): Record<string, unknown> => ({
  ...transitionFields(t),
  statusReason: null,
});

/** The change a connect made: from `previousStatus` (`pending` for a new client) to the transition's target. */
export function connectedChange(
  client: Pick<ClientDoc, "_id" | "userId" | "phoneNumberId" | "wabaId">,
  previousStatus: ClientStatus,
  t: ClientTransition,
): ClientStatusChange {
  return clientStatusChange({ ...client, status: previousStatus }, t.target, t.at, true);
}

/**
 * A client whose status stays as it is but that every process must read again (its WABA was found,
 * its quality flag moved): announced like a change, with the reason and detail given (default: the
 * stored ones).
 */
export function sameStatusChange(
  client: Pick<ClientDoc, "_id" | "userId" | "phoneNumberId" | "wabaId" | "status" | "statusReason" | "statusDetail">,
  at = new Date(),
  reason: { reason: string | null; detail: string | null } = {
    reason: client.statusReason ?? null,
    detail: client.statusDetail ?? null,
  },
): ClientStatusChange {
  return clientStatusChange(client, { status: client.status, ...reason }, at, true);
}

/** reauthRequiredTransition applied: the change, or null when the client does not exist. */
export function markClientReauthRequired(
  db: Database,
  clientId: Types.ObjectId | string,
  reason: string,
  options: StatusOptions = {},
): Promise<ClientStatusChange | null> {
  return applyClientTransition(db, clientId, reauthRequiredTransition(reason, options));
}

/** disconnectedTransition applied: the change, or null when the client does not exist. */
export function markClientDisconnected(
  db: Database,
  clientId: Types.ObjectId | string,
  reason: string,
  options: StatusOptions & { keepToken?: boolean } = {},
): Promise<ClientStatusChange | null> {
  return applyClientTransition(db, clientId, disconnectedTransition(reason, options));
}

/** reactivatedTransition applied: the change, or null when the client does not exist. */
export function markClientActive(
  db: Database,
  clientId: Types.ObjectId | string,
  reason: string,
  options: StatusOptions & { fromReasons?: string[] } = {},
): Promise<ClientStatusChange | null> {
  return applyClientTransition(db, clientId, reactivatedTransition(reason, options));
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

/** Clients whose token expiry (`tokenExpiresAt`, else the platform's `tokenExpiry`: tokenExpiryOf) matches `range`. */
const expiryIn = (range: Record<string, unknown>) => ({
  $or: [{ tokenExpiresAt: range }, { tokenExpiresAt: null, tokenExpiry: range }],
});

/**
 * The scheduled check of token expiry (run it every few hours from one worker): tokens already
 * expired → `reauth_required` (TOKEN_EXPIRED); tokens expiring within `warnWithinMs` (default 7 days)
 * → one warning per token (a new connect resets it). Safe to run concurrently and repeatedly.
 */
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
