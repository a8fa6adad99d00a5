import { AuthError, type JwtVerifier } from "@linkojob/auth";
import type { Logger } from "pino";
import type { HandshakeAuth } from "./protocol.js";
import type { RealtimeSocket } from "./socket-data.js";
import { SocketError } from "./socket-error.js";
import type { ConnectionGuard } from "./connection-guard.js";
import type { TenantRooms } from "./tenant-rooms.js";

/** An AuthError keeps its code; anything else thrown by verification is an invalid token. */
export function toSocketError(err: unknown): SocketError {
  if (err instanceof SocketError) return err;
  if (err instanceof AuthError) return new SocketError(err.code, err.message);
  return new SocketError("AUTH_ERR_INVALID", "invalid token", { cause: err });
}

export interface SocketAuthDeps {
  verifier: JwtVerifier;
  rooms: TenantRooms;
  logger: Logger;
  /** Handshake budgets per address and subject (Redis) and the cap of sockets per subject. */
  guard?: ConnectionGuard;
}

/**
 * Socket.io middleware for the handshake: verifies `auth.token`, decides the clients to follow from
 * the token and `auth.clientId`, and keeps the result on `socket.data`. A refusal reaches the client
 * as `connect_error` with `err.data.code`. The token is only read from the handshake's auth payload,
 * never from the query string, which proxies log.
 */
export function socketAuthMiddleware({ verifier, rooms, logger, guard }: SocketAuthDeps) {
  return async (socket: RealtimeSocket, next: (err?: Error) => void): Promise<void> => {
    const auth = (socket.handshake.auth ?? {}) as HandshakeAuth;
    try {
      if (auth.token != null && typeof auth.token !== "string") {
        throw new SocketError("AUTH_ERR_INVALID", "auth.token must be a string");
      }
      // Counted before the token is even read: a flood of bad tokens costs its address, not MongoDB.
      if (guard && !(await guard.admitAddress(socket.handshake.address)))
        throw new SocketError("RATE_LIMITED", "too many connections from this address; retry later");
      const principal = await verifier.verify(auth.token);
      if (guard && !(await guard.admitSubject(principal.userId)))
        throw new SocketError("RATE_LIMITED", "too many connections for this user; retry later");
      const clientIds = await rooms.clientIdsFor(principal, auth.clientId);
      if (guard && !guard.opened(principal.userId, socket.id))
        throw new SocketError(
          "TOO_MANY_SOCKETS",
          `this user holds ${guard.socketsPerSubject} open sockets already; close one first`,
        );
      socket.data.principal = principal;
      socket.data.requestedClientId = auth.clientId === undefined ? undefined : clientIds[0];
      socket.data.clientIds = clientIds;
      next();
    } catch (err) {
      const refusal = toSocketError(err);
      const log = refusal.code === "UNAVAILABLE" ? logger.warn.bind(logger) : logger.debug.bind(logger);
      log(
        {
          socketId: socket.id,
          code: refusal.code,
          address: socket.handshake.address,
          ...(refusal.cause ? { err: refusal.cause } : {}),
        },
        "socket handshake refused",
      );
      next(refusal);
    }
  };
}
