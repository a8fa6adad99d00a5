import type { z } from "zod";
import {
  accountFieldSchemas,
  contactSchema,
  inboundMessageSchema,
  messageContentSchemas,
  messagesValueSchema,
  statusSchema,
  webhookDeliverySchema,
  type KnownMessageType,
  type WebhookError,
} from "./webhook-schema";

/** An inbound message reduced to what the platform stores, whatever its type. */
export interface NormalizedMessage {
  wamid: string;
  /** A known type, or `unsupported` for types this code does not know or could not read. */
  type: KnownMessageType;
  /** Meta's `type` as received (differs from `type` when a new type was stored as unsupported). */
  originalType: string;
  timestamp: Date;
  /** Type-specific content as Meta sent it (media ids, location, contacts, replies…). */
  content: unknown;
  /** A short human-readable text for lists and previews. */
  text: string | null;
  context?: z.infer<typeof inboundMessageSchema>["context"];
  referral?: z.infer<typeof inboundMessageSchema>["referral"];
  errors?: WebhookError[];
  /** The whole message as received, kept for unsupported types so nothing is lost. */
  raw?: unknown;
}

export interface NormalizedStatus {
  wamid: string;
  status: string;
  timestamp: Date;
  recipientKey: string | null;
  bizOpaqueCallbackData?: string;
  pricing?: { billable?: boolean; pricingModel?: string; type?: string; category?: string };
  conversation?: { id?: string; expiresAt?: Date; originType?: string };
  errors?: WebhookError[];
}

interface Route {
  wabaId: string;
  phoneNumberId: string;
  displayPhoneNumber?: string;
}

export type InboundEvent =
  | (Route & {
      kind: "message";
      /** The candidate: `wa_id`, or the business-scoped user id when `wa_id` is absent. */
      candidateKey: string;
      waId?: string;
      userId?: string;
      profileName?: string;
      message: NormalizedMessage;
    })
  | (Route & { kind: "status"; status: NormalizedStatus })
  | (Route & { kind: "value_errors"; errors: WebhookError[] })
  | {
      kind: "account";
      wabaId: string;
      field: string;
      time?: Date;
      /** Parsed with the field's schema when we know the field, else as received. */
      value: unknown;
      valid: boolean;
      problem?: string;
    }
  | { kind: "malformed"; wabaId?: string; phoneNumberId?: string; field: string; reason: string; raw: unknown };

export class InvalidDeliveryError extends Error {
  readonly code = "WA_ERR_INVALID_DELIVERY";
  constructor(message: string) {
    super(message);
    this.name = "InvalidDeliveryError";
  }
}

const fromUnix = (seconds: number) => new Date(seconds * 1000);

function issuesText(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
    .join("; ");
}

/** The short text shown for a message in lists, for every type. */
export function previewText(type: string, content: any): string | null {
  switch (type) {
    case "text":
      return content?.body ?? null;
    case "image":
    case "video":
      return content?.caption ?? `[${type}]`;
    case "document":
      return content?.caption ?? content?.filename ?? "[document]";
    case "audio":
      return content?.voice ? "[voice message]" : "[audio]";
    case "sticker":
      return "[sticker]";
    case "location":
      return content?.name ?? content?.address ?? `[location ${content?.latitude}, ${content?.longitude}]`;
    case "contacts":
      return Array.isArray(content) ? `[contact] ${content.map((c: any) => c?.name?.formatted_name ?? "").join(", ")}`.trim() : "[contact]";
    case "interactive":
      return content?.button_reply?.title ?? content?.list_reply?.title ?? content?.nfm_reply?.body ?? "[form reply]";
    case "button":
      return content?.text ?? content?.payload ?? null;
    case "reaction":
      return content?.emoji ? `reacted ${content.emoji}` : "removed a reaction";
    case "order":
      return content?.text ?? `[order: ${content?.product_items?.length ?? 0} items]`;
    case "system":
      return content?.body ?? "[system]";
    case "request_welcome":
      return "[opened the chat]";
    default:
      return "[unsupported message]";
  }
}

function normalizeMessage(rawMessage: unknown): NormalizedMessage | { problem: string } {
  const parsed = inboundMessageSchema.safeParse(rawMessage);
  if (!parsed.success) return { problem: issuesText(parsed.error) };
  const m = parsed.data;
  const base = {
    wamid: m.id,
    originalType: m.type,
    timestamp: fromUnix(m.timestamp),
    ...(m.context ? { context: m.context } : {}),
    ...(m.referral ? { referral: m.referral } : {}),
    ...(m.errors?.length ? { errors: m.errors } : {}),
  };
  const schema = (messageContentSchemas as Record<string, z.ZodType | undefined>)[m.type];
  if (schema && m.type !== "unsupported") {
    const content = schema.safeParse((m as Record<string, unknown>)[m.type]);
    if (content.success) {
      const type = m.type as KnownMessageType;
      return { ...base, type, content: content.data ?? null, text: previewText(type, content.data) };
    }
  }
  // Unknown (future) type, Meta's own `unsupported`, or a known type we could not read: keep it all.
  const unsupported = (m as { unsupported?: unknown }).unsupported;
  return {
    ...base,
    type: "unsupported",
    content: unsupported ?? { type: m.type },
    text: previewText("unsupported", null),
    raw: rawMessage,
  };
}

function normalizeStatus(rawStatus: unknown): NormalizedStatus | { problem: string } {
  const parsed = statusSchema.safeParse(rawStatus);
  if (!parsed.success) return { problem: issuesText(parsed.error) };
  const s = parsed.data;
  return {
    wamid: s.id,
    status: s.status,
    timestamp: fromUnix(s.timestamp),
    recipientKey: s.recipient_id ?? s.recipient_user_id ?? null,
    ...(s.biz_opaque_callback_data ? { bizOpaqueCallbackData: s.biz_opaque_callback_data } : {}),
    ...(s.pricing
      ? {
          pricing: {
            billable: s.pricing.billable,
            pricingModel: s.pricing.pricing_model,
            type: s.pricing.type,
            // Meta spells some categories with a hyphen and some with an underscore.
            category: s.pricing.category?.replace(/-/g, "_"),
          },
        }
      : {}),
    ...(s.conversation
      ? {
          conversation: {
            id: s.conversation.id,
            expiresAt: s.conversation.expiration_timestamp ? fromUnix(s.conversation.expiration_timestamp) : undefined,
            originType: s.conversation.origin?.type,
          },
        }
      : {}),
    ...(s.errors?.length ? { errors: s.errors } : {}),
  };
}

type Contact = z.infer<typeof contactSchema>;

function findContact(contacts: Contact[], waId?: string, userId?: string): Contact | undefined {
  return (
    contacts.find((c) => (waId && c.wa_id === waId) || (userId && c.user_id === userId)) ??
    (contacts.length === 1 ? contacts[0] : undefined)
  );
}

/**
 * Turns one webhook delivery into the flat list of everything it carries: every entry, every change,
 * every message, status and error (peers read only the first of each and lose the rest). Throws
 * InvalidDeliveryError only when the envelope itself is not a WhatsApp delivery; an odd element
 * becomes a `malformed` event and never hides its neighbours.
 */
export function normalizeDelivery(payload: unknown): InboundEvent[] {
  const delivery = webhookDeliverySchema.safeParse(payload);
  if (!delivery.success) throw new InvalidDeliveryError(issuesText(delivery.error));
  const events: InboundEvent[] = [];
  for (const entry of delivery.data.entry) {
    const wabaId = entry.id;
    for (const change of entry.changes) {
      if (change.field !== "messages") {
        const schema = (accountFieldSchemas as Record<string, z.ZodType | undefined>)[change.field];
        const parsed = schema?.safeParse(change.value);
        events.push({
          kind: "account",
          wabaId,
          field: change.field,
          ...(entry.time !== undefined ? { time: fromUnix(entry.time) } : {}),
          value: parsed?.success ? parsed.data : change.value,
          valid: parsed ? parsed.success : true,
          ...(parsed && !parsed.success ? { problem: issuesText(parsed.error) } : {}),
        });
        continue;
      }
      const value = messagesValueSchema.safeParse(change.value);
      if (!value.success) {
        events.push({ kind: "malformed", wabaId, field: change.field, reason: issuesText(value.error), raw: change.value });
        continue;
      }
      const v = value.data;
      const route: Route = {
        wabaId,
        phoneNumberId: v.metadata.phone_number_id,
        ...(v.metadata.display_phone_number ? { displayPhoneNumber: v.metadata.display_phone_number } : {}),
      };
      const contacts = v.contacts ?? [];
      for (const rawMessage of v.messages ?? []) {
        const message = normalizeMessage(rawMessage);
        if ("problem" in message) {
          events.push({ kind: "malformed", ...route, field: "messages", reason: message.problem, raw: rawMessage });
          continue;
        }
        const raw = rawMessage as { from?: string; from_user_id?: string };
        const waId = raw.from || undefined;
        const userId = raw.from_user_id || undefined;
        const contact = findContact(contacts, waId, userId);
        const candidateKey = waId ?? contact?.wa_id ?? userId ?? contact?.user_id;
        if (!candidateKey) {
          events.push({ kind: "malformed", ...route, field: "messages", reason: "message has neither from nor from_user_id", raw: rawMessage });
          continue;
        }
        events.push({
          kind: "message",
          ...route,
          candidateKey,
          ...(waId ?? contact?.wa_id ? { waId: waId ?? contact?.wa_id } : {}),
          ...(userId ?? contact?.user_id ? { userId: userId ?? contact?.user_id } : {}),
          ...(contact?.profile?.name ? { profileName: contact.profile.name } : {}),
          message,
        });
      }
      for (const rawStatus of v.statuses ?? []) {
        const status = normalizeStatus(rawStatus);
        if ("problem" in status) {
          events.push({ kind: "malformed", ...route, field: "statuses", reason: status.problem, raw: rawStatus });
          continue;
        }
        events.push({ kind: "status", ...route, status });
      }
      if (v.errors?.length) events.push({ kind: "value_errors", ...route, errors: v.errors });
    }
  }
  return events;
}
