import { Types } from "mongoose";
import type { Logger } from "pino";
import { STATUS_RANK, conversationView, messageSortKey, type Database } from "@linkojob/db";
import {
  CONVERSATION_CHANGES,
  EVENTS,
  conversationUpdated,
  messageSent,
  type DashboardEvents,
  conversationJson,
  messageJson,
} from "@linkojob/events";
import type { InboundEvent } from "@linkojob/whatsapp";

export type EchoEvent = Extract<InboundEvent, { kind: "echo" }>;

export interface EchoDeps {
  db: Database;
  events: DashboardEvents;
  logger: Logger;
}

/** Dedupe key of an app echo: one message per wamid, however often Meta delivers it. */
export const echoDedupeKey = (wamid: string) => `out:echo:${wamid}`;

/**
 * Stores a message the recruiter typed in the WhatsApp Business app on a coexistence number
 * (`smb_message_echoes`) as an outbound message of the candidate's conversation: `source: "app_echo"`,
 * status `sent`, free (Meta bills nothing for it here), found by the recipient's phone, else user id
 * (the conversation is created when there is none yet). Deduplicated by wamid: a redelivered echo is
 * stored once and counted once. Then the conversation's count and summary, `message:sent` and
 * `conversation:updated`. Idempotent; a database failure throws (the delivery is retried).
 */
export async function storeEcho(
  deps: EchoDeps,
  clientId: Types.ObjectId,
  event: EchoEvent,
  receivedAt: Date,
): Promise<"stored" | "duplicate"> {
  const tenant = deps.db.forTenant(clientId);
  // Found by either id the echo names, as the send API and the inbound side find a person (created
  // when there is none).
  const opened = await tenant.conversations.openForSend({
    candidatePhone: event.waId ?? null,
    candidateUserId: event.userId ?? null,
    candidateName: null,
    applicationId: null,
    jobTitle: null,
  });
  const conversation = { _id: opened._id, doc: opened.doc };
  const m = event.message;
  const now = new Date();
  const doc = {
    _id: new Types.ObjectId(),
    clientId,
    conversationId: conversation._id,
    dedupeKey: echoDedupeKey(m.wamid),
    wamid: m.wamid,
    direction: "outbound" as const,
    source: "app_echo",
    type: m.type,
    kind: m.type,
    content: m.content ?? null,
    text: m.text ?? null,
    timestamp: m.timestamp,
    receivedAt,
    status: "sent",
    statusRank: STATUS_RANK.sent,
    statusAt: { sent: m.timestamp },
    ...(m.context ? { context: m.context } : {}),
    ...(m.raw ? { raw: m.raw } : {}),
    ...(m.problems ? { problems: m.problems } : {}),
    cost: 0,
    costExpected: 0,
    costCategory: "service",
    costSource: "estimate",
    createdAt: now,
    updatedAt: now,
  };
  if (!(await tenant.outbound.insertEcho(doc))) return "duplicate";
  const { latest, summary } = await tenant.conversations.countSent(conversation._id, {
    at: m.timestamp,
    sortKey: messageSortKey(m.timestamp, echoDedupeKey(m.wamid)),
    preview: m.text,
    type: m.type,
  });
  const id = clientId.toHexString();
  deps.events.toClient(id, EVENTS.messageSent, messageSent(messageJson(doc), m.wamid));
  const before = conversation.doc;
  const after = {
    ...before,
    messageCount: (before.messageCount ?? 0) + 1,
    lastMessageAt:
      before.lastMessageAt && new Date(before.lastMessageAt) > m.timestamp ? before.lastMessageAt : m.timestamp,
    ...(latest ? summary : {}),
    updatedAt: now,
  };
  deps.events.toClient(
    id,
    EVENTS.conversationUpdated,
    conversationUpdated(conversationJson(conversationView(after)), CONVERSATION_CHANGES.outboundMessage),
  );
  deps.logger.debug({ clientId: id, wamid: m.wamid }, "app echo stored as an outbound message");
  return "stored";
}
