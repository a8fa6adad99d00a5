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

export const sessionInfoSchema = z.object({
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

export const expiredNoticeSchema = z.object({
  code: z.literal("AUTH_ERR_EXPIRED"),
  /** Seconds since epoch: the token's `exp`. */
  expiredAt: z.number().int().describe("Seconds since epoch: the token's exp"),
});
export type ExpiredNotice = z.infer<typeof expiredNoticeSchema>;

/**
 * Codes of a refused handshake (`connect_error`'s `err.data.code`), a refused refresh (`error.code`)
 * or a `socket:error`. AUTH_ERR_EXPIRED → fetch a new token; FORBIDDEN / CLIENT_* → access or
 * programming errors; UNAVAILABLE → retry later; RATE_LIMITED → the socket sent too many events and
 * is disconnected, or too many handshakes came from its address or user (retry later);
 * TOO_MANY_SOCKETS → the user holds the maximum of open sockets; SUPERSEDED → a newer auth:refresh
 * replaced this one.
 */
export const SOCKET_REFUSAL_CODES = [
  "AUTH_ERR_MISSING",
  "AUTH_ERR_INVALID",
  "AUTH_ERR_EXPIRED",
  "FORBIDDEN",
  "CLIENT_ID_REQUIRED",
  "CLIENT_NOT_FOUND",
  "INVALID_CLIENT_ID",
  "AUTH_ERR_SUBJECT_MISMATCH",
  "UNAVAILABLE",
  "RATE_LIMITED",
  "TOO_MANY_SOCKETS",
  "SUPERSEDED",
] as const;

/** `err.data` of a refused handshake, `error` of a refused refresh, and the `socket:error` payload. */
export const socketRefusalSchema = z.object({ code: z.enum(SOCKET_REFUSAL_CODES), message: z.string() });
export type SocketRefusal = z.infer<typeof socketRefusalSchema>;

export const refreshRequestSchema = z.object({ token: z.string() });
export type RefreshRequest = { token?: unknown };

export const refreshAckSchema = z.union([
  z.object({ ok: z.literal(true), session: sessionInfoSchema }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);
export type RefreshAck = { ok: true; session: SessionInfo } | { ok: false; error: { code: string; message: string } };
