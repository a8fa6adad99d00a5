import { randomBytes } from "node:crypto";

/** Builders of webhook payloads shaped exactly like Meta's (shared/reference/meta-cloud-api.md §1). */

export const newWamid = () => `wamid.${randomBytes(24).toString("base64url")}`;
export const unixNow = () => String(Math.floor(Date.now() / 1000));

export interface Business {
  wabaId: string;
  phoneNumberId: string;
  displayPhoneNumber?: string;
}

export interface Candidate {
  waId?: string;
  userId?: string;
  name?: string;
}

/** One `messages`-field change value. */
export function messagesValue(
  business: Business,
  parts: { contacts?: unknown[]; messages?: unknown[]; statuses?: unknown[]; errors?: unknown[] },
) {
  return {
    messaging_product: "whatsapp",
    metadata: {
      display_phone_number: business.displayPhoneNumber ?? "212500000000",
      phone_number_id: business.phoneNumberId,
    },
    ...parts,
  };
}

/** A whole delivery: one or more entries, each with one or more changes. */
export function delivery(entries: Array<{ wabaId: string; changes: Array<{ field: string; value: unknown }>; time?: number }>) {
  return {
    object: "whatsapp_business_account",
    entry: entries.map((e) => ({ id: e.wabaId, ...(e.time !== undefined ? { time: e.time } : {}), changes: e.changes })),
  };
}

export function contactOf(c: Candidate) {
  return { profile: { name: c.name ?? "Candidate" }, ...(c.waId ? { wa_id: c.waId } : {}), ...(c.userId ? { user_id: c.userId } : {}) };
}

/** An inbound message object of any type: `content` is what goes under the type's key. */
export function inboundMessage(
  c: Candidate,
  type: string,
  content?: unknown,
  extra: { id?: string; timestamp?: string; context?: unknown; referral?: unknown; errors?: unknown[] } = {},
) {
  return {
    ...(c.waId ? { from: c.waId } : {}),
    ...(c.userId ? { from_user_id: c.userId } : {}),
    id: extra.id ?? newWamid(),
    timestamp: extra.timestamp ?? unixNow(),
    type,
    ...(content !== undefined ? { [type]: content } : {}),
    ...(extra.context ? { context: extra.context } : {}),
    ...(extra.referral ? { referral: extra.referral } : {}),
    ...(extra.errors ? { errors: extra.errors } : {}),
  };
}

/** A delivery with one text message from a candidate. */
export function textMessageDelivery(business: Business, c: Candidate, body: string, extra: { id?: string; timestamp?: string } = {}) {
  return delivery([
    {
      wabaId: business.wabaId,
      changes: [{ field: "messages", value: messagesValue(business, { contacts: [contactOf(c)], messages: [inboundMessage(c, "text", { body }, extra)] }) }],
    },
  ]);
}

/** A status object for a message the business sent. */
export function statusObject(
  wamid: string,
  status: string,
  recipientWaId: string,
  extra: { timestamp?: string; bizOpaque?: string; pricing?: unknown; errors?: unknown[]; conversation?: unknown } = {},
) {
  return {
    id: wamid,
    status,
    timestamp: extra.timestamp ?? unixNow(),
    recipient_id: recipientWaId,
    ...(extra.bizOpaque ? { biz_opaque_callback_data: extra.bizOpaque } : {}),
    ...(extra.pricing ? { pricing: extra.pricing } : {}),
    ...(extra.conversation ? { conversation: extra.conversation } : {}),
    ...(extra.errors ? { errors: extra.errors } : {}),
  };
}

export function statusDelivery(business: Business, statuses: unknown[]) {
  return delivery([{ wabaId: business.wabaId, changes: [{ field: "messages", value: messagesValue(business, { statuses }) }] }]);
}
