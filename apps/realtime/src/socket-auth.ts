import { AuthError, type JwtVerifier } from "@linkojob/auth";
import type { Logger } from "pino";
import type { HandshakeAuth } from "./protocol.js";
import type { RealtimeSocket } from "./socket-data.js";
import { SocketError } from "./socket-error.js";
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
}

/**
 * Socket.io middleware for the handshake: verifies `auth.token`, decides the clients to follow from
 * the token and `auth.clientId`, and keeps the result on `socket.data`. A refusal reaches the client
 * as `connect_error` with `err.data.code`. The token is only read from the handshake's auth payload,
 * never from the query string, which proxies log.
 */
export function socketAuthMiddleware({ verifier, rooms, logger }: SocketAuthDeps) {
  return async (socket: RealtimeSocket, next: (err?: Error) => void): Promise<void> => {
    const auth = (socket.handshake.auth ?? {}) as HandshakeAuth;
    try {
      if (auth.token != null && typeof auth.token !== "string") {
        throw new SocketError("AUTH_ERR_INVALID", "auth.token must be a string");
      }
      const principal = await verifier.verify(auth.token);
      const clientIds = await rooms.clientIdsFor(principal, auth.clientId);
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
