import type { Role } from "@linkojob/auth";
import type { ROLES, SOCKET_REFUSAL_CODES } from "@linkojob/events";
import type { SocketErrorCode } from "./socket-error.js";

/**
 * The socket protocol is part of the dashboard contract in @linkojob/events: the session's events
 * (`auth:session`, `auth:expired`, `auth:refresh`), the relayed dashboard events and their payloads,
 * as Socket.io's typed ServerToClientEvents / ClientToServerEvents. Re-exported here for this app.
 */
export {
  SOCKET_EVENTS,
  type ClientToServerEvents,
  type ExpiredNotice,
  type HandshakeAuth,
  type RefreshAck,
  type ServerToClientEvents,
  type SessionInfo,
  type SocketRefusal,
} from "@linkojob/events";

// The contract spells out roles and refusal codes for dashboards; these fail to compile when the
// server uses a role or a code (@linkojob/auth's roles, SOCKET_ERROR_CODES) the contract lacks.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const rolesMatch: Same<Role, (typeof ROLES)[number]> = true;
const codesDocumented: [SocketErrorCode] extends [(typeof SOCKET_REFUSAL_CODES)[number]] ? true : false = true;
void rolesMatch;
void codesDocumented;
