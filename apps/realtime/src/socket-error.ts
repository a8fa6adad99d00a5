import { SOCKET_REFUSAL_CODES, type SocketRefusalCode } from "@linkojob/events";

/**
 * Stable codes a dashboard can act on: the contract's refusal codes (@linkojob/events, documented
 * there) but SUPERSEDED, which only the refresh queue answers. A dashboard that gets AUTH_ERR_EXPIRED
 * fetches a new token, FORBIDDEN / CLIENT_* are programming or access errors, UNAVAILABLE is worth
 * retrying.
 */
export type SocketErrorCode = Exclude<SocketRefusalCode, "SUPERSEDED">;
export const SOCKET_ERROR_CODES = SOCKET_REFUSAL_CODES.filter((c): c is SocketErrorCode => c !== "SUPERSEDED");

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
