export { createRealtimeServer, type RealtimeServer, type RealtimeServerDeps } from "./realtime-server";
export { SOCKET_EVENTS, type ExpiredNotice, type HandshakeAuth, type RefreshAck, type SessionInfo } from "./protocol";
export { SOCKET_ERROR_CODES, SocketError, type SocketErrorCode } from "./socket-error";
export { loadRealtimeEnv, realtimeEnvShape, type RealtimeEnv } from "./env";
