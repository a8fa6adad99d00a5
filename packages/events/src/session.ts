import { z } from "zod";

/**
 * The conversation between a dashboard and the realtime server itself (besides the dashboard events,
 * which workers publish and the server relays). A dashboard never names a room: the server decides
 * the rooms from the token, so there is no "join" event.
 */
export const SOCKET_EVENTS = {
  /** Server → client, right after connecting and after each refresh: who the socket is and what it follows. */
  session: "auth:session",
  /** Server → client, when the token reaches `exp`; the server disconnects the socket just after. */
  expired: "auth:expired",
  /** Client → server, with `{ token }` (same user and role) and an acknowledgement callback. */
  refresh: "auth:refresh",
  /** Server → client, `{ code, message }`, just before the server disconnects a misbehaving socket (e.g. RATE_LIMITED). */
  error: "socket:error",
} as const;

export const ROLES = ["recruiter", "service", "admin"] as const;

/** What a dashboard sends in the handshake: `io(url, { transports: ["websocket"], auth: { token, clientId } })`. */
export interface HandshakeAuth {
  token?: unknown;
  /** The client (tenant) to follow; required for `service` and `admin`, optional for `recruiter`. */
  clientId?: unknown;
}

export const sessionInfoSchema = z.strictObject({
  userId: z.string(),
  role: z.enum(ROLES),
  /** The clients (tenants) whose events this socket receives. */
  clientIds: z.array(z.string()).describe("The clients (tenants) whose events this socket receives"),
  /** Seconds since epoch when the token expires, or null when it has no `exp`. */
  expiresAt: z
    .number()
    .int()
    .nullable()
    .describe("Seconds since epoch when the token expires; null when it has no exp"),
});
export type SessionInfo = z.infer<typeof sessionInfoSchema>;

export const expiredNoticeSchema = z.strictObject({
  code: z.literal("AUTH_ERR_EXPIRED"),
  /** Seconds since epoch: the token's `exp`. */
  expiredAt: z.number().int().describe("Seconds since epoch: the token's exp"),
});
export type ExpiredNotice = z.infer<typeof expiredNoticeSchema>;

/**
 * Codes of a refused handshake (`connect_error`'s `err.data.code`), a refused refresh (`error.code`)
 * or a `socket:error`. The realtime server's SocketError uses all of them but SUPERSEDED.
 */
export const SOCKET_REFUSAL_CODES = [
  /** The token is missing, not valid, or past its `exp` (AUTH_ERR_EXPIRED: fetch a new token). */
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
  /**
   * The socket sent too many events and is disconnected (`socket:error`), or too many handshakes came
   * from its address or for its user in the window; retry later.
   */
  "RATE_LIMITED",
  /** The token's subject holds the maximum number of open sockets on this node. */
  "TOO_MANY_SOCKETS",
  /** A newer auth:refresh replaced this one before it ran (a refresh's answer only). */
  "SUPERSEDED",
] as const;
export type SocketRefusalCode = (typeof SOCKET_REFUSAL_CODES)[number];

/** `err.data` of a refused handshake, `error` of a refused refresh, and the `socket:error` payload. */
export const socketRefusalSchema = z.strictObject({ code: z.enum(SOCKET_REFUSAL_CODES), message: z.string() });
export type SocketRefusal = z.infer<typeof socketRefusalSchema>;

export const refreshRequestSchema = z.object({ token: z.string() });
export type RefreshRequest = { token?: unknown };

export const refreshAckSchema = z.union([
  z.object({ ok: z.literal(true), session: sessionInfoSchema }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);
export type RefreshAck = { ok: true; session: SessionInfo } | { ok: false; error: { code: string; message: string } };
