import type { IdentityChange } from "./inbound-event.js";
import { isObject, own, readId } from "./payload-read.js";

const idIn = (o: Record<string, unknown>, key: string): string | undefined => {
  const r = readId(own(o, key), key);
  return "id" in r ? r.id : undefined;
};

/**
 * The identity change a `system` message announces, if any:
 * - `user_changed_number`: `system.wa_id` is the new number (`from` the old one); `system.user_id`,
 *   when it differs from `previous_user_id` (else `from_user_id`), the regenerated user id;
 * - `customer_changed_number` (older payloads): `new_wa_id` is the new number; without it, `wa_id`
 *   when it differs from `from` (Meta documents `wa_id` as the new number from webhook v12 on);
 * - `user_changed_user_id`: `system.user_id` (or `new_user_id`) replaces `previous_user_id`
 *   (else `from_user_id`, the old id).
 * `waId` / `userId` are the message's own `from` / `from_user_id`.
 */
export function identityChangeOf(rawMessage: unknown, waId?: string, userId?: string): IdentityChange | undefined {
  if (!isObject(rawMessage)) return undefined;
  const system = own(rawMessage, "system");
  if (!isObject(system)) return undefined;
  const type = own(system, "type");
  if (type === "user_changed_number" || type === "customer_changed_number") {
    const fromWa = idIn(system, "wa_id");
    const to = idIn(system, "new_wa_id") ?? (type === "user_changed_number" || fromWa !== waId ? fromWa : undefined);
    if (!to || to === waId) return undefined;
    // The user id is regenerated with the number (Meta: user_changed_number carries user_id and
    // previous_user_id): the conversation follows to the new one, so that the old id, like the old
    // number, no longer names this person.
    const newUserId = idIn(system, "user_id");
    const previousUserId = idIn(system, "previous_user_id") ?? userId;
    const userIdMove =
      newUserId && newUserId !== previousUserId
        ? { userId: { to: newUserId, ...(previousUserId ? { from: previousUserId } : {}) } }
        : {};
    return { kind: "phone", systemType: type, to, ...(waId ? { from: waId } : {}), ...userIdMove };
  }
  if (type === "user_changed_user_id") {
    const to = idIn(system, "user_id") ?? idIn(system, "new_user_id");
    const from = idIn(system, "previous_user_id") ?? userId;
    if (!to || to === from) return undefined;
    return { kind: "user_id", systemType: type, to, ...(from ? { from } : {}) };
  }
  return undefined;
}

/**
 * The phone number a candidate shared in answer to the business's contact-information request
 * (interactive `request_contact_info`): a `contacts` message whose first contact has
 * `origin: "contact_request"` (a contact shared on the user's own initiative has `origin: "other"`
 * and proves nothing about the sender), read from its phone's `wa_id`, else the phone's digits. An
 * identity change of kind `phone` (systemType `contact_request`): the conversation of a username-only
 * candidate learns their number.
 */
export function sharedPhoneOf(rawMessage: unknown): IdentityChange | undefined {
  if (!isObject(rawMessage)) return undefined;
  const contacts = own(rawMessage, "contacts");
  const first: unknown = Array.isArray(contacts) ? contacts[0] : undefined;
  if (!isObject(first) || own(first, "origin") !== "contact_request") return undefined;
  const phones = own(first, "phones");
  const phone: unknown = Array.isArray(phones) ? phones[0] : undefined;
  if (!isObject(phone)) return undefined;
  const waId = idIn(phone, "wa_id");
  const digits = typeof own(phone, "phone") === "string" ? String(own(phone, "phone")).replace(/\D/g, "") : "";
  const to = waId && /^\d{6,20}$/.test(waId) ? waId : /^\d{6,20}$/.test(digits) ? digits : undefined;
  return to ? { kind: "phone", systemType: "contact_request", to } : undefined;
}
