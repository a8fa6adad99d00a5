import { CENSOR, parseJsonDocument } from "@linkojob/config";
/**
 * What Bull Board may show of a job's data and return value: an allow-list. The structure (keys,
 * arrays, nesting; a JSON document held in a string, such as a queued webhook body, is parsed) stays
 * readable, but a value is shown only under a field known to hold an id, a status, a type or a time.
 * Everything else (text, names, numbers, e-mails, locations, file names, Flow answers, fields added
 * later) reads "[redacted]", so a new field is hidden until someone decides it may be shown.
 */
export const SHOWN_FIELDS = new Set([
  // ids and references (of the platform, of Meta's objects, of jobs)
  "id",
  "_id",
  "clientId",
  "messageId",
  "conversationId",
  "deliveryId",
  "jobId",
  "wabaId",
  "phoneNumberId",
  "phone_number_id",
  "mediaId",
  "templateId",
  "userId",
  "requestId",
  "batchId",
  // kinds, statuses and outcomes
  "object",
  "field",
  "messaging_product",
  "type",
  "status",
  "kind",
  "outcome",
  "category",
  "pricing_model",
  "billable",
  "code",
  "error_subcode",
  "reason",
  "event",
  "attempt",
  "attempts",
  "direction",
  "templateName",
  "templateLanguage",
  "language",
  "mime_type",
  "mimeType",
  // times
  "timestamp",
  "receivedAt",
  "createdAt",
  "updatedAt",
  "sentAt",
  "deliveredAt",
  "readAt",
  "failedAt",
  "expiration_timestamp",
  "scheduledAt",
  "expiresAt",
  "at",
]);

/** A bare id or time: digits, or a Redis stream id. */
const ID_LIKE = /^\d{1,20}(-\d{1,6})?$/;
/** Ids and statuses are short tokens; anything with spaces or a wamid (it encodes the number) is not shown. */
const TOKEN_LIKE = /^[A-Za-z0-9_.:+/-]{1,128}$/;

export function allowListView(value: unknown, depth = 0): unknown {
  if (depth > 32) return CENSOR;
  if (Array.isArray(value)) return value.map((v) => allowListView(v, depth + 1));
  if (typeof value === "string") {
    const doc = parseJsonDocument(value);
    return doc === undefined ? CENSOR : allowListView(doc, depth + 1);
  }
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = field(k, v, depth + 1);
    return out;
  }
  return value === null || value === undefined ? value : CENSOR;
}

function field(key: string, v: unknown, depth: number): unknown {
  if (v === null || v === undefined) return v;
  if (typeof v === "object") return allowListView(v, depth);
  if (typeof v === "string") {
    const doc = parseJsonDocument(v);
    if (doc !== undefined) return allowListView(doc, depth);
  }
  if (!SHOWN_FIELDS.has(key)) return CENSOR;
  if (typeof v === "boolean" || typeof v === "number") return v;
  if (typeof v === "string" && (ID_LIKE.test(v) || (TOKEN_LIKE.test(v) && !v.startsWith("wamid.")))) return v;
  return CENSOR;
}
