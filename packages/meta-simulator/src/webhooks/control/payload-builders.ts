import type { z } from "zod";
import {
  businessCapabilityDelivery,
  echoMessage,
  graphError,
  mediaContent,
  messageEchoesDelivery,
  messagesDelivery,
  qualityUpdateDelivery,
  statusDelivery,
  statusObject,
  statusPricing,
  systemMessagesDelivery,
  textContent,
  userChangedNumberMessage,
  userChangedUserIdMessage,
  userIdOf,
  userPreferencesDelivery,
  type Business,
  type Candidate,
  type MediaKind,
  type MessageExtra,
} from "../payloads.js";
import { newUserId, userIdForPhone } from "../user-ids.js";
import type { CandidateReply } from "./candidate-reply.schema.js";
import { buildCandidateMessage } from "./candidate-message.js";
import {
  mediaTypes,
  type businessCapabilityBody,
  type echoBody,
  type identityChangeBody,
  type phoneQualityBody,
  type statusBody,
  type userPreferencesBody,
} from "./schemas.js";

/**
 * The Meta webhook payload each delivering endpoint of the control API sends, built from its parsed
 * body with the builders of payloads.ts. Pure: the routes parse, call one of these, and deliver.
 */

/** The display number a delivery names when the body gives none. */
const DEFAULT_DISPLAY_NUMBER = "212500000000";

/** The business number a body names (metadata of the delivery). */
export const businessOf = (b: {
  wabaId: string;
  phoneNumberId: string;
  displayPhoneNumber?: string | undefined;
}): Business => ({
  wabaId: b.wabaId,
  phoneNumberId: b.phoneNumberId,
  ...(b.displayPhoneNumber ? { displayPhoneNumber: b.displayPhoneNumber } : {}),
});

/** A candidate's message: a `messages` delivery (a `system` one without contacts, as Meta sends it). */
export function candidateReplyDelivery(body: CandidateReply) {
  const { candidate, message } = buildCandidateMessage(body, body.displayPhoneNumber ?? DEFAULT_DISPLAY_NUMBER);
  const payload =
    message.type === "system"
      ? systemMessagesDelivery(businessOf(body), [message])
      : messagesDelivery(businessOf(body), candidate, [message]);
  return { payload, wamid: message.id };
}

/** The candidate's ids after an identity change (what the control API answers besides the delivery). */
export interface IdentityAfterChange {
  waId?: string;
  userId: string;
  previousWaId?: string;
  previousUserId?: string;
}

/**
 * A change of number or of business-scoped user id: the 2026 `system` message, and the ids after it.
 * Null when a user-id change names no id to replace (neither `previousUserId` nor `waId`).
 */
export function identityChangeDelivery(body: z.output<typeof identityChangeBody>) {
  const extra: MessageExtra = {
    ...(body.id ? { id: body.id } : {}),
    ...(body.timestamp ? { timestamp: body.timestamp } : {}),
  };
  let message;
  let identity: IdentityAfterChange;
  if (body.change === "number") {
    const candidate = {
      waId: body.from,
      ...(body.userId ? { userId: body.userId } : {}),
      ...(body.name ? { name: body.name } : {}),
    };
    const previousUserId = userIdOf(candidate)!;
    // The regenerated id defaults to the simulator's id for the new number, so that the candidate's
    // later messages from it (whose id defaults the same way) carry it.
    const regenerated = userIdForPhone(body.newWaId);
    const next =
      body.newUserId === null
        ? null
        : (body.newUserId ?? (regenerated !== previousUserId ? regenerated : newUserId("MA")));
    message = userChangedNumberMessage(candidate, body.newWaId, { ...extra, newUserId: next });
    identity = {
      waId: body.newWaId,
      userId: next ?? previousUserId,
      previousWaId: body.from,
      ...(next ? { previousUserId } : {}),
    };
  } else {
    const previous = body.previousUserId ?? (body.waId ? userIdOf({ waId: body.waId }) : undefined);
    if (!previous) return null;
    const next = body.newUserId ?? newUserId(previous.slice(0, 2));
    message = userChangedUserIdMessage(previous, next, {
      ...(body.waId ? { waId: body.waId } : {}),
      ...(body.name ? { name: body.name } : {}),
      ...extra,
    });
    identity = { ...(body.waId ? { waId: body.waId } : {}), userId: next, previousUserId: previous };
  }
  return { payload: systemMessagesDelivery(businessOf(body), [message]), wamid: message.id, identity };
}

/** A candidate stops or resumes marketing messages: the `user_preferences` delivery and the ids it is about. */
export function userPreferencesChange(body: z.output<typeof userPreferencesBody>) {
  const candidate: Candidate = {
    ...(body.from ? { waId: body.from } : {}),
    ...(body.userId ? { userId: body.userId } : {}),
    ...(body.name ? { name: body.name } : {}),
  };
  const ids = [body.from, userIdOf(candidate) ?? undefined].filter((x): x is string => !!x);
  const payload = userPreferencesDelivery(businessOf(body), candidate, body.value, {
    ...(body.category ? { category: body.category } : {}),
    ...(body.detail ? { detail: body.detail } : {}),
    ...(body.timestamp !== undefined ? { timestamp: body.timestamp } : {}),
  });
  return { payload, ids, marketing: (body.category ?? "marketing_messages") === "marketing_messages" };
}

/** What the recruiter wrote in the WhatsApp Business app: an `smb_message_echoes` delivery. */
export function echoDelivery(body: z.output<typeof echoBody>) {
  const to: Candidate = {
    ...(body.to ? { waId: body.to } : {}),
    ...(body.toUserId ? { userId: body.toUserId } : {}),
  };
  const content =
    body.type === "text"
      ? textContent(body.text!)
      : mediaTypes.includes(body.type)
        ? mediaContent(body.type as MediaKind, {
            ...body.media,
            ...(body.text !== undefined && body.media?.caption === undefined ? { caption: body.text } : {}),
          })
        : body.payload;
  const echo = echoMessage(body.displayPhoneNumber ?? DEFAULT_DISPLAY_NUMBER, to, body.type, content, {
    ...(body.id ? { id: body.id } : {}),
    ...(body.timestamp ? { timestamp: body.timestamp } : {}),
  });
  return { payload: messageEchoesDelivery(businessOf(body), [echo]), wamid: echo.id };
}

/** A status of a message the business sent (`failed` gets a 131026 error when none is given). */
export function statusUpdateDelivery(body: z.output<typeof statusBody>) {
  const errors =
    body.errors?.map((e) => graphError(e.code, e.title, e.details, e.message)) ??
    (body.status === "failed" ? [graphError(131026, "Message undeliverable", "Message Undeliverable.")] : undefined);
  // recipient_user_id on every status (the simulator's id for the number when none is given).
  const recipient: Candidate = {
    ...(body.recipientId ? { waId: body.recipientId } : {}),
    ...(body.recipientUserId ? { userId: body.recipientUserId } : {}),
  };
  const status = statusObject(body.wamid, body.status, recipient, {
    ...(body.timestamp ? { timestamp: body.timestamp } : {}),
    ...(body.bizOpaqueCallbackData ? { bizOpaque: body.bizOpaqueCallbackData } : {}),
    ...(body.pricing ? { pricing: statusPricing(body.pricing.category, body.pricing) } : {}),
    ...(errors ? { errors } : {}),
  });
  return statusDelivery(businessOf(body), [status], [recipient]);
}

/** `business_capability_update`: the portfolio's messaging limit changed. */
export const businessCapabilityChange = (body: z.output<typeof businessCapabilityBody>) =>
  businessCapabilityDelivery(body.wabaId, {
    maxDailyConversationsPerBusiness: body.maxDailyConversationsPerBusiness,
    ...(body.maxPhoneNumbersPerBusiness ? { maxPhoneNumbersPerBusiness: body.maxPhoneNumbersPerBusiness } : {}),
  });

/** `phone_number_quality_update`, 2026 shape: `event` and the portfolio's limit. */
export const phoneQualityChange = (body: z.output<typeof phoneQualityBody>) =>
  qualityUpdateDelivery(body.wabaId, {
    displayPhoneNumber: body.displayPhoneNumber,
    event: body.event,
    ...(body.oldLimit ? { oldLimit: body.oldLimit } : {}),
    ...(body.currentLimit ? { currentLimit: body.currentLimit } : {}),
    ...(body.maxDailyConversationsPerBusiness !== undefined
      ? { maxDailyConversationsPerBusiness: body.maxDailyConversationsPerBusiness }
      : {}),
  });
