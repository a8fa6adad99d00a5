import { Emitter } from "@socket.io/redis-emitter";
import type { Redis } from "ioredis";
import { SOCKET_IO_KEY, clientRoom, type EventName } from "./events";

/**
 * Lets workers and the ingress reach dashboards without being socket servers: events are published
 * through Redis to every realtime node (the @socket.io/redis-emitter protocol), which delivers them
 * to the tenant's room.
 */
export class DashboardEvents {
  private readonly emitter: Emitter;
  constructor(redis: Redis, key = SOCKET_IO_KEY) {
    this.emitter = new Emitter(redis, { key });
  }

  toClient(clientId: string, event: EventName, payload: unknown): void {
    this.emitter.to(clientRoom(clientId)).emit(event, payload);
  }
}
