import type { JwtVerifier } from "@linkojob/auth";
import { clientRoom } from "@linkojob/events";
import type { Logger } from "pino";
import { SOCKET_EVENTS, type RefreshAck, type SessionInfo } from "./protocol.js";
import { SessionExpiry } from "./session-expiry.js";
import { toSocketError } from "./socket-auth.js";
import { REFRESH_SUPERSEDED, type SocketEventBudget } from "./socket-budget.js";
import { RefreshQueue } from "./socket-refresh-queue.js";
import type { RealtimeSocket } from "./socket-data.js";
import { SocketError } from "./socket-error.js";
import type { ConnectionGuard } from "./connection-guard.js";
import type { TenantRooms } from "./tenant-rooms.js";

export interface SocketSessionDeps {
  verifier: JwtVerifier;
  rooms: TenantRooms;
  logger: Logger;
  /** Event budgets per subject and address in Redis (kept across reconnects); releases the socket's slot. */
  guard?: ConnectionGuard;
  /** Events each socket may send; a socket over it is told `socket:error` (RATE_LIMITED) and disconnected. */
  budget: SocketEventBudget;
  /** Counts the sockets whose refresh queue is working (RealtimeServer.refreshesInFlight). */
  refreshActivity?: { busy(): void; idle(): void };
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
export function startSocketSession(
  socket: RealtimeSocket,
  { verifier, rooms, logger, budget, guard, refreshActivity }: SocketSessionDeps,
): void {
  const log = logger.child({
    socketId: socket.id,
    userId: socket.data.principal.userId,
    role: socket.data.principal.role,
  });

  // disconnect(true) sends a DISCONNECT packet, after which socket.io-client does not reconnect on
  // its own: the dashboard must fetch a new token first (a reconnect with the old one would fail).
  const expiry = new SessionExpiry((expiredAt) => {
    log.info({ expiredAt }, "token expired; disconnecting");
    socket.emit(SOCKET_EVENTS.expired, { code: "AUTH_ERR_EXPIRED", expiredAt });
    socket.disconnect(true);
  });
  socket.on("disconnect", () => {
    expiry.cancel();
    void budget.forget(socket.id).catch(() => undefined);
    guard?.closed(socket.data.principal.userId, socket.id);
  });

  // Every event the client sends spends its budget, before any handler runs. Over budget, the
  // socket is told why and disconnected; nothing it sent after that is handled.
  let limited = false;
  socket.use((_packet, next) => {
    if (limited) return;
    const address = socket.handshake.address;
    Promise.all([budget.spend(socket.id), guard ? guard.spendEvent(socket.data.principal.userId, address) : true])
      .then(([bySocket, byPerson]) => bySocket && byPerson)
      .then(
        (allowed) => {
          if (allowed) return next();
          if (limited) return;
          limited = true;
          log.warn(
            { events: budget.events, windowSeconds: budget.windowSeconds },
            "socket over its event budget; disconnecting",
          );
          socket.emit(SOCKET_EVENTS.error, {
            code: "RATE_LIMITED",
            message: `more than ${budget.events} events in ${budget.windowSeconds} s; reconnect later`,
          });
          socket.disconnect(true);
        },
        () => next(),
      );
  });

  // One refresh at a time (an older one finishing late cannot undo a newer one), and a burst
  // coalesces: the latest token waiting replaces the one before it, which is answered `SUPERSEDED`.
  const refreshes = new RefreshQueue<unknown, RefreshAck>(
    (token) => refresh(token),
    {
      superseded: () => ({
        ok: false,
        error: { code: REFRESH_SUPERSEDED, message: "a newer auth:refresh replaced this one" },
      }),
      failed: () => ({ ok: false, error: { code: "UNAVAILABLE", message: "the refresh failed; try again" } }),
    },
    refreshActivity,
  );
  socket.on(SOCKET_EVENTS.refresh, (payload, ack) => {
    const reply = typeof ack === "function" ? ack : () => undefined;
    refreshes.push(payload?.token, reply);
  });

  async function refresh(token: unknown): Promise<RefreshAck> {
    try {
      if (!socket.connected) throw new SocketError("UNAVAILABLE", "the socket ended before the refresh ran");
      if (token != null && typeof token !== "string")
        throw new SocketError("AUTH_ERR_INVALID", "token must be a string");
      const principal = await verifier.verify(token);
      const current = socket.data.principal;
      if (principal.userId !== current.userId || principal.role !== current.role) {
        throw new SocketError("AUTH_ERR_SUBJECT_MISMATCH", "the new token is for another user or role");
      }
      // Access is decided again: a client given away since the handshake is no longer followed.
      const clientIds = await rooms.clientIdsFor(principal, socket.data.requestedClientId);
      if (!socket.connected) throw new SocketError("UNAVAILABLE", "the socket ended before the refresh completed");
      const next = new Set(clientIds);
      // The Redis adapter's room bookkeeping is local and synchronous; awaiting keeps any failure in this catch.
      for (const id of socket.data.clientIds) if (!next.has(id)) await socket.leave(clientRoom(id));
      await socket.join(clientIds.map(clientRoom));
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

  // Synchronous with the Redis adapter (local room bookkeeping); a failure is logged, never left unhandled.
  void Promise.resolve(socket.join(socket.data.clientIds.map(clientRoom))).catch((err: unknown) =>
    log.warn({ err }, "could not join the client rooms"),
  );
  log.debug({ clientIds: socket.data.clientIds }, "socket connected");
  socket.emit(SOCKET_EVENTS.session, sessionInfo(socket));
  // Last, as it may disconnect at once: a token that expired during the handshake.
  expiry.schedule(socket.data.principal.expiresAt);
}
