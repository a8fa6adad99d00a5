import { randomBytes, randomInt } from "node:crypto";
import { userIdForPhone } from "./user-ids.js";

/**
 * Builders of webhook payloads shaped exactly like Meta's (`{ object, entry: [{ id, changes }] }`).
 *
 * Three levels: *content* builders (what goes under a message's `<type>` key), *message* builders
 * (one element of `value.messages[]` / `value.statuses[]`) and *delivery* builders (the whole POST
 * body: `object`, `entry[]`, `changes[]`). Every builder returns plain JSON-ready objects, so a test
 * can tweak one before sending it.
 */

export const newWamid = () => `wamid.${randomBytes(24).toString("base64url")}`;
export const unixNow = () => String(Math.floor(Date.now() / 1000));
/** A media id as webhooks carry them (a numeric string, valid 7 days at Meta). */
export const newMediaId = () => `${randomInt(100_000_000, 999_999_999)}${randomInt(1_000_000, 9_999_999)}`;
/** Meta gives the file's SHA-256 base64-encoded in webhooks. */
const fakeSha256 = () => randomBytes(32).toString("base64");

export interface Business {
  wabaId: string;
  phoneNumberId: string;
  displayPhoneNumber?: string;
}

/**
 * A WhatsApp user writing to the business. Since 2026 every message carries the user's
 * business-scoped user id (`from_user_id`, `contacts[].user_id`); a user with a username may hide the
 * phone number (`from` and `wa_id` absent).
 */
export interface Candidate {
  /** The phone number (wa_id). Absent for a username-only candidate who hides it. */
  waId?: string;
  /** Business-scoped user id. Default: the simulator's id for `waId` (userIdForPhone). `null`: a pre-2026 payload without user ids. */
  userId?: string | null;
  name?: string;
  /** The username of a candidate who adopted one (`contacts[].profile.username`). */
  username?: string;
  /**
   * The parent business-scoped user id: one id for the person across every business of a
   * portfolio (`contacts[].parent_user_id`, `from_parent_user_id`, `recipient_parent_user_id`).
   * Meta sends it only to businesses whose portfolio has it turned on; absent by default.
   */
  parentUserId?: string;
}

/** The user id a candidate's messages carry: the given one, else the simulator's id for the phone. */
export function userIdOf(c: Candidate): string | undefined {
  if (c.userId === null) return undefined;
  return c.userId ?? (c.waId ? userIdForPhone(c.waId) : undefined);
}

/** Unix seconds as Meta writes them in message and status objects (a string). */
export type UnixSeconds = string;

// ---------------------------------------------------------------------------------------------
// Envelope
// ---------------------------------------------------------------------------------------------

/** One `messages`-field change value. */
export function messagesValue(
  business: Business,
  parts: {
    contacts?: unknown[];
    messages?: unknown[];
    statuses?: unknown[];
    errors?: unknown[];
    message_echoes?: unknown[];
    calls?: unknown[];
    history?: unknown[];
  },
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
export function delivery(
  entries: Array<{ wabaId: string; changes: Array<{ field: string; value: unknown }>; time?: number }>,
) {
  return {
    object: "whatsapp_business_account",
    entry: entries.map((e) => ({
      id: e.wabaId,
      ...(e.time !== undefined ? { time: e.time } : {}),
      changes: e.changes,
    })),
  };
}

/** `contacts[]` element: profile (with the username when there is one), wa_id when shown, user_id. */
export function contactOf(c: Candidate) {
  const userId = userIdOf(c);
  return {
    profile: { name: c.name ?? "Candidate", ...(c.username ? { username: c.username } : {}) },
    ...(c.waId ? { wa_id: c.waId } : {}),
    ...(userId ? { user_id: userId } : {}),
    ...(c.parentUserId ? { parent_user_id: c.parentUserId } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Message content, one builder per inbound type (`messages[].type`)
// ---------------------------------------------------------------------------------------------

export const textContent = (body: string) => ({ body });

export type MediaKind = "image" | "video" | "audio" | "document" | "sticker";
export const mediaKinds: readonly MediaKind[] = ["image", "video", "audio", "document", "sticker"];

export interface MediaInput {
  /** Default: a fresh media id. */
  id?: string;
  /** Default by kind: image/jpeg, video/mp4, audio/ogg; codecs=opus, application/pdf, image/webp. */
  mimeType?: string;
  /** Default: a random base64 SHA-256. */
  sha256?: string;
  /** image, video and document only. */
  caption?: string;
  /** document only. Default "CV.pdf". */
  filename?: string;
  /** audio only: a voice note recorded in WhatsApp. Default true. */
  voice?: boolean;
  /** sticker only. Default false. */
  animated?: boolean;
  /**
   * Meta's lookaside link to the file, which webhooks carry beside the id since 2026 (the download
   * still needs the business token). Default: a lookaside URL for the id; `null` leaves it out (older payloads).
   */
  url?: string | null;
}

const defaultMime: Record<MediaKind, string> = {
  image: "image/jpeg",
  video: "video/mp4",
  audio: "audio/ogg; codecs=opus",
  document: "application/pdf",
  sticker: "image/webp",
};

/** `{ id, mime_type, sha256, ... }` with the extra keys Meta sends for each media kind. */
/** The shape of Meta's lookaside download link for an inbound media id. */
export function lookasideUrl(mediaId: string): string {
  const ext = Math.floor(Date.now() / 1000);
  return `https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=${mediaId}&source=webhook&ext=${ext}&hash=${randomBytes(18).toString("base64url")}`;
}

export function mediaContent(kind: MediaKind, input: MediaInput = {}) {
  const id = input.id ?? newMediaId();
  const base = {
    id,
    mime_type: input.mimeType ?? defaultMime[kind],
    sha256: input.sha256 ?? fakeSha256(),
    ...(input.url === null ? {} : { url: input.url ?? lookasideUrl(id) }),
  };
  switch (kind) {
    case "image":
    case "video":
      return { ...base, ...(input.caption !== undefined ? { caption: input.caption } : {}) };
    case "audio":
      return { ...base, voice: input.voice ?? true };
    case "document":
      return {
        ...base,
        filename: input.filename ?? "CV.pdf",
        ...(input.caption !== undefined ? { caption: input.caption } : {}),
      };
    case "sticker":
      return { ...base, animated: input.animated ?? false };
  }
}

export interface LocationInput {
  latitude: number;
  longitude: number;
  name?: string;
  address?: string;
  url?: string;
}
export const locationContent = (l: LocationInput) => ({
  latitude: l.latitude,
  longitude: l.longitude,
  ...(l.name !== undefined ? { name: l.name } : {}),
  ...(l.address !== undefined ? { address: l.address } : {}),
  ...(l.url !== undefined ? { url: l.url } : {}),
});

export interface ContactCardInput {
  formattedName: string;
  firstName?: string;
  lastName?: string;
  phones?: Array<{ phone: string; waId?: string; type?: string }>;
  emails?: Array<{ email: string; type?: string }>;
  org?: { company?: string; department?: string; title?: string };
  urls?: Array<{ url: string; type?: string }>;
  /**
   * `contact_request`: the user shared their own number in answer to the business's
   * contact-information request (interactive `request_contact_info`); `other`: a contact shared on
   * their own initiative. Absent in payloads before 2026.
   */
  origin?: "contact_request" | "other";
}

/** The `contacts` array of a shared-contact message (not the envelope's `contacts`). */
export function contactsContent(cards: ContactCardInput[]) {
  return cards.map((c) => ({
    ...(c.origin ? { origin: c.origin } : {}),
    name: {
      formatted_name: c.formattedName,
      ...(c.firstName !== undefined ? { first_name: c.firstName } : {}),
      ...(c.lastName !== undefined ? { last_name: c.lastName } : {}),
    },
    ...(c.phones
      ? {
          phones: c.phones.map((p) => ({
            phone: p.phone,
            ...(p.waId ? { wa_id: p.waId } : {}),
            type: p.type ?? "CELL",
          })),
        }
      : {}),
    ...(c.emails ? { emails: c.emails.map((e) => ({ email: e.email, type: e.type ?? "WORK" })) } : {}),
    ...(c.org ? { org: c.org } : {}),
    ...(c.urls ? { urls: c.urls.map((u) => ({ url: u.url, type: u.type ?? "WORK" })) } : {}),
  }));
}

/** A tap on a reply button of an interactive message. */
export const buttonReplyContent = (id: string, title: string) => ({
  type: "button_reply",
  button_reply: { id, title },
});

/** A choice in a list message. */
export const listReplyContent = (id: string, title: string, description?: string) => ({
  type: "list_reply",
  list_reply: { id, title, ...(description !== undefined ? { description } : {}) },
});

/** A submitted WhatsApp Flow: `response_json` is a JSON *string*, as Meta sends it. */
export const flowReplyContent = (response: unknown, opts: { body?: string; name?: string } = {}) => ({
  type: "nfm_reply",
  nfm_reply: {
    name: opts.name ?? "flow",
    body: opts.body ?? "Sent",
    response_json: typeof response === "string" ? response : JSON.stringify(response),
  },
});

/** A tap on a template's quick-reply button (type `button`; the message's context names the template). */
export const quickReplyContent = (text: string, payload?: string) => ({ text, payload: payload ?? text });

/** A reaction; no emoji (or "") means the candidate removed their reaction. */
export const reactionContent = (messageId: string, emoji?: string) => ({
  message_id: messageId,
  ...(emoji !== undefined ? { emoji } : {}),
});

export interface OrderInput {
  catalogId?: string;
  text?: string;
  items?: Array<{ productRetailerId: string; quantity: number; itemPrice: number; currency: string }>;
}
export const orderContent = (o: OrderInput = {}) => ({
  catalog_id: o.catalogId ?? "100000000000001",
  ...(o.text !== undefined ? { text: o.text } : {}),
  product_items: (o.items ?? [{ productRetailerId: "sku-1", quantity: 1, itemPrice: 100, currency: "MAD" }]).map(
    (i) => ({
      product_retailer_id: i.productRetailerId,
      quantity: i.quantity,
      item_price: i.itemPrice,
      currency: i.currency,
    }),
  ),
});

/**
 * `system` message types. Since 2026: `user_changed_number` (`system.wa_id` is the new number) and
 * `user_changed_user_id` (`system.user_id` replaces `system.previous_user_id`). Older payloads:
 * `customer_changed_number` (`wa_id` old, `new_wa_id` new) and `customer_identity_changed`.
 */
export type SystemEventType =
  | "user_changed_number"
  | "user_changed_user_id"
  | "customer_changed_number"
  | "customer_identity_changed"
  | (string & {});
export interface SystemInput {
  /** Default "user_changed_number". */
  type?: SystemEventType;
  body?: string;
  /** user_changed_number: the new number. customer_changed_number: the old one. user_changed_user_id: the phone, when shared. */
  waId?: string;
  /** customer_changed_number: the new number. */
  newWaId?: string;
  /** customer_identity_changed: the new identity hash. */
  identity?: string;
  customer?: string;
  /** user_changed_number: the user's (regenerated) user id. user_changed_user_id: the new user id. */
  userId?: string;
  /** The user id being replaced (user_changed_user_id; user_changed_number since August 2026). */
  previousUserId?: string;
  /** The new parent user id, when the portfolio has parent ids. */
  parentUserId?: string;
  /** The parent user id being replaced. */
  previousParentUserId?: string;
  /** The profile name the default body names. */
  name?: string;
  /** user_changed_number: the old number, for the default body. */
  previousWaId?: string;
}
export function systemContent(s: SystemInput = {}) {
  const type = s.type ?? "user_changed_number";
  const who = s.name ?? "Candidate";
  const body =
    s.body ??
    (type === "user_changed_number"
      ? `User ${who} changed from ${s.previousWaId ?? "unknown"} to ${s.waId ?? "unknown"}`
      : type === "user_changed_user_id"
        ? `User ${who} changed from ${s.previousUserId ?? "unknown"} to ${s.userId ?? "unknown"}`
        : type === "customer_changed_number"
          ? `User ${who} changed from ${s.waId ?? "unknown"} to ${s.newWaId ?? "unknown"}`
          : type === "customer_identity_changed"
            ? "User's security code changed"
            : "System message");
  return {
    body,
    type,
    ...(s.waId !== undefined ? { wa_id: s.waId } : {}),
    ...(s.newWaId !== undefined ? { new_wa_id: s.newWaId } : {}),
    ...(s.identity !== undefined ? { identity: s.identity } : {}),
    ...(s.customer !== undefined ? { customer: s.customer } : {}),
    ...(s.userId !== undefined ? { user_id: s.userId } : {}),
    ...(s.previousUserId !== undefined ? { previous_user_id: s.previousUserId } : {}),
    ...(s.parentUserId !== undefined ? { parent_user_id: s.parentUserId } : {}),
    ...(s.previousParentUserId !== undefined ? { previous_parent_user_id: s.previousParentUserId } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Errors, context and referral
// ---------------------------------------------------------------------------------------------

/** Where Meta's webhook errors point (`href`). */
export const ERROR_CODES_URL = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/";

/** A Graph error object as it appears in webhooks (`messages[].errors`, `statuses[].errors`, `value.errors`), with Meta's `href`. */
export function graphError(code: number, title: string, details?: string, message?: string) {
  return {
    code,
    title,
    message: message ?? title,
    ...(details !== undefined ? { error_data: { details } } : {}),
    href: ERROR_CODES_URL,
  };
}

/** The errors Meta attaches to an `unsupported` message. */
export const unsupportedReasons = {
  unknownType: () => graphError(131051, "Message type unknown", "Message type is currently not supported."),
  unavailable: () =>
    graphError(131060, "This message is unavailable", "This message could not be displayed on this device."),
} as const;

/** `context` of a reply: the candidate answered message `id` (sent by `from`, usually the business number). */
export const replyContext = (id: string, from: string) => ({ from, id });
/** `context` of a forwarded message. */
export const forwardedContext = (frequently = false) =>
  frequently ? { frequently_forwarded: true } : { forwarded: true };

export interface ReferralInput {
  sourceUrl?: string;
  sourceId?: string;
  sourceType?: "ad" | "post";
  headline?: string;
  body?: string;
  mediaType?: "image" | "video";
  imageUrl?: string;
  videoUrl?: string;
  thumbnailUrl?: string;
  ctwaClid?: string;
}
/** `referral` of a chat that started from a click-to-WhatsApp ad. */
export function adReferral(r: ReferralInput = {}) {
  const mediaType = r.mediaType ?? "image";
  return {
    source_url: r.sourceUrl ?? "https://fb.me/linkojob-ad",
    source_id: r.sourceId ?? "120200000000000001",
    source_type: r.sourceType ?? "ad",
    headline: r.headline ?? "Recrutement Casablanca",
    body: r.body ?? "Postulez en un message",
    media_type: mediaType,
    ...(mediaType === "image"
      ? { image_url: r.imageUrl ?? "https://scontent.example/ad.jpg" }
      : {
          video_url: r.videoUrl ?? "https://video.example/ad.mp4",
          thumbnail_url: r.thumbnailUrl ?? "https://scontent.example/thumb.jpg",
        }),
    ctwa_clid: r.ctwaClid ?? randomBytes(12).toString("base64url"),
  };
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

export interface MessageExtra {
  id?: string;
  timestamp?: UnixSeconds;
  context?: unknown;
  referral?: unknown;
  errors?: unknown[];
}

/** One element of `value.messages[]`; the type-specific part sits under the key named by `type`. */
export interface InboundMessageObject {
  from?: string;
  from_user_id?: string;
  from_parent_user_id?: string;
  id: string;
  timestamp: UnixSeconds;
  type: string;
  context?: unknown;
  referral?: unknown;
  errors?: unknown[];
  [typeKey: string]: unknown;
}

/** An inbound message object of any type: `content` is what goes under the type's key. */
export function inboundMessage(
  c: Candidate,
  type: string,
  content?: unknown,
  extra: MessageExtra = {},
): InboundMessageObject {
  const userId = userIdOf(c);
  return {
    ...(c.waId ? { from: c.waId } : {}),
    ...(userId ? { from_user_id: userId } : {}),
    ...(c.parentUserId ? { from_parent_user_id: c.parentUserId } : {}),
    id: extra.id ?? newWamid(),
    timestamp: extra.timestamp ?? unixNow(),
    type,
    ...(content !== undefined ? { [type]: content } : {}),
    ...(extra.context ? { context: extra.context } : {}),
    ...(extra.referral ? { referral: extra.referral } : {}),
    ...(extra.errors ? { errors: extra.errors } : {}),
  };
}

/** The candidate opened the chat for the first time (no sub-object). */
export const requestWelcomeMessage = (c: Candidate, extra: MessageExtra = {}) =>
  inboundMessage(c, "request_welcome", undefined, extra);

/** What Meta sends for a message it cannot show the business: `unsupported: { type }` plus errors. */
export const unsupportedMessage = (c: Candidate, originalType = "unknown", extra: MessageExtra = {}) =>
  inboundMessage(c, "unsupported", { type: originalType }, { errors: [unsupportedReasons.unknownType()], ...extra });

/** A quick-reply tap on a template the business sent as `templateWamid` from `businessNumber`. */
export const templateButtonMessage = (
  c: Candidate,
  text: string,
  payload: string,
  templateWamid: string,
  businessNumber: string,
  extra: MessageExtra = {},
) =>
  inboundMessage(c, "button", quickReplyContent(text, payload), {
    context: replyContext(templateWamid, businessNumber),
    ...extra,
  });

/**
 * One message of every inbound type Meta documents (`messages[].type`), keyed by type, with
 * realistic content (French and Arabic text, a CV as a document, a voice note…). Handy for tests
 * and the demo's seed.
 */
export function sampleInboundMessages(c: Candidate, opts: { businessNumber?: string; repliedWamid?: string } = {}) {
  const businessNumber = opts.businessNumber ?? "212500000000";
  const replied = opts.repliedWamid ?? newWamid();
  return {
    text: inboundMessage(c, "text", textContent("Bonjour, je suis intéressé par le poste à Casablanca — مرحبا 👋")),
    image: inboundMessage(c, "image", mediaContent("image", { caption: "Mon diplôme" })),
    video: inboundMessage(c, "video", mediaContent("video", { caption: "Présentation" })),
    audio: inboundMessage(c, "audio", mediaContent("audio", { voice: true })),
    document: inboundMessage(
      c,
      "document",
      mediaContent("document", { filename: "CV_Yasmine_Benali.pdf", caption: "Mon CV" }),
    ),
    sticker: inboundMessage(c, "sticker", mediaContent("sticker", { animated: false })),
    location: inboundMessage(
      c,
      "location",
      locationContent({
        latitude: 33.5731,
        longitude: -7.5898,
        name: "Casablanca",
        address: "Bd Mohammed V, Casablanca",
      }),
    ),
    contacts: inboundMessage(
      c,
      "contacts",
      contactsContent([
        {
          formattedName: "Karim El Idrissi",
          firstName: "Karim",
          lastName: "El Idrissi",
          phones: [{ phone: "+212 6 61 23 45 67", waId: "212661234567" }],
        },
      ]),
    ),
    interactive: inboundMessage(c, "interactive", buttonReplyContent("apply_yes", "Oui, je postule"), {
      context: replyContext(replied, businessNumber),
    }),
    button: templateButtonMessage(c, "Je suis disponible", "AVAILABLE", replied, businessNumber),
    reaction: inboundMessage(c, "reaction", reactionContent(replied, "👍")),
    order: inboundMessage(c, "order", orderContent({ text: "Commande" })),
    system: c.waId
      ? userChangedNumberMessage({ ...c, waId: c.waId }, "212699999999")
      : userChangedUserIdMessage(userIdOf(c) ?? "MA.1", "MA.20000000000000000001"),
    request_welcome: requestWelcomeMessage(c),
    unsupported: unsupportedMessage(c, "poll"),
  };
}

/** A delivery with the given messages from one candidate, in one change. */
export function messagesDelivery(business: Business, c: Candidate, messages: unknown[]) {
  return delivery([
    {
      wabaId: business.wabaId,
      changes: [{ field: "messages", value: messagesValue(business, { contacts: [contactOf(c)], messages }) }],
    },
  ]);
}

/**
 * A user changed their phone number: `from` is the old number, `system.wa_id` the new one. Since
 * August 2026 Meta's reference says a number change also regenerates the business-scoped user id:
 * `system.user_id` is the new id (`newUserId`), `system.previous_user_id` the old one (and
 * `previous_parent_user_id` when the portfolio has parent ids). `newUserId: null` plays the older
 * payload, where the user id stayed. System messages come without a `contacts` array.
 */
export function userChangedNumberMessage(
  c: Candidate & { waId: string },
  newWaId: string,
  extra: MessageExtra & { newUserId?: string | null; newParentUserId?: string } = {},
) {
  const { newUserId: regenerated, newParentUserId, ...messageExtra } = extra;
  const userId = userIdOf(c);
  const next = regenerated === null ? userId : (regenerated ?? userId);
  return inboundMessage(
    c,
    "system",
    systemContent({
      type: "user_changed_number",
      previousWaId: c.waId,
      waId: newWaId,
      ...(next ? { userId: next } : {}),
      ...(regenerated && userId ? { previousUserId: userId } : {}),
      ...(regenerated && c.parentUserId ? { previousParentUserId: c.parentUserId } : {}),
      ...(regenerated && newParentUserId ? { parentUserId: newParentUserId } : {}),
      ...(c.name ? { name: c.name } : {}),
    }),
    messageExtra,
  );
}

/**
 * A user's business-scoped user id changed: `from_user_id` and `system.previous_user_id` are the old
 * id, `system.user_id` the new one. No phone number unless `waId` is given (Meta: "reports only the
 * BSUID change").
 */
export function userChangedUserIdMessage(
  previousUserId: string,
  newUserId: string,
  opts: { waId?: string; name?: string } & MessageExtra = {},
) {
  const { waId, name, ...extra } = opts;
  return inboundMessage(
    { userId: previousUserId, ...(waId ? { waId } : {}) },
    "system",
    systemContent({
      type: "user_changed_user_id",
      previousUserId,
      userId: newUserId,
      ...(waId ? { waId } : {}),
      ...(name ? { name } : {}),
    }),
    extra,
  );
}

/** A delivery of system messages: no `contacts` array, as Meta sends them. */
export function systemMessagesDelivery(business: Business, messages: unknown[]) {
  return delivery([
    { wabaId: business.wabaId, changes: [{ field: "messages", value: messagesValue(business, { messages }) }] },
  ]);
}

/** A delivery with one text message from a candidate. */
export function textMessageDelivery(
  business: Business,
  c: Candidate,
  body: string,
  extra: { id?: string; timestamp?: string } = {},
) {
  return messagesDelivery(business, c, [inboundMessage(c, "text", { body }, extra)]);
}

// ---------------------------------------------------------------------------------------------
// Statuses
// ---------------------------------------------------------------------------------------------

/** Who a status is about: the phone number (absent for a username-only user) and the user id. */
export type StatusRecipient = string | Candidate;

/**
 * A status object for a message the business sent: `recipient_id` (the phone, when known) and, since
 * 2026, `recipient_user_id`. A string recipient is a phone number with its simulator user id.
 */
export function statusObject(
  wamid: string,
  status: string,
  recipient: StatusRecipient,
  extra: { timestamp?: string; bizOpaque?: string; pricing?: unknown; errors?: unknown[]; conversation?: unknown } = {},
) {
  const r: Candidate = typeof recipient === "string" ? (recipient ? { waId: recipient } : {}) : recipient;
  const userId = userIdOf(r);
  return {
    id: wamid,
    status,
    timestamp: extra.timestamp ?? unixNow(),
    ...(r.waId ? { recipient_id: r.waId } : {}),
    ...(userId ? { recipient_user_id: userId } : {}),
    ...(r.parentUserId ? { recipient_parent_user_id: r.parentUserId } : {}),
    ...(extra.bizOpaque ? { biz_opaque_callback_data: extra.bizOpaque } : {}),
    ...(extra.pricing ? { pricing: extra.pricing } : {}),
    ...(extra.conversation ? { conversation: extra.conversation } : {}),
    ...(extra.errors ? { errors: extra.errors } : {}),
  };
}

/**
 * `pricing` of a status: per-message pricing (PMP). `type` is `regular` (billed),
 * `free_customer_service` (inside an open window: service messages and utility templates until
 * 2026-09-30; see SERVICE_BILLED_FROM) or `free_entry_point` (inside a free entry-point window).
 * Without a type, a service message is free and any other category billed. Meta sends it on one
 * status per message.
 */
export function statusPricing(category: string, opts: { billable?: boolean; type?: string } = {}) {
  const free = opts.type !== undefined ? opts.type !== "regular" : category === "service" || opts.billable === false;
  return {
    billable: opts.billable ?? !free,
    pricing_model: "PMP",
    type: opts.type ?? (free ? "free_customer_service" : "regular"),
    category,
  };
}

/**
 * From this instant (2026-10-01, announced by Meta on 2026-07-01) service messages are billed per
 * message at the market's utility rate, and utility templates inside an open window are no longer
 * free: their statuses carry `type: "regular"`.
 */
export const SERVICE_BILLED_FROM = Date.parse("2026-10-01T00:00:00Z");

/**
 * A `user_preferences` delivery: the user stopped (`stop`) or resumed (`resume`) the business's
 * marketing messages in WhatsApp. Shaped as Meta documents it: the messages value's metadata and
 * contacts, and `user_preferences[] { wa_id, detail, category: "marketing_messages", value, timestamp }`
 * (`user_id` for a user who hides the number).
 */
export function userPreferencesDelivery(
  business: Business,
  candidate: Candidate,
  value: "stop" | "resume",
  opts: { category?: string; detail?: string; timestamp?: number } = {},
) {
  const userId = userIdOf(candidate);
  const preference = {
    ...(candidate.waId ? { wa_id: candidate.waId } : userId ? { user_id: userId } : {}),
    detail:
      opts.detail ??
      (value === "stop" ? "User requested to stop marketing messages" : "User requested to resume marketing messages"),
    category: opts.category ?? "marketing_messages",
    value,
    timestamp: opts.timestamp ?? Math.floor(Date.now() / 1000),
  };
  const { messaging_product, metadata } = messagesValue(business, {});
  return delivery([
    {
      wabaId: business.wabaId,
      changes: [
        {
          field: "user_preferences",
          value: { messaging_product, metadata, contacts: [contactOf(candidate)], user_preferences: [preference] },
        },
      ],
    },
  ]);
}

/** A delivery of statuses; since 2026 Meta may add the recipients as `contacts` (wa_id when shown, user_id). */
export function statusDelivery(business: Business, statuses: unknown[], recipients?: Candidate[]) {
  // Status deliveries name the recipient in `contacts` (no display name; the username when the
  // user has one, and the parent user id when the portfolio has them).
  const contacts = recipients?.map((r) => {
    const userId = userIdOf(r);
    return {
      ...(r.username ? { profile: { username: r.username } } : {}),
      ...(r.waId ? { wa_id: r.waId } : {}),
      ...(userId ? { user_id: userId } : {}),
      ...(r.parentUserId ? { parent_user_id: r.parentUserId } : {}),
    };
  });
  return delivery([
    {
      wabaId: business.wabaId,
      changes: [{ field: "messages", value: messagesValue(business, { ...(contacts ? { contacts } : {}), statuses }) }],
    },
  ]);
}

// ---------------------------------------------------------------------------------------------
// App echoes (coexistence numbers)
// ---------------------------------------------------------------------------------------------

/**
 * One element of `message_echoes`: a message the business sent from the WhatsApp Business app on a
 * coexistence number. `from` is the business number, `to` the user's phone (absent when hidden),
 * `to_user_id` the user's id.
 */
export function echoMessage(
  businessNumber: string,
  to: Candidate,
  type: string,
  content: unknown,
  extra: { id?: string; timestamp?: UnixSeconds } = {},
) {
  const userId = userIdOf(to);
  return {
    from: businessNumber,
    ...(to.waId ? { to: to.waId } : {}),
    ...(userId ? { to_user_id: userId } : {}),
    id: extra.id ?? newWamid(),
    timestamp: extra.timestamp ?? unixNow(),
    type,
    [type]: content,
  };
}

/** A delivery of the `smb_message_echoes` field: same envelope as messages, echoes in `message_echoes`. */
export function messageEchoesDelivery(business: Business, echoes: unknown[]) {
  return delivery([
    {
      wabaId: business.wabaId,
      changes: [{ field: "smb_message_echoes", value: messagesValue(business, { message_echoes: echoes }) }],
    },
  ]);
}

/** Account- or app-level problems reported in `value.errors` of a `messages` change. */
export function valueErrorsDelivery(business: Business, errors: unknown[]) {
  return delivery([
    { wabaId: business.wabaId, changes: [{ field: "messages", value: messagesValue(business, { errors }) }] },
  ]);
}

// ---------------------------------------------------------------------------------------------
// Other fields (their value has no metadata; entry.time is an integer)
// ---------------------------------------------------------------------------------------------

/** A delivery of one change of any non-`messages` field. */
export function fieldDelivery(wabaId: string, field: string, value: unknown, time = Math.floor(Date.now() / 1000)) {
  return delivery([{ wabaId, time, changes: [{ field, value }] }]);
}

export type AccountUpdateEvent =
  | "PARTNER_REMOVED"
  | "PARTNER_APP_UNINSTALLED"
  | "ACCOUNT_DELETED"
  | "ACCOUNT_RESTRICTION"
  | "DISABLED_UPDATE"
  | "ACCOUNT_OFFBOARDED"
  | "ACCOUNT_RECONNECTED"
  | "ACCOUNT_VIOLATION"
  | "VERIFIED_ACCOUNT"
  | (string & {});

export interface AccountUpdateInput {
  event: AccountUpdateEvent;
  phoneNumber?: string;
  wabaId?: string;
  ownerBusinessId?: string;
  banInfo?: Record<string, unknown>;
  restrictionInfo?: Array<Record<string, unknown>>;
  violationInfo?: Record<string, unknown>;
}
export const accountUpdateValue = (a: AccountUpdateInput) => ({
  event: a.event,
  ...(a.phoneNumber !== undefined ? { phone_number: a.phoneNumber } : {}),
  ...(a.wabaId !== undefined || a.ownerBusinessId !== undefined
    ? {
        waba_info: {
          ...(a.wabaId ? { waba_id: a.wabaId } : {}),
          ...(a.ownerBusinessId ? { owner_business_id: a.ownerBusinessId } : {}),
        },
      }
    : {}),
  ...(a.banInfo ? { ban_info: a.banInfo } : {}),
  ...(a.restrictionInfo ? { restriction_info: a.restrictionInfo } : {}),
  ...(a.violationInfo ? { violation_info: a.violationInfo } : {}),
});
export const accountUpdateDelivery = (wabaId: string, a: AccountUpdateInput) =>
  fieldDelivery(wabaId, "account_update", accountUpdateValue({ wabaId, ...a }));

export interface TemplateStatusInput {
  /** APPROVED, REJECTED, PENDING, PAUSED, DISABLED, … */
  event: string;
  /** Meta sends the template id as a number. */
  templateId: number | string;
  name: string;
  language: string;
  /** Default "NONE" (Meta's value when there is no reason). */
  reason?: string | null;
  category?: string;
  otherInfo?: Record<string, unknown>;
  rejectionInfo?: Record<string, unknown>;
}
export const templateStatusValue = (t: TemplateStatusInput) => ({
  event: t.event,
  message_template_id:
    typeof t.templateId === "string" && /^\d{1,15}$/.test(t.templateId) ? Number(t.templateId) : t.templateId,
  message_template_name: t.name,
  message_template_language: t.language,
  reason: t.reason === undefined ? "NONE" : t.reason,
  ...(t.category !== undefined ? { message_template_category: t.category } : {}),
  ...(t.otherInfo ? { other_info: t.otherInfo } : {}),
  ...(t.rejectionInfo ? { rejection_info: t.rejectionInfo } : {}),
});
export const templateStatusDelivery = (wabaId: string, t: TemplateStatusInput) =>
  fieldDelivery(wabaId, "message_template_status_update", templateStatusValue(t));

export interface QualityUpdateInput {
  displayPhoneNumber: string;
  /** FLAGGED, UNFLAGGED, UPGRADE, DOWNGRADE, ONBOARDING… */
  event: string;
  /** Messaging limit tier now, e.g. TIER_1K, TIER_10K, TIER_UNLIMITED (being removed in 2026). */
  currentLimit?: string;
  oldLimit?: string;
  maxDailyConversationPerPhone?: number;
  /** 2026: the portfolio's limit (250, 2000, 10000, 100000, -1 unlimited). */
  maxDailyConversationsPerBusiness?: number;
}
export const qualityUpdateValue = (q: QualityUpdateInput) => ({
  display_phone_number: q.displayPhoneNumber,
  event: q.event,
  ...(q.currentLimit !== undefined ? { current_limit: q.currentLimit } : {}),
  ...(q.oldLimit !== undefined ? { old_limit: q.oldLimit } : {}),
  ...(q.maxDailyConversationPerPhone !== undefined
    ? { max_daily_conversation_per_phone: q.maxDailyConversationPerPhone }
    : {}),
  ...(q.maxDailyConversationsPerBusiness !== undefined
    ? { max_daily_conversations_per_business: q.maxDailyConversationsPerBusiness }
    : {}),
});

/** `business_capability_update`: the portfolio's messaging limit (-1: unlimited). */
export interface BusinessCapabilityInput {
  maxDailyConversationsPerBusiness: number;
  maxPhoneNumbersPerBusiness?: number;
}
export const businessCapabilityValue = (b: BusinessCapabilityInput) => ({
  max_daily_conversations_per_business: b.maxDailyConversationsPerBusiness,
  ...(b.maxPhoneNumbersPerBusiness !== undefined
    ? { max_phone_numbers_per_business: b.maxPhoneNumbersPerBusiness }
    : {}),
});
export const businessCapabilityDelivery = (wabaId: string, b: BusinessCapabilityInput) =>
  fieldDelivery(wabaId, "business_capability_update", businessCapabilityValue(b));
export const qualityUpdateDelivery = (wabaId: string, q: QualityUpdateInput) =>
  fieldDelivery(wabaId, "phone_number_quality_update", qualityUpdateValue(q));

// ---------------------------------------------------------------------------------------------
// Calls and history (fields sharing the messages envelope, with `metadata`)
// ---------------------------------------------------------------------------------------------

/** A `wacid.` call id, as Meta's Calling API names calls. */
export const newCallId = () => `wacid.${randomBytes(24).toString("base64url")}`;

export interface CallInput {
  /** "connect" (the user calls; with the SDP offer) or "terminate" (with status and duration). */
  event: "connect" | "terminate";
  id?: string;
  direction?: "USER_INITIATED" | "BUSINESS_INITIATED";
  /** terminate only: "Completed" or "Failed". */
  status?: string;
  /** terminate only: seconds. */
  durationSeconds?: number;
  timestamp?: UnixSeconds;
}

/**
 * A `calls` delivery (WhatsApp Business Calling): the user's call to the business number, `connect`
 * with the session's SDP offer, or `terminate` with its outcome. The gateway records these, it does
 * not answer calls.
 */
export function callsDelivery(business: Business, c: Candidate, call: CallInput) {
  const at = Number(call.timestamp ?? unixNow());
  const value = messagesValue(business, {
    contacts: [contactOf(c)],
    calls: [
      {
        id: call.id ?? newCallId(),
        to: business.displayPhoneNumber ?? "212500000000",
        ...(c.waId ? { from: c.waId } : {}),
        ...(userIdOf(c) ? { from_user_id: userIdOf(c) } : {}),
        event: call.event,
        timestamp: String(at),
        direction: call.direction ?? "USER_INITIATED",
        ...(call.event === "connect"
          ? { session: { sdp_type: "offer", sdp: "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" } }
          : {
              status: call.status ?? "Completed",
              start_time: String(at - (call.durationSeconds ?? 42)),
              end_time: String(at),
              duration: call.durationSeconds ?? 42,
            }),
      },
    ],
  });
  return delivery([{ wabaId: business.wabaId, changes: [{ field: "calls", value }] }]);
}

/**
 * A `history` delivery: past messages a coexistence number shares when it is onboarded, in chunks
 * (`metadata: { phase, chunk_order, progress }`), each thread the messages of one user with their
 * `history_context.status`.
 */
export function historyDelivery(
  business: Business,
  threads: Array<{ waId: string; messages: Array<{ fromBusiness?: boolean; text: string; timestamp?: UnixSeconds }> }>,
  chunk: { phase?: number; chunkOrder?: number; progress?: number } = {},
) {
  const value = messagesValue(business, {
    history: [
      {
        metadata: { phase: chunk.phase ?? 0, chunk_order: chunk.chunkOrder ?? 1, progress: chunk.progress ?? 100 },
        threads: threads.map((t) => ({
          id: t.waId,
          messages: t.messages.map((m) => ({
            from: m.fromBusiness ? (business.displayPhoneNumber ?? "212500000000") : t.waId,
            ...(m.fromBusiness ? { to: t.waId } : {}),
            id: newWamid(),
            timestamp: m.timestamp ?? unixNow(),
            type: "text",
            text: { body: m.text },
            history_context: { status: m.fromBusiness ? "DELIVERED" : "READ" },
          })),
        })),
      },
    ],
  });
  return delivery([{ wabaId: business.wabaId, changes: [{ field: "history", value }] }]);
}
