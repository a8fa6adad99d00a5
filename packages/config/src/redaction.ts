/**
 * What must never be shown to an operator: phone numbers, message text and tokens. One list, used by
 * every process's pino logger (`logRedaction`) and by Bull Board's job view (`redactDeep`).
 */

/** Keys whose values are phone numbers or WhatsApp user ids (Meta's and ours). */
export const PHONE_KEYS = [
  "wa_id",
  "from",
  "to",
  "recipient_id",
  "display_phone_number",
  "phone",
  "phone_number",
  "candidatePhone",
  "whatsappNumber",
  "input",
  "user_id",
  "userIds",
  "phones",
  "candidateUserId",
  "candidateKey",
  "recipient",
  "new_wa_id",
  "from_user_id",
  "username",
  "candidateUsername",
] as const;

/** Keys whose values are what people wrote (message text, captions, names, replies). */
export const TEXT_KEYS = [
  "body",
  "text",
  "caption",
  "message",
  "name",
  "title",
  "description",
  "emoji",
  "payload",
  "candidateName",
  "templateVars",
  "formatted_name",
  "first_name",
  "last_name",
  "address",
] as const;

/** Keys whose values are credentials. */
export const SECRET_KEYS = [
  "token",
  "accessToken",
  "access_token",
  "authorization",
  "cookie",
  "password",
  "secret",
  "appSecret",
  "client_secret",
  "input_token",
] as const;

/** What a hidden value reads, in logs and in Bull Board. */
export const CENSOR = "[redacted]";

/**
 * pino `redact` option shared by every main.ts: credentials anywhere in the first two levels, the
 * request's auth headers, and phone numbers and text at the places our log lines put them.
 */
export const logRedaction = {
  paths: [
    "req.headers.authorization",
    "req.headers.cookie",
    "*.auth.token", // socket.io handshakes
    ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`]),
    ...["candidatePhone", "phone", "wa_id", "from", "to", "recipient_id"].flatMap((k) => [k, `*.${k}`]),
    ...["text", "body", "caption", "candidateName"].flatMap((k) => [`*.${k}`]),
  ],
  censor: CENSOR,
};

const redactedKeys = new Set<string>([...PHONE_KEYS, ...TEXT_KEYS, ...SECRET_KEYS].map((k) => k.toLowerCase()));

/** A run of 8 to 15 digits (E.164 without or with +, spaces or dashes inside), as in "+212 612-345678". */
const PHONE_PATTERN = /\+?\d[\d\s-]{6,18}\d/g;
/** A Meta message id encodes the recipient's number (base64), so it is masked too. */
const WAMID_PATTERN = /wamid\.[A-Za-z0-9_=+/-]+/g;
const BEARER_PATTERN = /Bearer\s+[A-Za-z0-9._~+/=-]+/gi;
/**
 * A business-scoped user id (Meta's BSUID: country code, a dot, up to 128 alphanumerics, e.g.
 * `MA.13491208655302741918`) names one person as a phone number does. Six characters at least after
 * the dot, so that ordinary words around a full stop ("OK.Then") are left alone.
 */
const USER_ID_PATTERN = /\b[A-Z]{2}\.[A-Za-z0-9]{6,128}\b/g;

/** Masks phone-like numbers, wamids and bearer tokens inside free text (error messages, ids). */
export function redactText(text: string): string {
  return text
    .replace(BEARER_PATTERN, `Bearer ${CENSOR}`)
    .replace(WAMID_PATTERN, `wamid.${CENSOR}`)
    .replace(USER_ID_PATTERN, CENSOR)
    .replace(PHONE_PATTERN, (m) => (m.replace(/\D/g, "").length >= 8 ? CENSOR : m));
}

/**
 * A copy of `value` without phone numbers, text or tokens: values under the keys above become
 * "[redacted]", other strings are scanned with redactText (bare numeric ids kept), and a string holding JSON (a webhook body
 * as queued) is parsed and redacted as a structure. Keys, numbers, booleans and ids stay readable.
 */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (depth > 32) return CENSOR;
  if (typeof value === "string") {
    const doc = parseJsonDocument(value);
    if (doc !== undefined) return redactDeep(doc, depth + 1);
    // A bare number-like string under a key not listed above is an id or a timestamp (phone_number_id,
    // a stream id, Meta's unix time), not a person: kept, so that an operator can still correlate.
    if (/^\d{1,20}(-\d{1,6})?$/.test(value)) return value;
    return redactText(value);
  }
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (!redactedKeys.has(k.toLowerCase()) || v === null || v === undefined) out[k] = redactDeep(v, depth + 1);
      // A JSON document under such a key (the queued webhook `body`) is redacted as a structure.
      else out[k] = typeof v === "string" && parseJsonDocument(v) !== undefined ? redactDeep(v, depth + 1) : CENSOR;
    }
    return out;
  }
  return value;
}

/** The parsed value of a string holding a JSON object or array; undefined for anything else. */
export function parseJsonDocument(s: string): unknown {
  const t = s.trimStart();
  if (!(t.startsWith("{") || t.startsWith("["))) return undefined;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Keys whose string values a log line shows as they are, at any depth: ids, codes and times an
 * operator correlates with. Every other string is scanned by redactText (phone-like runs of digits,
 * wamids and bearer tokens masked), and values under the phone, text and secret keys are censored:
 * a number-like string is shown only where it is known to be an id, never because its key is new.
 */
export const LOG_ID_KEYS = [
  "reqId",
  "requestId",
  "jobId",
  "deliveryId",
  "streamId",
  "clientId",
  "conversationId",
  "messageId",
  "phoneNumberId",
  "phone_number_id",
  "wabaId",
  "waba_id",
  "mediaId",
  "fbtraceId",
  "fbtrace_id",
  "code",
  "statusCode",
  "status",
  "queue",
  "type",
  "time",
  "timestamp",
  "receivedAt",
  "at",
  "method",
  "hostname",
  "pid",
] as const;

/** Fields of an error never logged: a duplicate-key error's `keyValue` is the duplicated value (a phone). */
const DROPPED_ERROR_KEYS = new Set(["keyValue", "errorResponse", "errInfo", "command", "result", "writeErrors"]);
const logIdKeys = new Set<string>(LOG_ID_KEYS);

/** The readable fields of an error (type, message, code, stack, its own fields and cause), not yet redacted. */
function errorFields(err: Error, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.constructor?.name ?? err.name, message: err.message };
  for (const [k, v] of Object.entries(err)) if (!DROPPED_ERROR_KEYS.has(k)) out[k] = v;
  if (err.stack) out.stack = err.stack;
  if (err.cause !== undefined && depth < 4) out.cause = err.cause;
  return out;
}

/**
 * A log line's fields, redacted at any depth (pino's `formatters.log`): errors serialised by their
 * readable fields (never `keyValue`), values under the phone, text and secret keys censored, strings
 * under the id keys (LOG_ID_KEYS) kept, every other string scanned by redactText. Dates, numbers and
 * booleans stay.
 */
export function redactLog(value: unknown, key?: string, depth = 0): unknown {
  if (depth > 12) return CENSOR;
  if (value === null || value === undefined || typeof value === "number" || typeof value === "boolean") return value;
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") {
    // An id key keeps its value, but a wamid given as one (a `messageId` of Meta's) still encodes a number.
    if (key && logIdKeys.has(key)) return value.replace(WAMID_PATTERN, `wamid.${CENSOR}`);
    const doc = parseJsonDocument(value);
    return doc !== undefined ? redactLog(doc, key, depth + 1) : redactText(value);
  }
  if (typeof value !== "object") return undefined;
  if (value instanceof Date) return value;
  if (value instanceof Error) return redactLog(errorFields(value, depth), key, depth + 1);
  if (Array.isArray(value)) return value.map((v) => redactLog(v, key, depth + 1));
  const proto = Object.getPrototypeOf(value) as unknown;
  // The HTTP request and reply are left to pino's serializers (method, url, addresses, status).
  if (depth === 1 && (key === "req" || key === "res")) return value;
  // Other instances (an ObjectId, a document) as JSON would print them; without toJSON, their own fields.
  const toJSON = (value as { toJSON?: () => unknown }).toJSON;
  if (proto !== Object.prototype && proto !== null && typeof toJSON === "function")
    return redactLog(toJSON.call(value), key, depth + 1);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === "keyValue") continue;
    if (redactedKeys.has(k.toLowerCase()) && v !== null && v !== undefined)
      out[k] = typeof v === "string" && parseJsonDocument(v) !== undefined ? redactLog(v, k, depth + 1) : CENSOR;
    else out[k] = redactLog(v, k, depth + 1);
  }
  return out;
}

/**
 * Every process's pino options for what it must not print: the deny-list paths of logRedaction,
 * redactLog over each line's fields (errors included) at any depth, and redactText over its message.
 */
export const logOptions = {
  redact: logRedaction,
  formatters: { log: (fields: Record<string, unknown>) => redactLog(fields) as Record<string, unknown> },
  hooks: {
    /** The message strings too (`log.info(fields, msg)`): phone-like numbers, wamids and tokens masked. */
    logMethod(this: unknown, args: unknown[], method: (...args: unknown[]) => void): void {
      method.apply(
        this,
        args.map((a) => (typeof a === "string" ? redactText(a) : a)),
      );
    },
  },
};
