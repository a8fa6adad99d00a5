import type { Model, Types } from "mongoose";
import {
  IDENTITY_PROJECTION,
  bestMatch,
  identityClauses,
  type CandidateIds,
} from "../conversations/candidate-identity.js";
import type { ConversationDoc } from "../conversations/conversation.model.js";

export type CandidateConversation = Pick<
  ConversationDoc,
  "_id" | "candidateKey" | "candidatePhone" | "candidateUserId"
>;

/**
 * The candidate's conversation in one tenant, by any of their identities (the same choice as the
 * inbound worker's: candidate-identity.ts), or null. One find, served by the identity indexes.
 */
export async function findCandidateConversation(
  conversations: Model<ConversationDoc>,
  clientId: Types.ObjectId,
  ids: CandidateIds,
): Promise<CandidateConversation | null> {
  const or = identityClauses(ids);
  if (!or.length) return null;
  const docs = await conversations
    .find({ clientId, $or: or }, IDENTITY_PROJECTION)
    .limit(20)
    .lean<CandidateConversation[]>();
  return bestMatch(docs, ids) ?? null;
}
