import { Types } from "mongoose";
import type { NormalizedMessage, NormalizedStatus } from "@linkojob/whatsapp";
import { STATUS_RANK, type MessageDoc } from "./message.model.js";

export const inboundDedupeKey = (wamid: string) => `in:${wamid}`;

/** The document of an inbound message as stored (one shape for the batch insert and insertInbound). */
export function inboundMessageDoc(
  clientId: Types.ObjectId,
  conversationId: Types.ObjectId,
  m: NormalizedMessage,
  now: Date,
) {
  return {
    _id: new Types.ObjectId(),
    clientId,
    conversationId,
    dedupeKey: inboundDedupeKey(m.wamid),
    wamid: m.wamid,
    direction: "inbound" as const,
    type: m.type,
    originalType: m.originalType,
    content: m.content,
    text: m.text,
    timestamp: m.timestamp,
    receivedAt: now,
    ...(m.timestampAdjusted ? { timestampAdjusted: m.timestampAdjusted } : {}),
    ...(m.originalTimestamp !== undefined ? { originalTimestamp: m.originalTimestamp } : {}),
    ...(m.problems?.length ? { problems: m.problems } : {}),
    status: "received",
    statusRank: STATUS_RANK.received,
    ...(m.context ? { context: m.context } : {}),
    ...(m.referral ? { referral: m.referral } : {}),
    ...(m.errors ? { errors: m.errors } : {}),
    ...(m.raw !== undefined ? { raw: m.raw } : {}),
    createdAt: now,
    updatedAt: now,
  };
}

/** Where a status's first report time is kept: `statusAt.<name>`, the name reduced to [a-z0-9_] and never `__proto__`. */
export const statusField = (status: string) => {
  const name = status
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, "_")
    .slice(0, 40);
  return `statusAt.${name === "__proto__" ? "x__proto__" : name}`;
};

export interface StatusOutcome {
  /** `applied`: the message moved forward; `recorded`: stored but the message was already further on;
   * `pending`: the message is not stored yet, the status waits for it. */
  outcome: "applied" | "recorded" | "pending";
  message?: Pick<MessageDoc, "_id" | "conversationId" | "wamid" | "status" | "error" | "pricing" | "statusAt"> &
    Partial<Pick<MessageDoc, "campaignId">>;
}

/** What a `failed` status stores as the message's error. */
export function failureOf(s: NormalizedStatus): MessageDoc["error"] {
  const e = s.errors?.[0];
  return e
    ? { code: e.code, title: e.title, message: e.message, details: e.error_data?.details }
    : { title: "failed without an error from Meta" };
}
