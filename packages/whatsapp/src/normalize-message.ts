import type { z } from "zod";
import { eventTime, parseUnixSeconds } from "./event-time.js";
import type { NormalizedMessage, NormalizedStatus } from "./inbound-event.js";
import {
  describe,
  isObject,
  issuesText,
  optionalId,
  optionalText,
  own,
  readId,
  type JsonObject,
} from "./payload-read.js";
import { safeRaw, safeRawResult, safeText, SAFE_RAW_MAX_BYTES } from "./safe-raw.js";
import {
  graphErrorSchema,
  messageContentSchemaFor,
  messageContextSchema,
  referralSchema,
  type KnownMessageContent,
  type KnownMessageType,
  type WebhookError,
} from "./webhook-schema.js";

/** Longest preview text kept (Meta caps a text body at 4,096 characters). */
const MAX_PREVIEW = 8192;

export interface TimeOptions {
  receivedAt: Date;
  maxFutureSkewMs: number;
}

/** The short text shown for a message in lists, for every known type (and Meta's `unsupported`). */
export function previewText(message: KnownMessageContent): string | null {
  switch (message.type) {
    case "text":
      return message.content.body;
    case "image":
    case "video":
      return message.content.caption ?? `[${message.type}]`;
    case "document":
      return message.content.caption ?? message.content.filename ?? "[document]";
    case "audio":
      return message.content.voice ? "[voice message]" : "[audio]";
    case "sticker":
      return "[sticker]";
    case "location": {
      const { name, address, latitude, longitude } = message.content;
      return name ?? address ?? `[location ${latitude}, ${longitude}]`;
    }
    case "contacts":
      return `[contact] ${message.content.map((c) => c.name?.formatted_name ?? "").join(", ")}`.trim();
    case "interactive": {
      const reply = message.content;
      if (reply.type === "button_reply") return reply.button_reply.title;
      if (reply.type === "list_reply") return reply.list_reply.title;
      return reply.nfm_reply.body ?? "[form reply]";
    }
    case "button":
      return message.content.text ?? message.content.payload ?? null;
    case "reaction":
      return message.content.emoji ? `reacted ${message.content.emoji}` : "removed a reaction";
    case "order":
      return message.content.text ?? `[order: ${message.content.product_items?.length ?? 0} items]`;
    case "system":
      return message.content.body ?? "[system]";
    case "request_welcome":
      return "[opened the chat]";
    default:
      return "[unsupported message]";
  }
}

/** An optional part checked by `schema`: kept (through safeRaw) when it matches, else noted and left out. */
function optionalPart<T>(o: JsonObject, key: string, schema: z.ZodType, problems: string[]): T | undefined {
  const v = own(o, key);
  if (v === undefined) return undefined;
  const checked = schema.safeParse(v);
  if (!checked.success) {
    problems.push(`${key}: ${issuesText(checked.error)}`);
    return undefined;
  }
  const kept = safeRawResult(v);
  if (kept.truncated) {
    problems.push(`${key} is larger than ${SAFE_RAW_MAX_BYTES} bytes`);
    return undefined;
  }
  return kept.value as T;
}

/** `errors[]` of a message or status: each error that matches is kept, the others are noted. */
function readErrors(o: JsonObject, problems: string[]): WebhookError[] | undefined {
  const v = own(o, "errors");
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) {
    problems.push(`errors is ${describe(v)}, not an array`);
    return undefined;
  }
  const errors: WebhookError[] = [];
  v.forEach((e, i) => {
    const error = readWebhookError(e);
    if ("problem" in error) problems.push(`errors[${i}]: ${error.problem}`);
    else errors.push(error.error);
  });
  return errors.length ? errors : undefined;
}

/** Longest error object kept (Meta's are a few hundred bytes). */
const MAX_ERROR_BYTES = 8 * 1024;

/** One Graph error object (`{ code, title, message, error_data }`), through safeRaw, or why not. */
export function readWebhookError(e: unknown): { error: WebhookError } | { problem: string } {
  const checked = graphErrorSchema.safeParse(e);
  if (!checked.success) return { problem: issuesText(checked.error) };
  const kept = safeRawResult(e, { maxBytes: MAX_ERROR_BYTES });
  if (kept.truncated) return { problem: `error is larger than ${MAX_ERROR_BYTES} bytes` };
  return { error: kept.value as WebhookError };
}

function timeFields(raw: unknown, t: TimeOptions) {
  const time = eventTime(raw, t.receivedAt, t.maxFutureSkewMs);
  return {
    timestamp: time.at,
    ...(time.adjusted ? { timestampAdjusted: time.adjusted } : {}),
    ...(time.original !== undefined ? { originalTimestamp: time.original } : {}),
  };
}

export interface ReadMessage {
  message: NormalizedMessage;
  /** `from`, when it is a usable id. */
  waId?: string;
  /** `from_user_id`, when it is a usable id. */
  userId?: string;
}

/**
 * One element of `messages[]`. It needs an object with a usable `id`; everything else is tolerated:
 * an unknown (or prototype-named) type, or a known type whose part does not match, is stored as
 * `unsupported` with the whole message in `raw`; an odd optional part is left out, noted in
 * `problems`, and the whole message kept in `raw`; a bad timestamp is clamped.
 */
export function normalizeMessage(rawMessage: unknown, t: TimeOptions): ReadMessage | { problem: string } {
  if (!isObject(rawMessage)) return { problem: `message is ${describe(rawMessage)}, not an object` };
  const m = rawMessage;
  const id = readId(own(m, "id"), "id");
  if ("problem" in id) return id;

  const problems: string[] = [];
  const waId = optionalId(m, "from", problems);
  const userId = optionalId(m, "from_user_id", problems);
  const typeValue = own(m, "type");
  const originalType = typeof typeValue === "string" ? safeText(typeValue, 128) : "";
  if (typeof typeValue !== "string") problems.push(`type is ${describe(typeValue)}, not a string`);

  const context = optionalPart<NormalizedMessage["context"]>(m, "context", messageContextSchema, problems);
  const referral = optionalPart<NormalizedMessage["referral"]>(m, "referral", referralSchema, problems);
  const errors = readErrors(m, problems);
  const base = {
    wamid: id.id,
    originalType,
    ...timeFields(own(m, "timestamp"), t),
    ...(context ? { context } : {}),
    ...(referral ? { referral } : {}),
    ...(errors ? { errors } : {}),
  };

  let known: { type: KnownMessageType; content: unknown; text: string | null } | undefined;
  const schema =
    typeof typeValue === "string" && typeValue !== "unsupported" ? messageContentSchemaFor(typeValue) : undefined;
  if (schema) {
    const type = typeValue as KnownMessageType;
    const part = own(m, type);
    const checked = schema.safeParse(part);
    if (!checked.success) {
      problems.push(`${type}: ${issuesText(checked.error)}`);
    } else {
      const content = part === undefined ? { value: null, truncated: false } : safeRawResult(part);
      if (content.truncated) problems.push(`${type} is larger than ${SAFE_RAW_MAX_BYTES} bytes`);
      else {
        // The preview reads the payload itself (see webhook-schema.ts), which the schema of `type` accepted.
        const preview = previewText({ type, content: part } as KnownMessageContent);
        known = {
          type,
          content: type === "interactive" ? withFlowAnswers(content.value, problems) : content.value,
          text: preview === null ? null : safeText(preview, MAX_PREVIEW),
        };
      }
    }
  }

  const noted = problems.length ? { problems } : {};
  if (known) {
    return {
      message: { ...base, ...known, ...(problems.length ? { raw: safeRaw(m) } : {}), ...noted },
      ...ids(waId, userId),
    };
  }
  // Unknown (future or prototype-named) type, Meta's own `unsupported`, or a known type we could not read: keep it all.
  const unsupported = own(m, "unsupported");
  return {
    message: {
      ...base,
      type: "unsupported",
      content: unsupported !== undefined ? safeRaw(unsupported) : { type: originalType },
      text: previewText({ type: "unsupported", content: undefined }),
      raw: safeRaw(m),
      ...noted,
    },
    ...ids(waId, userId),
  };
}

const ids = (waId?: string, userId?: string) => ({ ...(waId ? { waId } : {}), ...(userId ? { userId } : {}) });

/**
 * One element of `statuses[]`. It needs an object with a usable `id` and a `status` string; odd
 * optional parts (pricing, conversation, errors, callback data) are left out and noted, with the
 * whole status kept in `raw`; a bad timestamp is clamped.
 */
export function normalizeStatus(rawStatus: unknown, t: TimeOptions): NormalizedStatus | { problem: string } {
  if (!isObject(rawStatus)) return { problem: `status is ${describe(rawStatus)}, not an object` };
  const s = rawStatus;
  const id = readId(own(s, "id"), "id");
  if ("problem" in id) return id;
  const status = readId(own(s, "status"), "status");
  if ("problem" in status) return status;
  if (status.id.length > 64) return { problem: "status is longer than 64 characters" };

  const problems: string[] = [];
  const recipientId = optionalId(s, "recipient_id", problems);
  const recipientUserId = optionalId(s, "recipient_user_id", problems);
  const bizOpaque = optionalText(s, "biz_opaque_callback_data", 1024, problems);
  const pricing = readPricing(own(s, "pricing"), problems);
  const conversation = readConversation(own(s, "conversation"), problems);
  const errors = readErrors(s, problems);
  return {
    wamid: id.id,
    status: status.id,
    ...timeFields(own(s, "timestamp"), t),
    recipientKey: recipientId ?? recipientUserId ?? null,
    ...(recipientId ? { recipientId } : {}),
    ...(recipientUserId ? { recipientUserId } : {}),
    ...(bizOpaque ? { bizOpaqueCallbackData: bizOpaque } : {}),
    ...(pricing ? { pricing } : {}),
    ...(conversation ? { conversation } : {}),
    ...(errors ? { errors } : {}),
    ...(problems.length ? { raw: safeRaw(s), problems } : {}),
  };
}

function readPricing(v: unknown, problems: string[]): NormalizedStatus["pricing"] {
  if (v === undefined) return undefined;
  if (!isObject(v)) {
    problems.push(`pricing is ${describe(v)}, not an object`);
    return undefined;
  }
  const billable = own(v, "billable");
  if (billable !== undefined && typeof billable !== "boolean")
    problems.push(`pricing.billable is ${describe(billable)}, not a boolean`);
  const pricingModel = optionalText(v, "pricing_model", 64, problems, "pricing.pricing_model");
  const type = optionalText(v, "type", 64, problems, "pricing.type");
  // Meta spells some categories with a hyphen and some with an underscore.
  const category = optionalText(v, "category", 64, problems, "pricing.category")?.replace(/-/g, "_");
  return {
    ...(typeof billable === "boolean" ? { billable } : {}),
    ...(pricingModel !== undefined ? { pricingModel } : {}),
    ...(type !== undefined ? { type } : {}),
    ...(category !== undefined ? { category } : {}),
  };
}

function readConversation(v: unknown, problems: string[]): NormalizedStatus["conversation"] {
  if (v === undefined) return undefined;
  if (!isObject(v)) {
    problems.push(`conversation is ${describe(v)}, not an object`);
    return undefined;
  }
  const id = optionalText(v, "id", 256, problems, "conversation.id");
  const expiration = own(v, "expiration_timestamp");
  // An expiry is in the future by nature: only a value that is not unix seconds is refused.
  const expiresSeconds = expiration === undefined ? undefined : parseUnixSeconds(expiration);
  if (expiresSeconds === null) problems.push("conversation.expiration_timestamp is not unix seconds");
  const origin = own(v, "origin");
  let originType: string | undefined;
  if (origin !== undefined) {
    if (isObject(origin)) originType = optionalText(origin, "type", 64, problems, "conversation.origin.type");
    else problems.push(`conversation.origin is ${describe(origin)}, not an object`);
  }
  return {
    ...(id !== undefined ? { id } : {}),
    ...(typeof expiresSeconds === "number" ? { expiresAt: new Date(expiresSeconds * 1000) } : {}),
    ...(originType !== undefined ? { originType } : {}),
  };
}

/**
 * A flow's completion (`interactive.nfm_reply`): Meta sends the form's answers as a JSON string
 * (`response_json`, with the `flow_token` among them). Kept as sent, and also as structured answers
 * under `flow`: `{ token, answers, flowId?, screen? }` (the flow and first screen when the token is
 * one the gateway made, see @linkojob/outbound's flowTokenFor). Answers that are not a JSON object
 * are noted and left as the string.
 */
function withFlowAnswers(content: unknown, problems: string[]): unknown {
  if (!content || typeof content !== "object") return content;
  const c = content as { type?: unknown; nfm_reply?: { response_json?: unknown; name?: unknown } };
  if (c.type !== "nfm_reply" || typeof c.nfm_reply?.response_json !== "string") return content;
  let parsed: unknown;
  try {
    parsed = JSON.parse(c.nfm_reply.response_json);
  } catch {
    problems.push("interactive.nfm_reply.response_json is not JSON");
    return content;
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    problems.push("interactive.nfm_reply.response_json is not a JSON object");
    return content;
  }
  const { flow_token: token, ...answers } = parsed as Record<string, unknown>;
  const ours = typeof token === "string" ? /^lj1\.([^.]+)\.([A-Z][A-Z0-9_]*)\.[A-Za-z0-9_-]+$/.exec(token) : null;
  return {
    ...c,
    flow: {
      ...(typeof token === "string" ? { token } : {}),
      ...(ours ? { flowId: ours[1], screen: ours[2] } : {}),
      ...(typeof c.nfm_reply.name === "string" ? { name: c.nfm_reply.name } : {}),
      answers: safeRaw(answers),
    },
  };
}
