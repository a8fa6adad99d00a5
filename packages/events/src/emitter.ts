import { Emitter } from "@socket.io/redis-emitter";
import type { Cluster, Redis } from "ioredis";
import type { DashboardEventMap, DashboardEventName } from "./contract.js";
import { SOCKET_IO_KEY, clientRoom } from "./events.js";

/** The typed emitting surface: a payload that does not fit its event does not compile. */
export interface TypedDashboardEvents {
  toClient<E extends DashboardEventName>(clientId: string, event: E, payload: DashboardEventMap[E]): void;
}

/**
 * Lets workers and the ingress reach dashboards without being socket servers: events are published
 * through Redis to every realtime node (the @socket.io/redis-emitter protocol), which delivers them
 * to the tenant's room. Build payloads with the builders (messageReceived, conversationUpdated…).
 */
export class DashboardEvents implements TypedDashboardEvents {
  private readonly emitter: Emitter;
  constructor(redis: Redis | Cluster, key = SOCKET_IO_KEY) {
    this.emitter = new Emitter(redis, { key });
  }

  toClient<E extends DashboardEventName>(clientId: string, event: E, payload: DashboardEventMap[E]): void {
    this.emitter.to(clientRoom(clientId)).emit(event, payload);
  }
}
