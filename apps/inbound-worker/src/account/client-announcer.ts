import type { RedisClient } from "@linkojob/queues";
import { clientChangedMessage, clientStatusEvent, type ClientStatusChange } from "@linkojob/db";
import { CLIENTS_CHANGED_CHANNEL, EVENTS, type DashboardEvents } from "@linkojob/events";

/**
 * Tells everyone a client's status changed: its dashboard (`client:status`) and every process's
 * caches and send holds (`clients:changed`).
 */
export class ClientAnnouncer {
  constructor(
    private readonly events: DashboardEvents,
    private readonly publisher: RedisClient,
  ) {}

  async announce(changes: ClientStatusChange[]): Promise<void> {
    for (const c of changes) {
      this.events.toClient(c.clientId, EVENTS.clientStatus, clientStatusEvent(c));
      await this.publisher.publish(CLIENTS_CHANGED_CHANNEL, JSON.stringify(clientChangedMessage(c)));
    }
  }
}
