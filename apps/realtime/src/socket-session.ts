import type { JwtVerifier } from "@linkojob/auth";
import { clientRoom } from "@linkojob/events";
import type { Logger } from "pino";
import { SOCKET_EVENTS, type RefreshAck, type SessionInfo } from "./protocol";
import { SessionExpiry } from "./session-expiry";
import { toSocketError } from "./socket-auth";
import type { RealtimeSocket } from "./socket-data";
import { SocketError } from "./socket-error";
import type { TenantRooms } from "./tenant-rooms";

export interface SocketSessionDeps {
  verifier: JwtVerifier;
  rooms: TenantRooms;
  logger: Logger;
}

const sessionInfo = (socket: RealtimeSocket): SessionInfo => ({
  userId: socket.data.principal.userId,
  role: socket.data.principal.role,
  clientIds: socket.data.clientIds,
  expiresAt: socket.data.principal.expiresAt ?? null,
});

/**
 * The life of an authenticated socket: it joins the rooms the handshake decided (and no other: the
 * server has no handler that takes a room name), is told `auth:expired` and disconnected when its
 * token expires, and may extend itself with `auth:refresh` and a newer token of the same user.
 */
export function startSocketSession(socket: RealtimeSocket, { verifier, rooms, logger }: SocketSessionDeps): void {
  const log = logger.child({ socketId: socket.id, userId: socket.data.principal.userId, role: socket.data.principal.role });

  // disconnect(true) sends a DISCONNECT packet, after which socket.io-client does not reconnect on
  // its own: the dashboard must fetch a new token first (a reconnect with the old one would fail).
  const expiry = new SessionExpiry((expiredAt) => {
    log.info({ expiredAt }, "token expired; disconnecting");
    socket.emit(SOCKET_EVENTS.expired, { code: "AUTH_ERR_EXPIRED", expiredAt });
    socket.disconnect(true);
  });
  socket.on("disconnect", () => expiry.cancel());

  // Refreshes are handled one at a time, so that an older one finishing late cannot undo a newer one.
  let refreshes: Promise<void> = Promise.resolve();
  socket.on(SOCKET_EVENTS.refresh, (payload, ack) => {
    const reply = typeof ack === "function" ? ack : () => undefined;
    refreshes = refreshes.then(() => refresh(payload?.token).then(reply)).catch(() => undefined);
  });

  async function refresh(token: unknown): Promise<RefreshAck> {
    try {
      if (token != null && typeof token !== "string") throw new SocketError("AUTH_ERR_INVALID", "token must be a string");
      const principal = await verifier.verify(token);
      const current = socket.data.principal;
      if (principal.userId !== current.userId || principal.role !== current.role) {
        throw new SocketError("AUTH_ERR_SUBJECT_MISMATCH", "the new token is for another user or role");
      }
      // Access is decided again: a client given away since the handshake is no longer followed.
      const clientIds = await rooms.clientIdsFor(principal, socket.data.requestedClientId);
      if (!socket.connected) throw new SocketError("UNAVAILABLE", "the socket ended before the refresh completed");
      const next = new Set(clientIds);
      for (const id of socket.data.clientIds) if (!next.has(id)) socket.leave(clientRoom(id));
      socket.join(clientIds.map(clientRoom));
      socket.data.principal = principal;
      socket.data.clientIds = clientIds;
      expiry.schedule(principal.expiresAt);
      log.debug({ expiresAt: principal.expiresAt, clientIds }, "session refreshed");
      return { ok: true, session: sessionInfo(socket) };
    } catch (err) {
      const refusal = toSocketError(err);
      log.debug({ code: refusal.code }, "session refresh refused");
      if (refusal.deniesAccess) {
        // The user lost access to what the socket follows: stop at once rather than at `exp`.
        setImmediate(() => socket.disconnect(true));
      }
      return { ok: false, error: refusal.data };
    }
  }

  socket.join(socket.data.clientIds.map(clientRoom));
  log.debug({ clientIds: socket.data.clientIds }, "socket connected");
  socket.emit(SOCKET_EVENTS.session, sessionInfo(socket));
  // Last, as it may disconnect at once: a token that expired during the handshake.
  expiry.schedule(socket.data.principal.expiresAt);
}
