import type { DashboardEvents } from "@linkojob/events";
import { ClientStatusAnnouncer, type Publisher } from "@linkojob/outbound";

/**
 * The inbound worker's announcer: @linkojob/outbound's ClientStatusAnnouncer (the one module that
 * changes a client's status and announces it), built from this app's connections.
 */
export class ClientAnnouncer extends ClientStatusAnnouncer {
  constructor(events: DashboardEvents, publisher: Publisher) {
    super({ events, publisher });
  }
}
