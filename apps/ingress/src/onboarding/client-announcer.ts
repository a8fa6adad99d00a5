import type { DashboardEvents } from "@linkojob/events";
import { ClientStatusAnnouncer, type AnnouncerLogger, type Publisher } from "@linkojob/outbound";

export type { AnnouncerLogger };

/**
 * The ingress's announcer (onboarding, the connect command): @linkojob/outbound's
 * ClientStatusAnnouncer (the one module that changes a client's status and announces it), built
 * from this app's connections. A failed publish is logged, not thrown.
 */
export class ClientAnnouncer extends ClientStatusAnnouncer {
  constructor(redis: Publisher, events: DashboardEvents, log?: AnnouncerLogger) {
    super({ events, publisher: redis, ...(log ? { log } : {}) });
  }
}
