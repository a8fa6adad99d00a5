/**
 * Stable codes a dashboard can act on. Those of @linkojob/auth's AuthError come first; a dashboard
 * that gets AUTH_ERR_EXPIRED fetches a new token, FORBIDDEN / CLIENT_* are programming or access
 * errors, UNAVAILABLE is worth retrying.
 */
export const SOCKET_ERROR_CODES = [
  "AUTH_ERR_MISSING",
  "AUTH_ERR_INVALID",
  "AUTH_ERR_EXPIRED",
  /** A recruiter named a client that is not theirs (or does not exist: no existence leak). */
  "FORBIDDEN",
  /** `service` and `admin` tokens must name the client to follow. */
  "CLIENT_ID_REQUIRED",
  /** The client named by a `service` or `admin` token does not exist. */
  "CLIENT_NOT_FOUND",
  /** `clientId` is not an ObjectId string. */
  "INVALID_CLIENT_ID",
  /** A refresh token for another user or role. */
  "AUTH_ERR_SUBJECT_MISMATCH",
  /** MongoDB could not answer during the handshake; retry later. */
  "UNAVAILABLE",
  /** Too many handshakes from this address or for this token's subject in the window; retry later. */
  "RATE_LIMITED",
  /** The token's subject holds the maximum number of open sockets on this node. */
  "TOO_MANY_SOCKETS",
] as const;
export type SocketErrorCode = (typeof SOCKET_ERROR_CODES)[number];

/**
 * A refused handshake or refresh. Socket.io hands `message` and `data` to the client's
 * `connect_error` listener, so `data.code` is what dashboards switch on.
 */
export class SocketError extends Error {
  readonly data: { code: SocketErrorCode; message: string };
  constructor(
    readonly code: SocketErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "SocketError";
    this.data = { code, message };
  }

  /** True when the access itself was refused (as opposed to a token problem or an outage). */
  get deniesAccess(): boolean {
    return this.code === "FORBIDDEN" || this.code === "CLIENT_NOT_FOUND";
  }
}
