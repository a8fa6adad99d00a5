import type { Types } from "mongoose";
import type { ClientStatusChange, Database } from "@linkojob/db";
import {
  CLIENTS_CHANGED_CHANNEL,
  EVENTS,
  clientStatusChanged,
  tokenExpiring,
  type ClientChangedMessage,
  type ClientStatusChangedPayload,
  type DashboardEvents,
} from "@linkojob/events";
import { applyAccountUpdate, type AccountUpdateResult } from "./client-lifecycle/account-update.js";
import {
  markClientActive,
  markClientDisconnected,
  markClientReauthRequired,
  sweepTokenExpiry,
  type StatusOptions,
  type TokenExpirySweep,
} from "./client-lifecycle/client-lifecycle.js";
import type { Publisher } from "./send-caches.js";
import type { SendState } from "./send-state.js";

/** The CLIENTS_CHANGED_CHANNEL message for a change. */
export function clientChangedMessage(
  change: Pick<ClientStatusChange, "clientId" | "phoneNumberId" | "status">,
): ClientChangedMessage {
  return { clientId: change.clientId, phoneNumberId: change.phoneNumberId, status: change.status };
}

export interface AnnouncerLogger {
  warn(obj: object, msg: string): void;
}

export interface ClientStatusAnnouncerDeps {
  /** Needed by the mark* methods (the transitions); announcing alone does not read the database. */
  db?: Database;
  events: DashboardEvents;
  /** A command connection (not in subscriber mode) to publish on. */
  publisher: Publisher;
  log?: AnnouncerLogger;
  /** The send state in Redis: each announced client's copy is written before the announcement. */
  sendState?: Pick<SendState, "writeClient">;
}

/**
 * The one place a client's status changes and is announced: the transitions of the client lifecycle
 * (client-lifecycle/, each change reported once), then a `client:status` event (built by
 * @linkojob/events' clientStatusChanged / tokenExpiring, the one builder of that payload) to the
 * tenant's dashboard and a `clients:changed` message so every process drops its cached client
 * (webhook routing, send caches) and the outbound worker resumes held sends once it is `active`.
 * The database is the source of truth: a failed emit or publish is logged, not thrown.
 */
export class ClientStatusAnnouncer {
  constructor(private readonly deps: ClientStatusAnnouncerDeps) {}

  private get db(): Database {
    if (!this.deps.db) throw new Error("ClientStatusAnnouncer needs the database to change a status");
    return this.deps.db;
  }

  /**
   * Announces what the caller changed (onboarding's connect upsert, a new token with the same status:
   * caches must drop the client all the same). The mark* methods announce only actual changes.
   */
  async announce(
    changes: ClientStatusChange | ClientStatusChange[],
    extra: Pick<ClientStatusChangedPayload, "marketingPaused"> = {},
  ): Promise<void> {
    for (const c of Array.isArray(changes) ? changes : [changes]) {
      try {
        this.deps.events.toClient(c.clientId, EVENTS.clientStatus, { ...clientStatusChanged(c), ...extra });
      } catch (err) {
        this.deps.log?.warn({ err, clientId: c.clientId }, "client:status event not emitted");
      }
      try {
        // Before the announcement: a process that drops its cached client then reads the new state.
        await this.deps.sendState?.writeClient(c.clientId);
      } catch (err) {
        this.deps.log?.warn({ err, clientId: c.clientId }, "send state of the client not written");
      }
      try {
        await this.deps.publisher.publish(CLIENTS_CHANGED_CHANNEL, JSON.stringify(clientChangedMessage(c)));
      } catch (err) {
        this.deps.log?.warn({ err, clientId: c.clientId }, "clients:changed not published");
      }
    }
  }

  /** Onboarding's name for announce (one change, with extra fields on the event). */
  statusChanged(
    change: ClientStatusChange,
    extra: Pick<ClientStatusChangedPayload, "marketingPaused"> = {},
  ): Promise<void> {
    return this.announce(change, extra);
  }

  private async announced(change: ClientStatusChange | null): Promise<ClientStatusChange | null> {
    if (change?.changed) await this.announce(change);
    return change;
  }

  /** Meta refused the token (190/0), it expired, the account is restricted…: sends are held. */
  async markReauthRequired(clientId: Types.ObjectId | string, reason: string, options: StatusOptions = {}) {
    return this.announced(await markClientReauthRequired(this.db, clientId, reason, options));
  }

  /** The connection is over (user disconnect, partner removed…); the token is wiped unless `keepToken`. */
  async markDisconnected(
    clientId: Types.ObjectId | string,
    reason: string,
    options: StatusOptions & { keepToken?: boolean } = {},
  ) {
    return this.announced(await markClientDisconnected(this.db, clientId, reason, options));
  }

  /** Back to `active` without a new token (ACCOUNT_RECONNECTED, a ban lifted). */
  async markActive(
    clientId: Types.ObjectId | string,
    reason: string,
    options: StatusOptions & { fromReasons?: string[] } = {},
  ) {
    return this.announced(await markClientActive(this.db, clientId, reason, options));
  }

  /** One `account_update` webhook value applied to the WABA's clients, each change announced. */
  async applyAccountUpdate(wabaId: string, value: unknown, at = new Date()): Promise<AccountUpdateResult> {
    const result = await applyAccountUpdate(this.db, wabaId, value, at);
    await this.announce(result.changes);
    return result;
  }

  /** The scheduled token-expiry check: expired → reauth_required (announced), soon → one warning event each. */
  async sweepTokenExpiry(options: { warnWithinMs?: number; now?: Date } = {}): Promise<TokenExpirySweep> {
    const sweep = await sweepTokenExpiry(this.db, options);
    await this.announce(sweep.expired);
    for (const w of sweep.warnings) this.deps.events.toClient(w.clientId, EVENTS.clientStatus, tokenExpiring(w));
    return sweep;
  }
}
