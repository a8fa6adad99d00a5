import type { ServerEventPayload, ServerToClientEvents } from "@linkojob/events";
import type { Socket } from "socket.io-client";

export type ServerEventName = keyof ServerToClientEvents;

/** One event a dashboard socket received: its name and its payload, typed by the contract. */
export type ReceivedEvent = {
  [E in ServerEventName]: { event: E; payload: ServerEventPayload<E> };
}[ServerEventName];

/** Narrows a received event to one name, for `find` and `filter`. */
export const isEvent =
  <E extends ServerEventName>(event: E) =>
  (r: ReceivedEvent): r is Extract<ReceivedEvent, { event: E }> =>
    r.event === event;

/**
 * Records every event the socket receives, in order. The realtime server sends only the contract's
 * events (ServerToClientEvents), so each arrives under its contract type.
 */
export function recordEvents(socket: Socket): ReceivedEvent[] {
  const received: ReceivedEvent[] = [];
  socket.onAny((event: ServerEventName, payload: unknown) => received.push({ event, payload } as ReceivedEvent));
  return received;
}
