import type { Role } from "@linkojob/auth";

/**
 * The conversation between a dashboard and the realtime server, besides the dashboard events of
 * @linkojob/events (which workers publish and this server only relays). A dashboard never names a
 * room: the server decides the rooms from the token, so there is no "join" event to abuse.
 */
export const SOCKET_EVENTS = {
  /** Server → client, right after connecting and after each refresh: who the socket is and what it follows. */
  session: "auth:session",
  /** Server → client, when the token reaches `exp`; the server disconnects the socket just after. */
  expired: "auth:expired",
  /** Client → server, with `{ token }` (same user and role) and an acknowledgement callback. */
  refresh: "auth:refresh",
} as const;

/** What a dashboard sends in the handshake: `io(url, { transports: ["websocket"], auth: { token, clientId } })`. */
export interface HandshakeAuth {
  token?: unknown;
  /** The client (tenant) to follow; required for `service` and `admin`, optional for `recruiter`. */
  clientId?: unknown;
}

export interface SessionInfo {
  userId: string;
  role: Role;
  /** The clients (tenants) whose events this socket receives. */
  clientIds: string[];
  /** Seconds since epoch when the token expires, or null when it has no `exp`. */
  expiresAt: number | null;
}

export interface ExpiredNotice {
  code: "AUTH_ERR_EXPIRED";
  /** Seconds since epoch: the token's `exp`. */
  expiredAt: number;
}

export type RefreshAck =
  | { ok: true; session: SessionInfo }
  | { ok: false; error: { code: string; message: string } };

export interface ServerToClientEvents {
  [SOCKET_EVENTS.session]: (session: SessionInfo) => void;
  [SOCKET_EVENTS.expired]: (notice: ExpiredNotice) => void;
}

export interface ClientToServerEvents {
  [SOCKET_EVENTS.refresh]: (payload: { token?: unknown } | undefined, ack?: (reply: RefreshAck) => void) => void;
}

