/**
 * Webhook payloads in the shapes Meta documents (Cloud API webhooks, with the 2025-2026
 * business-scoped user ids), for this package's tests. Plain JSON values: what the worker gets from
 * JSON.parse.
 */

export const WABA = "102290129340398";
export const PHONE_NUMBER_ID = "106540352242922";
export const DISPLAY_NUMBER = "212522000000";

let counter = 0;
/** A wamid no random mutation produces: every test names its valid messages this way. */
export const freshWamid = (tag = "M") => `wamid.HBgL${tag}${(++counter).toString(36).toUpperCase()}AA==`;

export const unixNow = (at = new Date()) => String(Math.floor(at.getTime() / 1000));

type Json = Record<string, unknown>;

export function message(
  type: string,
  part: unknown,
  opts: { wamid?: string; from?: string | null; fromUserId?: string; ts?: string; extra?: Json } = {},
): Json {
  return {
    ...(opts.from === null ? {} : { from: opts.from ?? "212612345678" }),
    ...(opts.fromUserId ? { from_user_id: opts.fromUserId } : {}),
    id: opts.wamid ?? freshWamid(),
    timestamp: opts.ts ?? unixNow(),
    type,
    ...(part === undefined ? {} : { [type]: part }),
    ...opts.extra,
  };
}

/** One sample of every inbound type in the reference table. */
export const samples = {
  text: () => message("text", { body: "Bonjour, je suis intéressée par le poste ✨" }),
  image: () =>
    message("image", {
      id: "1479537139650973",
      mime_type: "image/jpeg",
      sha256: "HgD3K8qWb+7U=",
      caption: "Mon diplôme",
    }),
  video: () => message("video", { id: "1479537139650974", mime_type: "video/mp4", sha256: "aGVsbG8=" }),
  audio: () =>
    message("audio", { id: "1479537139650975", mime_type: "audio/ogg; codecs=opus", sha256: "c2hh", voice: true }),
  document: () =>
    message("document", {
      id: "1479537139650976",
      mime_type: "application/pdf",
      sha256: "ZG9j",
      filename: "CV_Yasmine.pdf",
      caption: "Mon CV",
    }),
  sticker: () =>
    message("sticker", { id: "1479537139650977", mime_type: "image/webp", sha256: "c3Rr", animated: false }),
  location: () =>
    message("location", { latitude: 33.5731, longitude: -7.5898, name: "Casablanca", address: "Bd Zerktouni" }),
  contacts: () =>
    message("contacts", [
      {
        name: { formatted_name: "Omar Alaoui", first_name: "Omar" },
        phones: [{ phone: "+212 6 99 88 77 66", wa_id: "212699887766", type: "CELL" }],
      },
    ]),
  button_reply: () =>
    message(
      "interactive",
      { type: "button_reply", button_reply: { id: "yes-available", title: "Oui, disponible" } },
      { extra: { context: { from: DISPLAY_NUMBER, id: "wamid.CTX1" } } },
    ),
  list_reply: () =>
    message("interactive", {
      type: "list_reply",
      list_reply: { id: "slot-2", title: "Mardi 10h", description: "Entretien" },
    }),
  nfm_reply: () =>
    message("interactive", {
      type: "nfm_reply",
      nfm_reply: { name: "flow", body: "Sent", response_json: '{"flow_token":"x"}' },
    }),
  button: () =>
    message(
      "button",
      { text: "Je suis disponible", payload: "AVAILABLE" },
      { extra: { context: { from: DISPLAY_NUMBER, id: "wamid.TPL" } } },
    ),
  reaction: () => message("reaction", { message_id: "wamid.OUT1", emoji: "👍" }),
  order: () =>
    message("order", {
      catalog_id: "123",
      text: "merci",
      product_items: [{ product_retailer_id: "sku1", quantity: 1, item_price: 10, currency: "MAD" }],
    }),
  system: () =>
    message("system", {
      body: "User A changed from 212600000001 to 212600000002",
      type: "user_changed_number",
      wa_id: "212600000002",
    }),
  user_changed_user_id: () =>
    message(
      "system",
      {
        body: "User changed user id",
        type: "user_changed_user_id",
        user_id: "MA.new123",
        previous_user_id: "MA.old123",
      },
      { from: null, fromUserId: "MA.new123" },
    ),
  request_welcome: () => message("request_welcome", undefined),
  unsupported: () =>
    message(
      "unsupported",
      { type: "edit" },
      {
        extra: {
          errors: [
            {
              code: 131051,
              title: "Message type unknown",
              message: "Message type unknown",
              error_data: { details: "Message type is currently not supported." },
            },
          ],
        },
      },
    ),
  referral: () =>
    message(
      "text",
      { body: "Salam" },
      {
        extra: {
          referral: {
            source_url: "https://fb.me/x",
            source_type: "ad",
            source_id: "120",
            headline: "Chauffeurs",
            media_type: "image",
            ctwa_clid: "ARAk",
          },
        },
      },
    ),
} as const;

export function status(wamid: string, name: string, extra: Json = {}): Json {
  return { id: wamid, status: name, timestamp: unixNow(), recipient_id: "212612345678", ...extra };
}

export const statusSamples = {
  sent: () =>
    status(freshWamid("S"), "sent", {
      pricing: { billable: true, pricing_model: "PMP", type: "regular", category: "utility" },
      biz_opaque_callback_data: "665f1c2a9b1e8a0012345678",
    }),
  delivered: () =>
    status(freshWamid("S"), "delivered", {
      conversation: {
        id: "conv1",
        expiration_timestamp: String(Math.floor(Date.now() / 1000) + 86400),
        origin: { type: "service" },
      },
    }),
  read: () => status(freshWamid("S"), "read", { recipient_user_id: "MA.1234567890abcdef" }),
  failed: () =>
    status(freshWamid("S"), "failed", {
      errors: [
        {
          code: 131047,
          title: "Re-engagement message",
          message: "Re-engagement message",
          error_data: { details: "More than 24 hours have passed" },
        },
      ],
    }),
  byUserId: () => {
    const s = status(freshWamid("S"), "delivered", { recipient_user_id: "US.13491208655302741918" });
    delete s.recipient_id;
    return s;
  },
} as const;

export const valueError = (code = 131042): Json => ({
  code,
  title: "Business eligibility payment issue",
  message: "payment",
  error_data: { details: "payment method missing" },
});

export function messagesValue(parts: {
  contacts?: unknown;
  messages?: unknown;
  statuses?: unknown;
  errors?: unknown;
  phoneNumberId?: string;
}): Json {
  return {
    messaging_product: "whatsapp",
    metadata: { display_phone_number: DISPLAY_NUMBER, phone_number_id: parts.phoneNumberId ?? PHONE_NUMBER_ID },
    ...(parts.contacts !== undefined ? { contacts: parts.contacts } : {}),
    ...(parts.messages !== undefined ? { messages: parts.messages } : {}),
    ...(parts.statuses !== undefined ? { statuses: parts.statuses } : {}),
    ...(parts.errors !== undefined ? { errors: parts.errors } : {}),
  };
}

export const contact = (waId = "212612345678", name = "Yasmine Benali", userId?: string): Json => ({
  profile: { name },
  ...(waId ? { wa_id: waId } : {}),
  ...(userId ? { user_id: userId } : {}),
});

export const change = (value: unknown, field = "messages"): Json => ({ value, field });
export const entry = (changes: unknown, id: unknown = WABA, extra: Json = {}): Json => ({ id, changes, ...extra });
export const delivery = (entries: unknown): Json => ({ object: "whatsapp_business_account", entry: entries });

/** A delivery with one messages change holding these messages. */
export const deliveryOf = (messages: unknown[], contacts: unknown[] = [contact()]) =>
  delivery([entry([change(messagesValue({ contacts, messages }))])]);

/** An object with these own keys, including `__proto__` (which a literal would turn into a prototype). */
export function withOwnKeys(pairs: Array<[string, unknown]>): Json {
  const o: Json = {};
  for (const [k, v] of pairs)
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

/** `[[[…]]]` nested `depth` levels (what JSON.parse makes of that many brackets). */
export function nestedArrays(depth: number): unknown {
  let v: unknown = [];
  for (let i = 1; i < depth; i++) v = [v];
  return v;
}

export function nestedObjects(depth: number): unknown {
  let v: unknown = { leaf: true };
  for (let i = 1; i < depth; i++) v = { k: v };
  return v;
}
