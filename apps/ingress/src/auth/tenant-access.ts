import type { Types } from "mongoose";
import type { Principal } from "@linkojob/auth";
import { toObjectId, userIdFilter, type Database, type TenantData } from "@linkojob/db";
import { badRequest, forbidden, notFound } from "../http/errors.js";

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

  /** The tenant a request names (or, for a recruiter with one client, implies). */
  async resolve(principal: Principal, requestedClientId?: string): Promise<TenantData> {
    if (principal.role === "recruiter") {
      const own = await this.ownClientIds(principal);
      if (requestedClientId) {
        const wanted = toObjectId(requestedClientId, "clientId");
        if (!own.some((id) => id.equals(wanted))) throw forbidden("this client does not belong to you");
        return this.db.forTenant(wanted);
      }
      if (own.length === 0) throw notFound("client for this user");
      if (own.length > 1) throw badRequest("you have several clients: name one with clientId");
      return this.db.forTenant(own[0]!);
    }
    if (!requestedClientId) throw badRequest("clientId is required for this role");
    const id = toObjectId(requestedClientId, "clientId");
    if (!(await this.db.clients.exists({ _id: id }))) throw notFound("client");
    return this.db.forTenant(id);
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
