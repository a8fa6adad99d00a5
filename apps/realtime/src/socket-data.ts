import type { Principal } from "@linkojob/auth";
import type { DefaultEventsMap, Server, Socket } from "socket.io";
import type { ClientToServerEvents, ServerToClientEvents } from "./protocol.js";

/** What the handshake established, kept on `socket.data`. */
export interface SocketData {
  principal: Principal;
  /** The clientId the handshake named, kept so that a refresh re-checks the same access. */
  requestedClientId: string | undefined;
  /** The clients whose rooms the socket is in. */
  clientIds: string[];
}

export type RealtimeIo = Server<ClientToServerEvents, ServerToClientEvents, DefaultEventsMap, SocketData>;
export type RealtimeSocket = Socket<ClientToServerEvents, ServerToClientEvents, DefaultEventsMap, SocketData>;
