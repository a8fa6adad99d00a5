import type { Role } from "@linkojob/auth";
import type { ROLES } from "@linkojob/events";

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

// The contract spells out roles for dashboards; this fails to compile when the server uses a role
// (@linkojob/auth's roles) the contract lacks. The refusal codes are the contract's own (socket-error.ts).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const rolesMatch: Same<Role, (typeof ROLES)[number]> = true;
void rolesMatch;
