import type { RedisClient } from "@linkojob/queues";
import { clientChangedMessage, clientStatusEvent, type ClientStatusChange } from "@linkojob/db";
import { CLIENTS_CHANGED_CHANNEL, EVENTS, type DashboardEvents } from "@linkojob/events";

export interface AnnouncerLogger {
  warn(obj: object, msg: string): void;
}

/**
 * Tells the rest of the system that a client changed: a `client:status` event to the tenant's
 * dashboard, and a message on CLIENTS_CHANGED_CHANNEL so that caches (webhook routing, send holds)
 * drop the client and the outbound worker resumes held sends once it is `active` again.
 * The database is the source of truth: a failed publish is logged, not thrown.
 */
export class ClientAnnouncer {
  constructor(
    private readonly redis: RedisClient,
    private readonly events: DashboardEvents,
    private readonly log?: AnnouncerLogger,
  ) {}

  async statusChanged(change: ClientStatusChange, extra: Record<string, unknown> = {}): Promise<void> {
    try {
      this.events.toClient(change.clientId, EVENTS.clientStatus, { ...clientStatusEvent(change), ...extra });
    } catch (err) {
      this.log?.warn({ err, clientId: change.clientId }, "client:status event not emitted");
    }
    try {
      await this.redis.publish(CLIENTS_CHANGED_CHANNEL, JSON.stringify(clientChangedMessage(change)));
    } catch (err) {
      this.log?.warn({ err, clientId: change.clientId }, "clients:changed not published");
    }
  }
}
