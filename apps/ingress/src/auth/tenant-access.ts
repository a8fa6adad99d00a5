import type { Types } from "mongoose";
import type { Principal } from "@linkojob/auth";
import { sameUser, toObjectId, userIdFilter, type Database, type TenantData, type UserId } from "@linkojob/db";
import { badRequest, forbidden, notFound } from "../http/errors.js";

/**
 * Who may act for a client: its owner, a recruiter whose `sub` names the client's `userId` (stored as
 * a string or, the platform's form, as the ObjectId of a 24-hex sub: sameUser); the platform backend
 * (`service`) and operators (`admin`) for any client. The one decision of tenant access: every path
 * that names a client (TenantAccess.resolve, the send acceptance's cached lookup) goes through it.
 */
export function mayActFor(principal: Principal, client: { userId: UserId }): boolean {
  return principal.role !== "recruiter" || sameUser(client.userId, principal.userId);
}

const NOT_YOURS = "this client does not belong to you";

/**
 * Decides which tenant a request acts for. A recruiter acts only for the client(s) whose `userId` is
 * its `sub` (stored as a string or, the platform's form, as the ObjectId of a 24-hex sub: userIdFilter); the platform backend (`service`) and operators (`admin`) name the client. The result is
 * a TenantData, whose repositories cannot query another tenant.
 */
export class TenantAccess {
  constructor(private readonly db: Database) {}

  async ownClientIds(principal: Principal): Promise<Types.ObjectId[]> {
    const docs = await this.db.clients.find({ userId: userIdFilter(principal.userId) }, { _id: 1 }).lean();
    return docs.map((d) => d._id);
  }

  /**
   * The tenant of a client looked up by id (from the database or a cache): 404 when there is none,
   * 403 when the principal may not act for it (mayActFor).
   */
  forClient(principal: Principal, client: { _id: Types.ObjectId; userId: UserId } | null): TenantData {
    if (!client) throw notFound("client");
    if (!mayActFor(principal, client)) throw forbidden(NOT_YOURS);
    return this.db.forTenant(client._id);
  }

  /** The tenant a request names (or, for a recruiter with one client, implies). */
  async resolve(principal: Principal, requestedClientId?: string): Promise<TenantData> {
    if (requestedClientId) {
      const id = toObjectId(requestedClientId, "clientId");
      const client = await this.db.clients.findById(id, { _id: 1, userId: 1 }).lean();
      // A recruiter learns nothing of clients that are not its own: 403 whether the client exists or not.
      if (!client && principal.role === "recruiter") throw forbidden(NOT_YOURS);
      return this.forClient(principal, client);
    }
    if (principal.role !== "recruiter") throw badRequest("clientId is required for this role");
    const own = await this.ownClientIds(principal);
    if (own.length === 0) throw notFound("client for this user");
    if (own.length > 1) throw badRequest("you have several clients: name one with clientId");
    return this.db.forTenant(own[0]!);
  }

  /** The tenant that owns a conversation, if the principal may see it; 404 otherwise (no existence leak). */
  async resolveForConversation(
    principal: Principal,
    conversationId: Types.ObjectId,
    requestedClientId?: string,
  ): Promise<TenantData> {
    if (requestedClientId) {
      const tenant = await this.resolve(principal, requestedClientId);
      if (!(await tenant.conversations.get(conversationId))) throw notFound("conversation");
      return tenant;
    }
    const candidates =
      principal.role === "recruiter"
        ? await this.ownClientIds(principal)
        : await this.db.conversations.distinct("clientId", { _id: conversationId }); // privileged roles only
    for (const clientId of candidates) {
      const tenant = this.db.forTenant(clientId);
      if (await tenant.conversations.get(conversationId)) return tenant;
    }
    throw notFound("conversation");
  }
}
