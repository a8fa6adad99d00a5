import type { ConversationDoc } from "./conversation.model.js";
import { windowOpen } from "./window.js";

/** Orders messages for "the latest one": Meta timestamp, then a stable key to break ties. */
export const messageSortKey = (at: Date, key: string) => `${String(at.getTime()).padStart(15, "0")}|${key}`;

export type ConversationView = Omit<
  ConversationDoc,
  | "lastMessageSortKey"
  | "candidateNameAt"
  | "candidatePhoneAt"
  | "candidateUserIdAt"
  | "candidateUsernameAt"
  | "candidateParentUserIdAt"
>;

/** A stored conversation as the API shows it. Summary fields are recomputed where they depend on the clock. */
export function conversationView(doc: ConversationDoc, now = Date.now()): ConversationView {
  const {
    lastMessageSortKey: _k,
    candidateNameAt: _n,
    candidatePhoneAt: _p,
    candidateUserIdAt: _u,
    candidateUsernameAt: _un,
    candidateParentUserIdAt: _pu,
    ...rest
  } = doc;
  return { ...rest, inWindow: windowOpen(doc, now) };
}
