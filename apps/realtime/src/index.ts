export { createRealtimeServer, type RealtimeServer, type RealtimeServerDeps } from "./realtime-server.js";
export {
  SOCKET_EVENTS,
  type ExpiredNotice,
  type HandshakeAuth,
  type RefreshAck,
  type SessionInfo,
} from "./protocol.js";
export { SOCKET_ERROR_CODES, SocketError, type SocketErrorCode } from "./socket-error.js";
export { loadRealtimeEnv, realtimeEnvShape, type RealtimeEnv } from "./env.js";
