import { Types } from "mongoose";
import { defineErrors, type CodeOf } from "@linkojob/errors";
import {
  conversationView,
  findCandidateConversation,
  type ClientDoc,
  type ConversationDoc,
  type Database,
} from "@linkojob/db";
import { EVENTS, type TypedDashboardEvents, conversationJson, type ConversationPayload } from "@linkojob/events";
import {
  GraphApiError,
  blockUsers,
  isGraphError,
  unblockUsers,
  type BlockFailure,
  type BlockTarget,
  type GraphClient,
} from "@linkojob/whatsapp";

/**
 * Blocking a candidate: the recruiter blocks or unblocks a candidate on the tenant's
 * business number through Meta's Block Users API, with the tenant's token; the block is recorded on
 * the conversation (`blockedAt`, `blockedBy`), announced to dashboards (`conversation:blocked`), and
 * read by the inbound worker, which no longer routes the candidate's messages to the recruiter.
 * Meta is the authority on what may be blocked (only users who wrote in the last 24 hours; the
 * blocklist's 64,000 limit…): its refusals come back as BlockingError codes, never as success.
 */

/** The blocking domain's error catalog: a block or unblock that did not happen. */
const BlockingErrors = defineErrors("BlockingError", {
  BLOCKING_UNAVAILABLE: "blocking needs the Graph API on this node",
  CLIENT_NOT_CONNECTED: "the client has no working WhatsApp connection",
  CANDIDATE_UNKNOWN: "no conversation with this candidate",
  CANDIDATE_NOT_RECENT: "Meta blocks only candidates who wrote to this number in the last 24 hours",
  BLOCK_FAILED: "Meta did not block/unblock the candidate",
  BLOCKLIST_FULL: "this number's blocklist is full (Meta's limit: 64,000)",
  BLOCKLIST_CHANGED: "the blocklist changed meanwhile: try again",
  SELF_BLOCK: "the business's own number cannot be blocked",
  META_RATE_LIMITED: "Meta's rate limit: try again in a moment",
  META_ERROR: "Meta refused",
});
export type BlockingErrorCode = CodeOf<typeof BlockingErrors>;

/** A block or unblock that did not happen, with Meta's code and trace id as details when Meta refused. */
export class BlockingError extends BlockingErrors {
  constructor(
    code: BlockingErrorCode,
    message?: string,
    /** Meta's error code and trace, when Meta refused. */
    readonly meta: { code: number; fbtraceId?: string | null; details?: string | null } | null = null,
  ) {
    super(code, message, meta ? { metaCode: meta.code, fbtraceId: meta.fbtraceId ?? null } : undefined);
  }
}

/** The candidate a request names: a conversation of the tenant, or a phone number or user id. */
export interface BlockCandidate {
  conversationId?: Types.ObjectId;
  phone?: string | null;
  userId?: string | null;
}

export interface BlockRequest {
  clientId: Types.ObjectId;
  candidate: BlockCandidate;
  actor: { role: string; userId: string };
}

export interface BlockOutcome {
  conversation: ConversationPayload;
  blocked: boolean;
  /** False when the conversation was already in that state (nothing asked of Meta for a block). */
  changed: boolean;
}

export interface CandidateBlockingDeps {
  db: Database;
  graph: GraphClient;
  /** The tenant's decrypted access token (the vault's; never logged, never kept). */
  token: (client: Pick<ClientDoc, "_id" | "accessToken">) => string;
  events: TypedDashboardEvents;
}

/** Meta's per-user or request error as a BlockingError (codes from Meta's Block Users reference). */
function refusal(f: { code: number; message: string; details: string | null }, fbtraceId?: string | null) {
  const meta = { code: f.code, details: f.details, fbtraceId: fbtraceId ?? null };
  const said = f.details ? `${f.message}: ${f.details}` : f.message;
  switch (f.code) {
    case 131047:
      return new BlockingError(
        "CANDIDATE_NOT_RECENT",
        "Meta blocks only candidates who wrote to this number in the last 24 hours",
        meta,
      );
    case 139100:
      return /24 hours|re-engagement/i.test(said)
        ? new BlockingError(
            "CANDIDATE_NOT_RECENT",
            "Meta blocks only candidates who wrote to this number in the last 24 hours",
            meta,
          )
        : // Meta's HTTP 400 form names the user's own reason only in its lists, which the Graph
          // client does not keep: the likely one (the 24-hour rule) is said as such.
          new BlockingError(
            "BLOCK_FAILED",
            `Meta did not block/unblock the candidate (${said}); Meta blocks only candidates who wrote in the last 24 hours`,
            meta,
          );
    case 139101:
      return new BlockingError("BLOCKLIST_FULL", "this number's blocklist is full (Meta's limit: 64,000)", meta);
    case 139102:
      return new BlockingError("BLOCKLIST_CHANGED", "the blocklist changed meanwhile: try again", meta);
    case 131021:
      return new BlockingError("SELF_BLOCK", "the business's own number cannot be blocked", meta);
    case 0:
    case 190:
      return new BlockingError(
        "CLIENT_NOT_CONNECTED",
        "Meta refused the client's token: reconnect WhatsApp, then block again",
        meta,
      );
    case 130429:
    case 4:
    case 80007:
      return new BlockingError("META_RATE_LIMITED", "Meta's rate limit: try again in a moment", meta);
    default:
      return new BlockingError("META_ERROR", `Meta refused: ${said}`, meta);
  }
}

export class CandidateBlocking {
  constructor(private readonly deps: CandidateBlockingDeps) {}

  /** Blocks the candidate on the tenant's number, then records and announces it. */
  block(request: BlockRequest): Promise<BlockOutcome> {
    return this.change(request, true);
  }

  /** Unblocks the candidate (Meta has no 24-hour rule for this), then records and announces it. */
  unblock(request: BlockRequest): Promise<BlockOutcome> {
    return this.change(request, false);
  }

  /** The tenant's blocked candidates, latest first; `cursor` is the previous page's `nextCursor`. */
  async list(
    clientId: Types.ObjectId,
    limit: number,
    cursor?: string,
  ): Promise<{ conversations: ConversationPayload[]; nextCursor: string | null }> {
    let after: { blockedAt: Date; id: Types.ObjectId } | undefined;
    if (cursor) {
      const [ms, id] = cursor.split(".");
      after = { blockedAt: new Date(Number(ms)), id: new Types.ObjectId(id) };
    }
    const docs = await this.deps.db.forTenant(clientId).conversations.listBlocked(limit + 1, after);
    const page = docs.slice(0, limit);
    const last = page.at(-1);
    return {
      conversations: page.map(conversationJson),
      nextCursor:
        docs.length > limit && last?.blockedAt
          ? `${new Date(last.blockedAt).getTime()}.${last._id.toHexString()}`
          : null,
    };
  }

  private async conversationOf(clientId: Types.ObjectId, c: BlockCandidate): Promise<ConversationDoc | null> {
    const model = this.deps.db.conversations;
    if (c.conversationId) return model.findOne({ _id: c.conversationId, clientId }).lean<ConversationDoc>();
    const found = await findCandidateConversation(model, clientId, {
      phones: c.phone ? [c.phone] : [],
      userIds: c.userId ? [c.userId] : [],
    });
    return found ? model.findOne({ _id: found._id, clientId }).lean<ConversationDoc>() : null;
  }

  private async change(request: BlockRequest, block: boolean): Promise<BlockOutcome> {
    const { db, graph, events } = this.deps;
    const client = await db.clients
      .findById(request.clientId, { _id: 1, status: 1, accessToken: 1, phoneNumberId: 1 })
      .lean<ClientDoc>();
    if (!client?.accessToken || client.status !== "active" || !client.phoneNumberId)
      throw new BlockingError("CLIENT_NOT_CONNECTED", "the client has no working WhatsApp connection");
    const conversation = await this.conversationOf(request.clientId, request.candidate);
    if (!conversation)
      throw new BlockingError(
        "CANDIDATE_UNKNOWN",
        "no conversation with this candidate: Meta blocks only candidates who wrote to this number in the last 24 hours",
      );
    // Already blocked: Meta has it (its blocklist is the one we wrote to); asking again could only
    // fail on the 24-hour rule. Unblocking always asks Meta (a block may have been made elsewhere).
    if (block && conversation.blockedAt) {
      return { conversation: conversationJson(conversationView(conversation)), blocked: true, changed: false };
    }
    const target: BlockTarget = conversation.candidatePhone
      ? { phone: conversation.candidatePhone }
      : conversation.candidateUserId
        ? { userId: conversation.candidateUserId }
        : { phone: conversation.candidateKey };
    let failed: BlockFailure | undefined;
    try {
      const input = { phoneNumberId: client.phoneNumberId, token: this.deps.token(client), users: [target] };
      const res = block ? await blockUsers(graph, input) : await unblockUsers(graph, input);
      failed = res.failed[0];
    } catch (err) {
      if (err instanceof GraphApiError)
        throw refusal({ code: err.code, message: err.message, details: err.details }, err.fbtraceId);
      if (isGraphError(err)) throw new BlockingError("META_ERROR", `Meta did not answer: ${err.message}`);
      throw err;
    }
    if (failed) throw refusal(failed);

    const at = new Date();
    const view = await db
      .forTenant(request.clientId)
      .conversations.setBlocked(conversation._id, block ? { at, by: request.actor } : null);
    if (!view) throw new BlockingError("CANDIDATE_UNKNOWN", "the conversation was deleted meanwhile");
    const clientId = request.clientId.toHexString();
    events.toClient(clientId, EVENTS.conversationBlocked, {
      clientId,
      conversationId: conversation._id.toHexString(),
      blocked: block,
      at: at.toISOString(),
      actor: request.actor,
    });
    return { conversation: conversationJson(view), blocked: block, changed: true };
  }
}
