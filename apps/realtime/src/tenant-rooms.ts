import type { Principal } from "@linkojob/auth";
import { isObjectIdString, toObjectId, userIdFilter, type Database } from "@linkojob/db";
import { SocketError } from "./socket-error.js";

/**
 * Decides which clients (tenants) a principal's socket follows, with the same rules as the REST
 * API's TenantAccess: a recruiter follows the clients whose `userId` is its `sub` (all of them, or
 * the one it names if it is theirs), in either stored form (a string, or the ObjectId of a 24-hex
 * sub: userIdFilter); `service` and `admin` must name an existing client. The caller
 * joins `clientRoom(id)` for each id returned and nothing else.
 */
export class TenantRooms {
  constructor(private readonly db: Database) {}

  /** Client ids as lowercase hex, the form `clientRoom()` is built from everywhere. */
  async clientIdsFor(principal: Principal, requestedClientId?: unknown): Promise<string[]> {
    if (requestedClientId !== undefined && !isObjectIdString(requestedClientId)) {
      throw new SocketError("INVALID_CLIENT_ID", "clientId must be a 24-character hex id");
    }
    const requested = requestedClientId === undefined ? undefined : toObjectId(requestedClientId, "clientId");
    try {
      if (principal.role === "recruiter") {
        if (requested) {
          // Not found and not theirs answer alike, so that ids of other tenants cannot be probed.
          const own = await this.db.clients.exists({ _id: requested, userId: userIdFilter(principal.userId) });
          if (!own) throw new SocketError("FORBIDDEN", "this client does not belong to you");
          return [requested.toHexString()];
        }
        const docs = await this.db.clients.find({ userId: userIdFilter(principal.userId) }, { _id: 1 }).lean();
        return docs.map((d) => d._id.toHexString());
      }
      if (!requested) throw new SocketError("CLIENT_ID_REQUIRED", `a ${principal.role} token must name auth.clientId`);
      if (!(await this.db.clients.exists({ _id: requested })))
        throw new SocketError("CLIENT_NOT_FOUND", "no such client");
      return [requested.toHexString()];
    } catch (err) {
      if (err instanceof SocketError) throw err;
      throw new SocketError("UNAVAILABLE", "the client directory is unavailable, retry later", { cause: err });
    }
  }
}
