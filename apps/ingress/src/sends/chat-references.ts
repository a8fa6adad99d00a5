import { Types } from "mongoose";
import { isObjectIdString, type Database } from "@linkojob/db";
import type { ChatFields, InteractiveRequest, ReactionRequest } from "@linkojob/outbound";
import { badRequest } from "../http/errors.js";

export interface ChatReferenceInput {
  candidatePhone: string | null;
  candidateUserId: string | null;
  interactive?: InteractiveRequest | undefined;
  /** Our message id or a wamid of the conversation with this candidate. */
  replyTo?: string | undefined;
  reaction?: ReactionRequest | undefined;
}

/**
 * Resolves what a send names in its conversation (the message it replies to, the message it reacts
 * to) to Meta's wamid, and checks that the message belongs to the conversation with this candidate
 * and was accepted by Meta. A reference that does not is a 400 naming the field; nothing is stored.
 * Two MongoDB requests, only for a send that names a message.
 */
export async function resolveChatFields(
  db: Database,
  clientId: Types.ObjectId,
  input: ChatReferenceInput,
): Promise<ChatFields> {
  const out: ChatFields = {};
  if (input.interactive) out.interactive = input.interactive;
  if (input.replyTo === undefined && input.reaction === undefined) return out;

  const who = [
    ...(input.candidatePhone ? [{ candidatePhone: input.candidatePhone }] : []),
    ...(input.candidateUserId ? [{ candidateUserId: input.candidateUserId }] : []),
  ];
  const conversation = who.length ? await db.conversations.findOne({ clientId, $or: who }, { _id: 1 }).lean() : null;

  const find = async (ref: string, field: string) => {
    if (!conversation) throw badRequest(`${field}: there is no conversation with this candidate yet`, { field });
    const byId = isObjectIdString(ref) ? [{ _id: new Types.ObjectId(ref) }] : [];
    const m = await db.messages
      .findOne(
        { clientId, conversationId: conversation._id, $or: [...byId, { wamid: ref }] },
        { _id: 1, wamid: 1, direction: 1 },
      )
      .lean();
    if (!m) throw badRequest(`${field}: no message ${ref} in the conversation with this candidate`, { field });
    if (!m.wamid)
      throw badRequest(`${field}: message ${ref} has not been accepted by WhatsApp yet (no wamid)`, { field });
    return { wamid: m.wamid, messageId: m._id.toHexString() };
  };

  if (input.replyTo !== undefined) {
    const m = await find(input.replyTo, "replyTo");
    out.replyToWamid = m.wamid;
    out.replyToMessageId = m.messageId;
  }
  if (input.reaction !== undefined) {
    const m = await find(input.reaction.messageId, "reaction.messageId");
    out.reaction = { wamid: m.wamid, messageId: m.messageId, emoji: input.reaction.emoji };
  }
  return out;
}
