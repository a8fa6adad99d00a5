import { describe, expect, it } from "vitest";
import { normalizeDelivery, type InboundEvent } from "@linkojob/whatsapp";
import {
  accountUpdateDelivery,
  adReferral,
  delivery,
  fieldDelivery,
  forwardedContext,
  graphError,
  inboundMessage,
  messagesDelivery,
  messagesValue,
  qualityUpdateDelivery,
  replyContext,
  sampleInboundMessages,
  statusDelivery,
  statusObject,
  statusPricing,
  templateStatusDelivery,
  textMessageDelivery,
  valueErrorsDelivery,
  contactOf,
  newWamid,
  ERROR_CODES_URL,
  systemMessagesDelivery,
  userChangedNumberMessage,
  userChangedUserIdMessage,
  messageEchoesDelivery,
  echoMessage,
  mediaContent,
  callsDelivery,
  historyDelivery,
} from "./payloads.js";
import { isUserId, newUserId, userIdForPhone } from "./user-ids.js";

const business = { wabaId: "100200300", phoneNumberId: "555000111", displayPhoneNumber: "212522000000" };
const candidate = { waId: "212612345678", name: "Yasmine Benali" };

/** Normalizes through JSON, as the worker will: what crosses the wire is text. */
const normalize = (payload: unknown): InboundEvent[] => normalizeDelivery(JSON.parse(JSON.stringify(payload)));
const messageEvents = (events: InboundEvent[]) =>
  events.filter((e): e is Extract<InboundEvent, { kind: "message" }> => e.kind === "message");

describe("every inbound type built here is read completely by normalizeDelivery", () => {
  const samples = sampleInboundMessages(candidate, { businessNumber: business.displayPhoneNumber });

  it("covers every inbound message type Meta documents", () => {
    expect(Object.keys(samples).sort()).toEqual(
      [
        "audio",
        "button",
        "contacts",
        "document",
        "image",
        "interactive",
        "location",
        "order",
        "reaction",
        "request_welcome",
        "sticker",
        "system",
        "text",
        "unsupported",
        "video",
      ].sort(),
    );
  });

  it.each(Object.entries(samples))("%s keeps its type and content", (type, message) => {
    const events = normalize(messagesDelivery(business, candidate, [message]));
    expect(events).toHaveLength(1);
    const [event] = messageEvents(events);
    expect(event).toMatchObject({
      kind: "message",
      wabaId: business.wabaId,
      phoneNumberId: business.phoneNumberId,
      displayPhoneNumber: business.displayPhoneNumber,
      candidateKey: candidate.waId,
      waId: candidate.waId,
      profileName: candidate.name,
    });
    const m = event!.message;
    expect(m.wamid).toBe(message.id);
    expect(m.type).toBe(type);
    expect(m.originalType).toBe(type);
    expect(m.timestamp.getTime()).toBe(Number(message.timestamp) * 1000);
    expect(m.text).toEqual(expect.any(String));
    const sent = message as Record<string, unknown>;
    if (type === "request_welcome") expect(m.content).toBeNull();
    else expect(m.content).toEqual(sent[type]);
    if ("context" in sent) expect(m.context).toEqual(sent.context);
    if (type === "unsupported") expect(m.errors).toEqual([expect.objectContaining({ code: 131051 })]);
  });

  it("media carry id, Meta's lookaside url, mime type, sha256, caption, filename, voice and animated", () => {
    const { document, audio, sticker, image } = samples;
    expect(document.document).toEqual({
      id: expect.stringMatching(/^\d+$/),
      url: expect.stringMatching(/^https:\/\/lookaside\.fbsbx\.com\/whatsapp_business\/attachments\/\?mid=\d+&/),
      mime_type: "application/pdf",
      sha256: expect.any(String),
      filename: "CV_Yasmine_Benali.pdf",
      caption: "Mon CV",
    });
    const doc = document.document as { id: string; url: string };
    expect(new URL(doc.url).searchParams.get("mid")).toBe(doc.id);
    expect(mediaContent("image", { url: null })).not.toHaveProperty("url");
    expect(audio.audio).toMatchObject({ voice: true, mime_type: "audio/ogg; codecs=opus" });
    expect(sticker.sticker).toMatchObject({ mime_type: "image/webp", animated: false });
    expect(image.image).toMatchObject({ caption: "Mon diplôme" });
  });

  it("a template quick-reply names the template's wamid in context.id", () => {
    const templateWamid = newWamid();
    const { button } = sampleInboundMessages(candidate, {
      repliedWamid: templateWamid,
      businessNumber: "212522000000",
    });
    const [event] = messageEvents(normalize(messagesDelivery(business, candidate, [button])));
    expect(event!.message.context).toEqual({ from: "212522000000", id: templateWamid });
    expect(event!.message.content).toEqual({ text: "Je suis disponible", payload: "AVAILABLE" });
  });

  it("keeps reply context, forwards and the click-to-WhatsApp referral", () => {
    const referral = adReferral({ headline: "Chauffeurs recherchés" });
    const reply = inboundMessage(
      candidate,
      "text",
      { body: "oui" },
      { context: replyContext("wamid.ABC", "212522000000"), referral },
    );
    const forward = inboundMessage(candidate, "text", { body: "fwd" }, { context: forwardedContext(true) });
    const [a, b] = messageEvents(normalize(messagesDelivery(business, candidate, [reply, forward])));
    expect(a!.message.context).toEqual({ from: "212522000000", id: "wamid.ABC" });
    expect(a!.message.referral).toEqual(referral);
    expect(a!.message.referral).toMatchObject({ source_type: "ad", ctwa_clid: expect.any(String) });
    expect(b!.message.context).toEqual({ frequently_forwarded: true });
  });

  it("an unknown future type is read as unsupported with its raw payload", () => {
    const poll = inboundMessage(candidate, "poll", { question: "Disponible lundi ?", options: ["oui", "non"] });
    const [event] = messageEvents(normalize(messagesDelivery(business, candidate, [poll])));
    expect(event!.message).toMatchObject({ type: "unsupported", originalType: "poll", raw: poll });
  });

  it("a candidate with a business-scoped user id and no wa_id is keyed by the user id", () => {
    const anonymous = { userId: "MA.1234567890abcdef", name: "Sara" };
    const events = normalize(textMessageDelivery(business, anonymous, "Salam"));
    const [event] = messageEvents(events);
    expect(event).toMatchObject({ candidateKey: anonymous.userId, userId: anonymous.userId, profileName: "Sara" });
    expect(event!.waId).toBeUndefined();
    const raw = messagesDelivery(business, anonymous, []).entry[0]!.changes[0]!.value as { contacts: unknown[] };
    expect(raw.contacts).toEqual([{ profile: { name: "Sara" }, user_id: anonymous.userId }]);
  });
});

describe("business-scoped user ids and identity changes (2026)", () => {
  it("user ids look like Meta's and are stable per phone number", () => {
    expect(userIdForPhone("212612345678")).toBe(userIdForPhone("212612345678"));
    expect(userIdForPhone("212612345678")).not.toBe(userIdForPhone("212612345679"));
    for (const id of [userIdForPhone("212612345678"), userIdForPhone("15551234567"), newUserId(), newUserId("FR")])
      expect(isUserId(id)).toBe(true);
    expect(isUserId("212612345678")).toBe(false);
    expect(isUserId("US.13491208655302741918")).toBe(true);
  });

  it("identity-change system messages have no contacts and are keyed by the sender's old identity", () => {
    const changed = userChangedNumberMessage(candidate, "212699999999");
    const rotated = userChangedUserIdMessage("MA.11111111111111111111", "MA.22222222222222222222");
    const payload = systemMessagesDelivery(business, [changed, rotated]);
    expect((payload.entry[0]!.changes[0]!.value as { contacts?: unknown }).contacts).toBeUndefined();
    const [a, b] = messageEvents(normalize(payload));
    expect(a).toMatchObject({
      candidateKey: candidate.waId,
      userId: userIdForPhone(candidate.waId),
      message: { type: "system", content: { type: "user_changed_number", wa_id: "212699999999" } },
    });
    expect(b).toMatchObject({
      candidateKey: "MA.11111111111111111111",
      message: {
        content: {
          type: "user_changed_user_id",
          user_id: "MA.22222222222222222222",
          previous_user_id: "MA.11111111111111111111",
        },
      },
    });
  });

  it("a status names the recipient by phone and user id, or by user id alone", () => {
    expect(statusObject("wamid.1", "sent", candidate.waId)).toMatchObject({
      recipient_id: candidate.waId,
      recipient_user_id: userIdForPhone(candidate.waId),
    });
    const hidden = statusObject("wamid.1", "sent", { userId: "MA.33333333333333333333" });
    expect(hidden).not.toHaveProperty("recipient_id");
    expect(hidden.recipient_user_id).toBe("MA.33333333333333333333");
    const [event] = normalize(statusDelivery(business, [hidden]));
    expect(event).toMatchObject({ kind: "status", status: { recipientKey: "MA.33333333333333333333" } });
  });

  it("an app echo is its own field with message_echoes", () => {
    const payload = messageEchoesDelivery(business, [
      echoMessage(business.displayPhoneNumber, candidate, "text", { body: "ok" }),
    ]);
    const change = payload.entry[0]!.changes[0]!;
    expect(change.field).toBe("smb_message_echoes");
    expect((change.value as { message_echoes: unknown[] }).message_echoes).toEqual([
      expect.objectContaining({
        from: business.displayPhoneNumber,
        to: candidate.waId,
        to_user_id: userIdForPhone(candidate.waId),
        type: "text",
        text: { body: "ok" },
      }),
    ]);
  });
});

describe("statuses, value errors and other fields", () => {
  it("a status keeps pricing, biz_opaque_callback_data and errors", () => {
    const wamid = newWamid();
    const events = normalize(
      statusDelivery(business, [
        statusObject(wamid, "delivered", candidate.waId, { bizOpaque: "msg-42", pricing: statusPricing("utility") }),
        statusObject(wamid, "failed", candidate.waId, {
          errors: [graphError(131047, "Re-engagement message", "More than 24 hours have passed")],
        }),
      ]),
    );
    expect(events).toEqual([
      expect.objectContaining({
        kind: "status",
        status: expect.objectContaining({
          wamid,
          status: "delivered",
          recipientKey: candidate.waId,
          bizOpaqueCallbackData: "msg-42",
          pricing: { billable: true, pricingModel: "PMP", type: "regular", category: "utility" },
        }),
      }),
      expect.objectContaining({
        kind: "status",
        status: expect.objectContaining({
          status: "failed",
          errors: [
            {
              code: 131047,
              title: "Re-engagement message",
              message: "Re-engagement message",
              error_data: { details: "More than 24 hours have passed" },
              href: ERROR_CODES_URL,
            },
          ],
        }),
      }),
    ]);
    expect(statusPricing("service")).toEqual({
      billable: false,
      pricing_model: "PMP",
      type: "free_customer_service",
      category: "service",
    });
  });

  it("value-level errors become a value_errors event", () => {
    const events = normalize(
      valueErrorsDelivery(business, [
        graphError(131042, "Business eligibility payment issue", "payment method missing"),
      ]),
    );
    expect(events).toEqual([
      expect.objectContaining({
        kind: "value_errors",
        phoneNumberId: business.phoneNumberId,
        errors: [expect.objectContaining({ code: 131042 })],
      }),
    ]);
  });

  it("account_update, message_template_status_update and phone_number_quality_update validate", () => {
    // One POST with one entry per field, as three deliveries merged.
    const parts = [
      accountUpdateDelivery(business.wabaId, { event: "PARTNER_REMOVED", phoneNumber: "212522000000" }),
      templateStatusDelivery(business.wabaId, {
        event: "REJECTED",
        templateId: "998877",
        name: "premier_contact",
        language: "fr",
        reason: "INCORRECT_CATEGORY",
        category: "MARKETING",
      }),
      qualityUpdateDelivery(business.wabaId, {
        displayPhoneNumber: "212522000000",
        event: "DOWNGRADE",
        currentLimit: "TIER_250",
        oldLimit: "TIER_1K",
      }),
    ];
    const events = normalize({ object: "whatsapp_business_account", entry: parts.flatMap((p) => p.entry) });
    expect(events.map((e) => e.kind === "account" && [e.field, e.valid, e.time instanceof Date])).toEqual([
      ["account_update", true, true],
      ["message_template_status_update", true, true],
      ["phone_number_quality_update", true, true],
    ]);
    expect(events[0]).toMatchObject({
      value: { event: "PARTNER_REMOVED", phone_number: "212522000000", waba_info: { waba_id: business.wabaId } },
    });
    expect(events[1]).toMatchObject({
      value: { message_template_id: "998877", message_template_name: "premier_contact", reason: "INCORRECT_CATEGORY" },
    });
    // Meta sends the template id as a number.
    const raw = templateStatusDelivery(business.wabaId, {
      event: "APPROVED",
      templateId: "998877",
      name: "n",
      language: "fr",
    });
    expect(raw.entry[0]!.changes[0]!.value).toMatchObject({ message_template_id: 998877, reason: "NONE" });
    expect(Number.isInteger(raw.entry[0]!.time)).toBe(true);
  });

  it("a batch of entries × changes × messages and statuses yields every element", () => {
    const other = { wabaId: "999", phoneNumberId: "777", displayPhoneNumber: "212522111111" };
    const c2 = { waId: "212699887766", name: "Omar" };
    const msgs = (c: typeof candidate, n: number) =>
      Array.from({ length: n }, (_, i) => inboundMessage(c, "text", { body: `message ${i} ✨` }));
    const payload = delivery([
      {
        wabaId: business.wabaId,
        changes: [
          {
            field: "messages",
            value: messagesValue(business, {
              contacts: [contactOf(candidate), contactOf(c2)],
              messages: [...msgs(candidate, 3), ...msgs(c2, 2)],
            }),
          },
          {
            field: "messages",
            value: messagesValue(business, {
              statuses: [statusObject(newWamid(), "read", candidate.waId), statusObject(newWamid(), "sent", c2.waId)],
            }),
          },
        ],
      },
      {
        wabaId: other.wabaId,
        changes: [
          { field: "messages", value: messagesValue(other, { contacts: [contactOf(c2)], messages: msgs(c2, 4) }) },
        ],
      },
      {
        wabaId: other.wabaId,
        time: 1_700_000_000,
        changes: [{ field: "account_update", value: { event: "ACCOUNT_RECONNECTED" } }],
      },
    ]);
    const events = normalize(payload);
    expect(events.filter((e) => e.kind === "malformed")).toEqual([]);
    expect(events.filter((e) => e.kind === "message")).toHaveLength(9);
    expect(events.filter((e) => e.kind === "status")).toHaveLength(2);
    expect(events.filter((e) => e.kind === "account")).toHaveLength(1);
    // Each message is attributed to its own sender's profile.
    expect(messageEvents(events).filter((e) => e.profileName === "Omar")).toHaveLength(6);
    expect(fieldDelivery("1", "account_update", {}, 5).entry[0]).toEqual({
      id: "1",
      time: 5,
      changes: [{ field: "account_update", value: {} }],
    });
  });
});

describe("calls and history: shapes of Meta's other messages-envelope fields, recorded by the gateway", () => {
  it("a call's connect and terminate carry the call id, the user and the outcome; the gateway records both", () => {
    const connect = callsDelivery(business, candidate, { event: "connect" });
    const terminate = callsDelivery(business, candidate, {
      event: "terminate",
      status: "Completed",
      durationSeconds: 30,
    });
    const call = (connect.entry[0]!.changes[0]!.value as { calls: Array<Record<string, unknown>> }).calls[0]!;
    expect(call).toMatchObject({
      id: expect.stringMatching(/^wacid\./),
      from: candidate.waId,
      from_user_id: userIdForPhone(candidate.waId),
      event: "connect",
      direction: "USER_INITIATED",
      session: { sdp_type: "offer", sdp: expect.stringContaining("v=0") },
    });
    const ended = (terminate.entry[0]!.changes[0]!.value as { calls: Array<Record<string, unknown>> }).calls[0]!;
    expect(ended).toMatchObject({ event: "terminate", status: "Completed", duration: 30 });
    for (const payload of [connect, terminate]) {
      const events = normalize(payload);
      expect(events).toEqual([expect.objectContaining({ kind: "account", field: "calls", valid: true })]);
    }
  });

  it("history shares past threads in chunks; the gateway records them without losing the delivery", () => {
    const payload = historyDelivery(
      business,
      [{ waId: candidate.waId, messages: [{ text: "Bonjour, je postule" }, { fromBusiness: true, text: "Merci !" }] }],
      { phase: 1, chunkOrder: 2, progress: 60 },
    );
    const value = payload.entry[0]!.changes[0]!.value as {
      history: Array<{ metadata: unknown; threads: Array<{ messages: unknown[] }> }>;
    };
    const history = value.history[0]!;
    expect(history.metadata).toEqual({ phase: 1, chunk_order: 2, progress: 60 });
    expect(history.threads[0]!.messages).toEqual([
      expect.objectContaining({
        from: candidate.waId,
        text: { body: "Bonjour, je postule" },
        history_context: { status: "READ" },
      }),
      expect.objectContaining({
        to: candidate.waId,
        text: { body: "Merci !" },
        history_context: { status: "DELIVERED" },
      }),
    ]);
    expect(normalize(payload)).toEqual([expect.objectContaining({ kind: "account", field: "history", valid: true })]);
  });
});
