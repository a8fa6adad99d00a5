import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  normalizeDelivery,
  verifyWebhookSignature,
  type InboundEvent,
  type NormalizedMessage,
} from "@linkojob/whatsapp";
import { freePort } from "@linkojob/testing";
import { MetaSimulator } from "../simulator.js";
import { startRecordingReceiver, type RecordingReceiver } from "./recording-receiver.js";
import { userIdForPhone } from "./user-ids.js";
import { ERROR_CODES_URL } from "./payloads.js";

const secret = "sim-control-test-secret";
const business = { phoneNumberId: "555000111", wabaId: "100200300", displayPhoneNumber: "212522000000" };

let receiver: RecordingReceiver;
let sim: MetaSimulator;

beforeAll(async () => {
  // Stands in for the ingress: 200 for a good signature, 401 otherwise.
  receiver = await startRecordingReceiver((post) =>
    verifyWebhookSignature(post.raw, post.headers["x-hub-signature-256"], secret) ? 200 : 401,
  );
  sim = await MetaSimulator.create({ appSecret: secret, webhookUrl: receiver.url });
  await sim.listen();
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
});
afterEach(() => {
  receiver.received.length = 0;
});

async function call(method: string, path: string, body?: unknown, target = sim) {
  const res = await fetch(target.url + path, {
    method,
    ...(body !== undefined
      ? {
          headers: { "content-type": "application/json" },
          body: typeof body === "string" ? body : JSON.stringify(body),
        }
      : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** The one delivery the receiver got, checked for its signature and normalized. */
function receivedEvents(): InboundEvent[] {
  expect(receiver.received).toHaveLength(1);
  const [post] = receiver.received;
  expect(verifyWebhookSignature(post!.raw, post!.headers["x-hub-signature-256"], secret)).toBe(true);
  return normalizeDelivery(JSON.parse(post!.raw.toString("utf8")));
}

const reply = (fields: Record<string, unknown>) => ({ ...business, from: "212612345678", name: "Yasmine", ...fields });

describe("POST /_sim/candidates/reply delivers every inbound type, signed", () => {
  const cases: Array<
    [
      string,
      Record<string, unknown>,
      {
        type: string;
        originalType?: string;
        content?: unknown;
        text?: string | null;
        check?: (m: NormalizedMessage) => void;
      },
    ]
  > = [
    [
      "text (French, Arabic, emoji)",
      { type: "text", text: "Bonjour ! مرحبا 👋" },
      { type: "text", content: { body: "Bonjour ! مرحبا 👋" } },
    ],
    [
      "image with caption",
      { type: "image", text: "Mon diplôme", media: { id: "111", mimeType: "image/png", sha256: "abc=", url: null } },
      { type: "image", content: { id: "111", mime_type: "image/png", sha256: "abc=", caption: "Mon diplôme" } },
    ],
    [
      "image with Meta's lookaside url (2026)",
      { type: "image", media: { id: "112" } },
      {
        type: "image",
        check: (m) =>
          expect(m.content).toMatchObject({
            id: "112",
            url: expect.stringMatching(/^https:\/\/lookaside\.fbsbx\.com\/whatsapp_business\/attachments\/\?mid=112&/),
          }),
      },
    ],
    [
      "video",
      { type: "video" },
      {
        type: "video",
        check: (m) => expect(m.content).toMatchObject({ id: expect.any(String), mime_type: "video/mp4" }),
      },
    ],
    [
      "audio voice note",
      { type: "audio", media: { voice: true } },
      { type: "audio", text: "[voice message]", check: (m) => expect(m.content).toMatchObject({ voice: true }) },
    ],
    [
      "document (a CV)",
      { type: "document", media: { filename: "CV_Yasmine.pdf", caption: "Mon CV" } },
      {
        type: "document",
        check: (m) =>
          expect(m.content).toMatchObject({
            filename: "CV_Yasmine.pdf",
            caption: "Mon CV",
            mime_type: "application/pdf",
            sha256: expect.any(String),
          }),
      },
    ],
    [
      "sticker",
      { type: "sticker", media: { animated: true } },
      { type: "sticker", check: (m) => expect(m.content).toMatchObject({ mime_type: "image/webp", animated: true }) },
    ],
    [
      "location",
      { type: "location", location: { latitude: 33.57, longitude: -7.59, name: "Maarif", address: "Casablanca" } },
      {
        type: "location",
        content: { latitude: 33.57, longitude: -7.59, name: "Maarif", address: "Casablanca" },
        text: "Maarif",
      },
    ],
    [
      "contacts",
      {
        type: "contacts",
        contacts: [
          {
            formattedName: "Karim",
            phones: [{ phone: "+212661234567", waId: "212661234567" }],
            emails: [{ email: "k@example.ma" }],
          },
        ],
      },
      {
        type: "contacts",
        content: [
          {
            name: { formatted_name: "Karim" },
            phones: [{ phone: "+212661234567", wa_id: "212661234567", type: "CELL" }],
            emails: [{ email: "k@example.ma", type: "WORK" }],
          },
        ],
      },
    ],
    [
      "interactive button_reply",
      {
        type: "interactive",
        interactive: { type: "button_reply", id: "yes", title: "Oui" },
        context: { id: "wamid.ASKED" },
      },
      {
        type: "interactive",
        content: { type: "button_reply", button_reply: { id: "yes", title: "Oui" } },
        check: (m) => expect(m.context).toEqual({ from: business.displayPhoneNumber, id: "wamid.ASKED" }),
      },
    ],
    [
      "interactive list_reply",
      {
        type: "interactive",
        interactive: { type: "list_reply", id: "slot-2", title: "Mardi 10h", description: "Entretien" },
      },
      {
        type: "interactive",
        content: { type: "list_reply", list_reply: { id: "slot-2", title: "Mardi 10h", description: "Entretien" } },
      },
    ],
    [
      "interactive nfm_reply (a Flow)",
      { type: "interactive", interactive: { type: "nfm_reply", response: { experience: "3 ans" } } },
      {
        type: "interactive",
        content: {
          type: "nfm_reply",
          nfm_reply: { name: "flow", body: "Sent", response_json: '{"experience":"3 ans"}' },
          // The gateway's reading of the answers, beside them as sent.
          flow: { name: "flow", answers: { experience: "3 ans" } },
        },
      },
    ],
    [
      "button (template quick reply)",
      { type: "button", button: { text: "Disponible", payload: "AVAILABLE", templateWamid: "wamid.TEMPLATE" } },
      {
        type: "button",
        content: { text: "Disponible", payload: "AVAILABLE" },
        check: (m) => expect(m.context).toEqual({ from: business.displayPhoneNumber, id: "wamid.TEMPLATE" }),
      },
    ],
    [
      "reaction",
      { type: "reaction", reaction: { messageId: "wamid.X", emoji: "❤️" } },
      { type: "reaction", content: { message_id: "wamid.X", emoji: "❤️" } },
    ],
    [
      "reaction removed",
      { type: "reaction", reaction: { messageId: "wamid.X" } },
      { type: "reaction", content: { message_id: "wamid.X" }, text: "removed a reaction" },
    ],
    [
      "order",
      {
        type: "order",
        order: {
          catalogId: "cat-1",
          text: "merci",
          items: [{ productRetailerId: "p1", quantity: 2, itemPrice: 50, currency: "MAD" }],
        },
      },
      {
        type: "order",
        content: {
          catalog_id: "cat-1",
          text: "merci",
          product_items: [{ product_retailer_id: "p1", quantity: 2, item_price: 50, currency: "MAD" }],
        },
      },
    ],
    [
      "system (changed number, pre-2026 shape)",
      { type: "system", system: { type: "customer_changed_number", newWaId: "212699999999" } },
      {
        type: "system",
        check: (m) =>
          expect(m.content).toMatchObject({
            type: "customer_changed_number",
            wa_id: "212612345678",
            new_wa_id: "212699999999",
            body: expect.any(String),
          }),
      },
    ],
    [
      "system (user_changed_number, 2026 shape)",
      { type: "system", system: { newWaId: "212699999999" } },
      {
        type: "system",
        check: (m) =>
          expect(m.content).toEqual({
            type: "user_changed_number",
            wa_id: "212699999999",
            user_id: userIdForPhone("212612345678"),
            body: "User Yasmine changed from 212612345678 to 212699999999",
          }),
      },
    ],
    ["request_welcome", { type: "request_welcome" }, { type: "request_welcome", content: null }],
    [
      "unsupported",
      { type: "unsupported", unsupported: { type: "edit", reason: "unavailable" } },
      {
        type: "unsupported",
        content: { type: "edit" },
        check: (m) => expect(m.errors).toEqual([expect.objectContaining({ code: 131060 })]),
      },
    ],
    [
      "an unknown future type",
      { type: "poll", payload: { question: "Lundi ?" } },
      {
        type: "unsupported",
        originalType: "poll",
        check: (m) => expect(m.raw).toMatchObject({ type: "poll", poll: { question: "Lundi ?" } }),
      },
    ],
  ];

  it.each(cases)("%s", async (_label, fields, expected) => {
    const res = await call("POST", "/_sim/candidates/reply", reply(fields));
    expect(res.status).toBe(200);
    expect(res.json.delivery).toEqual({ status: 200, body: "EVENT_RECEIVED", attempts: 1 });
    expect(res.json.wamid).toMatch(/^wamid\./);
    const events = receivedEvents();
    expect(events).toHaveLength(1);
    const event = events[0] as Extract<InboundEvent, { kind: "message" }>;
    expect(event).toMatchObject({
      kind: "message",
      phoneNumberId: business.phoneNumberId,
      wabaId: business.wabaId,
      candidateKey: "212612345678",
    });
    // Every message carries the candidate's user id; system messages come without contacts (no profile).
    expect(event.userId).toBe(userIdForPhone("212612345678"));
    if (fields.type === "system") expect(event.profileName).toBeUndefined();
    else expect(event.profileName).toBe("Yasmine");
    expect(event.message.wamid).toBe(res.json.wamid);
    expect(event.message.type).toBe(expected.type);
    expect(event.message.originalType).toBe(expected.originalType ?? fields.type);
    if ("content" in expected) expect(event.message.content).toEqual(expected.content);
    if ("text" in expected) expect(event.message.text).toBe(expected.text);
    expected.check?.(event.message);
  });

  it("honours userId without wa_id, a given wamid and timestamp, a forward and an ad referral", async () => {
    const res = await call("POST", "/_sim/candidates/reply", {
      ...business,
      userId: "MA.user.42",
      type: "text",
      text: "Vu votre annonce",
      id: "wamid.FIXED",
      timestamp: 1_760_000_000,
      context: { forwarded: true },
      referral: { headline: "Caristes recherchés", sourceType: "ad" },
    });
    expect(res.status).toBe(200);
    expect(res.json.wamid).toBe("wamid.FIXED");
    const [event] = receivedEvents() as Array<Extract<InboundEvent, { kind: "message" }>>;
    expect(event).toMatchObject({ candidateKey: "MA.user.42", userId: "MA.user.42" });
    expect(event!.waId).toBeUndefined();
    expect(event!.message.timestamp.toISOString()).toBe(new Date(1_760_000_000_000).toISOString());
    expect(event!.message.context).toEqual({ forwarded: true });
    expect(event!.message.referral).toMatchObject({
      headline: "Caristes recherchés",
      source_type: "ad",
      ctwa_clid: expect.any(String),
    });
  });

  it("sends Meta's escaped form by default, and raw UTF-8 when asked, both verifying", async () => {
    const escaped = await call("POST", "/_sim/candidates/reply", reply({ type: "text", text: "Très bien ✅" }));
    expect(escaped.json.delivery.status).toBe(200);
    expect(receiver.received[0]!.raw.toString("latin1")).toContain("Tr\\u00e8s bien \\u2705");
    const raw = await call(
      "POST",
      "/_sim/candidates/reply",
      reply({ type: "text", text: "Très bien ✅", encoding: "utf8" }),
    );
    expect(raw.json.delivery.status).toBe(200);
    expect(receiver.received[1]!.raw.includes(Buffer.from("Très bien ✅", "utf8"))).toBe(true);
  });
});

/** The one delivery the receiver got, as JSON (for shapes the normalizer does not read yet). */
function receivedJson() {
  expect(receiver.received).toHaveLength(1);
  const [post] = receiver.received;
  expect(verifyWebhookSignature(post!.raw, post!.headers["x-hub-signature-256"], secret)).toBe(true);
  return JSON.parse(post!.raw.toString("utf8"));
}

describe("Meta's 2026 shapes", () => {
  it("every message carries from_user_id and the contact's user_id; null sends a pre-2026 payload", async () => {
    await call("POST", "/_sim/candidates/reply", reply({ type: "text", text: "Bonjour" }));
    const value = receivedJson().entry[0].changes[0].value;
    expect(value.contacts).toEqual([
      { profile: { name: "Yasmine" }, wa_id: "212612345678", user_id: userIdForPhone("212612345678") },
    ]);
    expect(value.messages[0]).toMatchObject({ from: "212612345678", from_user_id: userIdForPhone("212612345678") });
    expect(userIdForPhone("212612345678")).toMatch(/^MA\.\d{20}$/);
    expect(userIdForPhone("33612345678")).toMatch(/^FR\./);
    receiver.received.length = 0;

    await call("POST", "/_sim/candidates/reply", reply({ type: "text", text: "Bonjour", userId: null }));
    const legacy = receivedJson().entry[0].changes[0].value;
    expect(legacy.contacts).toEqual([{ profile: { name: "Yasmine" }, wa_id: "212612345678" }]);
    expect(legacy.messages[0].from_user_id).toBeUndefined();
  });

  it("a username-only candidate: no from, no wa_id; the username in the profile", async () => {
    const res = await call("POST", "/_sim/candidates/reply", {
      ...business,
      userId: "MA.70000000000000000001",
      username: "sara.casa",
      name: "Sara",
      type: "text",
      text: "Salam",
    });
    expect(res.status).toBe(200);
    const value = receivedJson().entry[0].changes[0].value;
    expect(value.contacts).toEqual([
      { profile: { name: "Sara", username: "sara.casa" }, user_id: "MA.70000000000000000001" },
    ]);
    expect(Object.keys(value.messages[0]).sort()).toEqual(["from_user_id", "id", "text", "timestamp", "type"]);
  });

  it("a user_changed_user_id system message through /_sim/candidates/reply", async () => {
    const res = await call("POST", "/_sim/candidates/reply", {
      ...business,
      userId: "MA.70000000000000000001",
      type: "system",
      system: { type: "user_changed_user_id", newUserId: "MA.70000000000000000002" },
    });
    expect(res.status).toBe(200);
    const value = receivedJson().entry[0].changes[0].value;
    expect(value.contacts).toBeUndefined();
    expect(value.messages[0]).toMatchObject({
      from_user_id: "MA.70000000000000000001",
      type: "system",
      system: {
        type: "user_changed_user_id",
        user_id: "MA.70000000000000000002",
        previous_user_id: "MA.70000000000000000001",
        body: expect.any(String),
      },
    });
    expect(value.messages[0].from).toBeUndefined();
  });

  it("POST /_sim/webhooks/status: recipient_user_id always (derived, or alone for a hidden phone), href on errors", async () => {
    await call("POST", "/_sim/webhooks/status", {
      ...business,
      wamid: "wamid.S1",
      status: "failed",
      recipientId: "212612345678",
      errors: [{ code: 131026, title: "Message undeliverable" }],
    });
    const value = receivedJson().entry[0].changes[0].value;
    const [status] = value.statuses;
    expect(status).toMatchObject({ recipient_id: "212612345678", recipient_user_id: userIdForPhone("212612345678") });
    expect(value.contacts).toEqual([{ wa_id: "212612345678", user_id: userIdForPhone("212612345678") }]);
    expect(status.errors).toEqual([
      { code: 131026, title: "Message undeliverable", message: "Message undeliverable", href: ERROR_CODES_URL },
    ]);
    receiver.received.length = 0;

    await call("POST", "/_sim/webhooks/status", {
      ...business,
      wamid: "wamid.S2",
      status: "delivered",
      recipientUserId: "MA.70000000000000000001",
      pricing: { category: "utility", type: "free_customer_service" },
    });
    const [hidden] = receivedJson().entry[0].changes[0].value.statuses;
    expect(hidden.recipient_id).toBeUndefined();
    expect(hidden).toMatchObject({
      recipient_user_id: "MA.70000000000000000001",
      pricing: { billable: false, pricing_model: "PMP", type: "free_customer_service", category: "utility" },
    });
  });

  it("POST /_sim/business/echo: a message typed in the WhatsApp Business app, as smb_message_echoes", async () => {
    const res = await call("POST", "/_sim/business/echo", {
      ...business,
      to: "212612345678",
      text: "Je vous rappelle demain 👍",
      timestamp: 1_760_000_000,
    });
    expect(res.status).toBe(200);
    expect(res.json.wamid).toMatch(/^wamid\./);
    const change = receivedJson().entry[0].changes[0];
    expect(change.field).toBe("smb_message_echoes");
    expect(change.value).toEqual({
      messaging_product: "whatsapp",
      metadata: { display_phone_number: business.displayPhoneNumber, phone_number_id: business.phoneNumberId },
      message_echoes: [
        {
          from: business.displayPhoneNumber,
          to: "212612345678",
          to_user_id: userIdForPhone("212612345678"),
          id: res.json.wamid,
          timestamp: "1760000000",
          type: "text",
          text: { body: "Je vous rappelle demain 👍" },
        },
      ],
    });
    receiver.received.length = 0;

    // To a username-only candidate, with a document.
    await call("POST", "/_sim/business/echo", {
      ...business,
      toUserId: "MA.70000000000000000001",
      type: "document",
      media: { filename: "Fiche_poste.pdf" },
    });
    const [echo] = receivedJson().entry[0].changes[0].value.message_echoes;
    expect(echo.to).toBeUndefined();
    expect(echo).toMatchObject({
      to_user_id: "MA.70000000000000000001",
      type: "document",
      document: { filename: "Fiche_poste.pdf", mime_type: "application/pdf" },
    });
  });
});

describe("other control endpoints", () => {
  it("POST /_sim/webhooks/deliver passes a payload through and returns the ingress's status", async () => {
    const payload = { object: "whatsapp_business_account", entry: [{ id: "1", changes: [] }], note: "é" };
    const ok = await call("POST", "/_sim/webhooks/deliver", { payload });
    expect(ok.json.delivery).toMatchObject({ status: 200, attempts: 1 });
    expect(JSON.parse(receiver.received[0]!.raw.toString("utf8"))).toEqual(payload);

    const forged = await call("POST", "/_sim/webhooks/deliver", { payload, signature: "sha256=" + "ab".repeat(32) });
    expect(forged.json.delivery).toMatchObject({ status: 401 });
    const unsigned = await call("POST", "/_sim/webhooks/deliver", { payload, signature: null });
    expect(unsigned.json.delivery).toMatchObject({ status: 401 });
    expect(receiver.received[2]!.headers["x-hub-signature-256"]).toBeUndefined();

    const raw = await call("POST", "/_sim/webhooks/deliver", { raw: "{not json" });
    expect(raw.json.delivery.status).toBe(200);
    expect(receiver.received[3]!.raw.toString()).toBe("{not json");
  });

  it("POST /_sim/webhooks/status delivers a status; failed gets default errors", async () => {
    const res = await call("POST", "/_sim/webhooks/status", {
      ...business,
      wamid: "wamid.OUT1",
      status: "failed",
      recipientId: "212612345678",
      bizOpaqueCallbackData: "our-id-7",
      pricing: { category: "marketing" },
    });
    expect(res.status).toBe(200);
    expect(receivedEvents()).toEqual([
      expect.objectContaining({
        kind: "status",
        status: expect.objectContaining({
          wamid: "wamid.OUT1",
          status: "failed",
          recipientKey: "212612345678",
          bizOpaqueCallbackData: "our-id-7",
          pricing: expect.objectContaining({ category: "marketing", billable: true }),
          errors: [expect.objectContaining({ code: 131026 })],
        }),
      }),
    ]);
  });

  it("POST /_sim/webhooks/field delivers account_update and friends with an integer entry.time", async () => {
    const res = await call("POST", "/_sim/webhooks/field", {
      wabaId: business.wabaId,
      field: "account_update",
      value: { event: "ACCOUNT_RESTRICTION" },
      time: 1_760_000_000,
    });
    expect(res.status).toBe(200);
    const events = receivedEvents();
    expect(events).toEqual([
      expect.objectContaining({
        kind: "account",
        field: "account_update",
        valid: true,
        value: expect.objectContaining({ event: "ACCOUNT_RESTRICTION" }),
      }),
    ]);
    expect(JSON.parse(receiver.received[0]!.raw.toString()).entry[0].time).toBe(1_760_000_000);
  });

  it("GET/PUT /_sim/webhooks/target and the delivery log", async () => {
    await call("DELETE", "/_sim/webhooks/deliveries");
    expect((await call("GET", "/_sim/webhooks/target")).json).toEqual({ url: receiver.url });
    await call("POST", "/_sim/candidates/reply", reply({ type: "text", text: "un" }));
    await call("POST", "/_sim/candidates/reply", reply({ type: "text", text: "deux" }));
    const log = await call("GET", "/_sim/webhooks/deliveries?limit=1");
    expect(log.json.deliveries).toHaveLength(1);
    expect(log.json.deliveries[0]).toMatchObject({ url: receiver.url, status: 200, attempts: 1 });
    expect(log.json.deliveries[0].body).toContain("deux");

    const other = await startRecordingReceiver();
    try {
      expect((await call("PUT", "/_sim/webhooks/target", { url: other.url })).json).toEqual({ url: other.url });
      await call("POST", "/_sim/candidates/reply", reply({ type: "text", text: "trois" }));
      expect(other.received).toHaveLength(1);
    } finally {
      await call("PUT", "/_sim/webhooks/target", { url: receiver.url });
      await other.close();
    }
  });

  it("answers 409 without a target and 502 when the target cannot be reached", async () => {
    const bare = await MetaSimulator.create({ appSecret: secret });
    await bare.listen();
    try {
      const res = await call("POST", "/_sim/candidates/reply", reply({ type: "text", text: "hello" }), bare);
      expect(res.status).toBe(409);
      expect(res.json.error).toMatchObject({
        code: "SIM_ERR_NO_WEBHOOK_TARGET",
        message: expect.stringContaining("WEBHOOK_URL"),
      });
      const port = await freePort();
      const down = await call(
        "POST",
        "/_sim/candidates/reply",
        reply({ type: "text", text: "hello", targetUrl: `http://127.0.0.1:${port}/webhook` }),
        bare,
      );
      expect(down.status).toBe(502);
      expect(down.json.error).toMatchObject({ code: "SIM_ERR_DELIVERY_FAILED", details: { attempts: 1 } });
    } finally {
      await bare.close();
    }
  });
});

describe("control bodies are validated: 400 naming the problem, nothing delivered", () => {
  const cases: Array<[string, string, unknown, RegExp]> = [
    [
      "reply without phoneNumberId",
      "/_sim/candidates/reply",
      { wabaId: "1", from: "212612345678", type: "text", text: "x" },
      /phoneNumberId: is required/,
    ],
    [
      "reply without from or userId",
      "/_sim/candidates/reply",
      { ...business, type: "text", text: "x" },
      /from: give from/,
    ],
    [
      "reply with a + in the wa_id",
      "/_sim/candidates/reply",
      reply({ from: "+212612345678", type: "text", text: "x" }),
      /from: must be a wa_id/,
    ],
    ["text without text", "/_sim/candidates/reply", reply({ type: "text" }), /text: is required for type text/],
    [
      "reaction without reaction",
      "/_sim/candidates/reply",
      reply({ type: "reaction" }),
      /reaction: is required for type reaction/,
    ],
    [
      "location out of range",
      "/_sim/candidates/reply",
      reply({ type: "location", location: { latitude: 123, longitude: 0 } }),
      /location\.latitude/,
    ],
    [
      "interactive of an unknown kind",
      "/_sim/candidates/reply",
      reply({ type: "interactive", interactive: { type: "carousel" } }),
      /interactive\.type: must be one of button_reply/,
    ],
    [
      "a field of another type",
      "/_sim/candidates/reply",
      reply({ type: "text", text: "x", location: { latitude: 1, longitude: 1 } }),
      /location: does not apply to type text/,
    ],
    ["a misspelt key", "/_sim/candidates/reply", reply({ type: "text", txt: "x" }), /Unrecognized key.*txt/],
    [
      "an upper-case type",
      "/_sim/candidates/reply",
      reply({ type: "Text", text: "x" }),
      /type: must be a message type/,
    ],
    [
      "deliver with both payload and raw",
      "/_sim/webhooks/deliver",
      { payload: {}, raw: "{}" },
      /payload: give exactly one/,
    ],
    ["deliver with nothing", "/_sim/webhooks/deliver", {}, /payload: give exactly one/],
    ["deliver with unbounded retries", "/_sim/webhooks/deliver", { payload: {}, retry: { attempts: 1000 } }, /retry/],
    [
      "status without recipient",
      "/_sim/webhooks/status",
      { ...business, wamid: "wamid.1", status: "read" },
      /recipientId: give recipientId/,
    ],
    [
      "system user_changed_user_id without the new id",
      "/_sim/candidates/reply",
      reply({ type: "system", system: { type: "user_changed_user_id" } }),
      /system\.newUserId: is required/,
    ],
    [
      "system user_changed_number without the new number",
      "/_sim/candidates/reply",
      reply({ type: "system", system: {} }),
      /system\.newWaId: is required/,
    ],
    [
      "a user id written like a phone",
      "/_sim/candidates/reply",
      reply({ type: "system", system: { type: "user_changed_user_id", newUserId: "212699999999" } }),
      /newUserId: must be a business-scoped user id/,
    ],
    [
      "identity change of a number without the new number",
      "/_sim/candidates/identity-change",
      { ...business, change: "number", from: "212612345678" },
      /newWaId/,
    ],
    ["echo without a recipient", "/_sim/business/echo", { ...business, text: "x" }, /to: give to/],
    [
      "text echo without text",
      "/_sim/business/echo",
      { ...business, to: "212612345678" },
      /text: is required for type text/,
    ],
    [
      "echo of a type it cannot build without payload",
      "/_sim/business/echo",
      { ...business, to: "212612345678", type: "location" },
      /payload: is required for type location/,
    ],
    [
      "field with a non-object value",
      "/_sim/webhooks/field",
      { wabaId: "1", field: "account_update", value: "x" },
      /value/,
    ],
    ["target that is not a URL", "/_sim/webhooks/target", { url: "ingress" }, /url/],
    [
      "target that is not http",
      "/_sim/webhooks/target",
      { url: "ingress:3000" },
      /url: must be an absolute http\(s\) URL/,
    ],
  ];

  it.each(cases)("%s", async (_label, path, body, message) => {
    const res = await call(path.endsWith("target") ? "PUT" : "POST", path, body);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("BAD_REQUEST");
    expect(res.json.error.message).toMatch(message);
    expect(res.json.error.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: expect.any(String), message: expect.any(String) })]),
    );
    expect(receiver.received).toHaveLength(0);
  });

  it("malformed JSON gets a 400 in the same error shape", async () => {
    const res = await call("POST", "/_sim/candidates/reply", "{oops");
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
    expect(receiver.received).toHaveLength(0);
  });
});
