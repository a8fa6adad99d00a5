import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contactOf, delivery, inboundMessage, messagesValue } from "@linkojob/meta-simulator";
import type { ClientDoc } from "@linkojob/db";
import { startTrunk, type Trunk } from "../harness/trunk.harness.js";

let t: Trunk;
let client: ClientDoc;

beforeAll(async () => {
  t = await startTrunk({ label: "types" });
  client = await t.createClient();
});
afterAll(async () => t?.close());

const who = { waId: "212661234567", name: "Karim" };
const media = (mime: string, extra: Record<string, unknown> = {}) => ({
  id: "1234567890123",
  mime_type: mime,
  sha256: "c2hhMjU2LW9mLXRoZS1maWxl",
  ...extra,
});

// Every inbound message type Meta documents (`messages[].type`), with the content that must survive.
const cases: Array<{
  type: string;
  content?: unknown;
  extra?: Record<string, unknown>;
  expectType?: string;
  expectText: string | null;
  /** Reads the stored message's Meta JSON (content, context, referral, errors: schemaless) in depth. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- schemaless stored JSON, held to expect() (see eslint.config.js)
  check?: (m: any) => void;
}> = [
  { type: "text", content: { body: "Bonjour" }, expectText: "Bonjour" },
  { type: "image", content: media("image/jpeg", { caption: "mon diplôme" }), expectText: "mon diplôme" },
  { type: "video", content: media("video/mp4"), expectText: "[video]" },
  {
    type: "audio",
    content: media("audio/ogg; codecs=opus", { voice: true }),
    expectText: "[voice message]",
    check: (m) => expect(m.content.voice).toBe(true),
  },
  {
    type: "document",
    content: media("application/pdf", { filename: "CV_Karim.pdf", caption: "Mon CV" }),
    expectText: "Mon CV",
    check: (m) =>
      expect(m.content).toMatchObject({
        filename: "CV_Karim.pdf",
        mime_type: "application/pdf",
        sha256: "c2hhMjU2LW9mLXRoZS1maWxl",
        id: "1234567890123",
      }),
  },
  { type: "sticker", content: media("image/webp", { animated: false }), expectText: "[sticker]" },
  {
    type: "location",
    content: { latitude: 33.5731, longitude: -7.5898, name: "Casablanca", address: "Bd Zerktouni" },
    expectText: "Casablanca",
    check: (m) => expect(m.content.latitude).toBe(33.5731),
  },
  {
    type: "contacts",
    content: [
      {
        name: { formatted_name: "Ahmed Alaoui", first_name: "Ahmed" },
        phones: [{ phone: "+212 6 11 22 33 44", wa_id: "212611223344", type: "CELL" }],
      },
    ],
    expectText: "[contact] Ahmed Alaoui",
    check: (m) => expect(m.content[0].phones[0].wa_id).toBe("212611223344"),
  },
  {
    type: "interactive",
    content: { type: "button_reply", button_reply: { id: "slot-1", title: "Mardi 10h" } },
    expectText: "Mardi 10h",
  },
  {
    type: "interactive",
    content: { type: "list_reply", list_reply: { id: "job-7", title: "Développeur", description: "Casablanca" } },
    expectText: "Développeur",
  },
  {
    type: "interactive",
    content: { type: "nfm_reply", nfm_reply: { name: "flow", body: "Sent", response_json: '{"age":"27"}' } },
    expectText: "Sent",
    check: (m) => expect(m.content.nfm_reply.response_json).toBe('{"age":"27"}'),
  },
  {
    type: "button",
    content: { text: "Oui, intéressé", payload: "INTERESTED" },
    extra: { context: { from: "212522000001", id: "wamid.template-1" } },
    expectText: "Oui, intéressé",
    check: (m) => {
      expect(m.content.payload).toBe("INTERESTED");
      expect(m.context.id).toBe("wamid.template-1");
    },
  },
  { type: "reaction", content: { message_id: "wamid.abc", emoji: "👍" }, expectText: "reacted 👍" },
  { type: "reaction", content: { message_id: "wamid.abc" }, expectText: "removed a reaction" },
  {
    type: "order",
    content: {
      catalog_id: "cat-1",
      text: "commande",
      product_items: [{ product_retailer_id: "sku", quantity: 1, item_price: 10, currency: "MAD" }],
    },
    expectText: "commande",
  },
  {
    type: "system",
    content: {
      body: "Karim changed from 212661234567 to 212661234568",
      type: "customer_changed_number",
      new_wa_id: "212661234568",
    },
    expectText: "Karim changed from 212661234567 to 212661234568",
  },
  { type: "request_welcome", expectText: "[opened the chat]" },
  {
    type: "unsupported",
    content: { type: "poll" },
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
    expectText: "[unsupported message]",
    check: (m) => expect(m.errors[0].code).toBe(131051),
  },
  // A type Meta may add tomorrow: kept whole, never fails its batch.
  {
    type: "hologram",
    content: { shape: "cube" },
    expectType: "unsupported",
    expectText: "[unsupported message]",
    check: (m) => expect(m.originalType).toBe("hologram"),
  },
  // A known type whose content we cannot read: stored as unsupported too.
  { type: "location", content: { latitude: "north" }, expectType: "unsupported", expectText: "[unsupported message]" },
  {
    type: "text",
    content: { body: "from an ad" },
    extra: {
      referral: {
        source_url: "https://fb.me/x",
        source_type: "ad",
        source_id: "42",
        headline: "Recrutement",
        ctwa_clid: "clid",
      },
    },
    expectText: "from an ad",
    check: (m) => expect(m.referral.source_id).toBe("42"),
  },
  {
    type: "text",
    content: { body: "forwarded" },
    extra: { context: { forwarded: true } },
    expectText: "forwarded",
    check: (m) => expect(m.context.forwarded).toBe(true),
  },
];

describe("every inbound message type", () => {
  it("is stored with its content, reply context and referral, in one batch", async () => {
    const base = Math.floor(Date.now() / 1000) - 600;
    const msgs = cases.map((c, i) =>
      inboundMessage(who, c.type, c.content, { timestamp: String(base + i), ...(c.extra as object) }),
    );
    // A message without an id cannot be deduplicated: recorded as malformed, the rest still stored.
    const broken = { from: who.waId, timestamp: String(base), type: "text", text: { body: "no id" } };
    const biz = { wabaId: client.wabaId, phoneNumberId: client.phoneNumberId };
    const payload = delivery([
      {
        wabaId: biz.wabaId,
        changes: [
          { field: "messages", value: messagesValue(biz, { contacts: [contactOf(who)], messages: [...msgs, broken] }) },
        ],
      },
    ]);
    expect((await t.sim.deliver(payload)).status).toBe(200);
    await t.drain();

    const stored = await t.db.messages.find({ clientId: client._id }).sort({ timestamp: 1 }).lean();
    expect(stored).toHaveLength(cases.length);
    for (const [i, c] of cases.entries()) {
      const m = stored.find((s) => s.wamid === msgs[i]!.id)!;
      expect(m, `case ${i} ${c.type}`).toBeDefined();
      expect(m.type, `case ${i}`).toBe(c.expectType ?? c.type);
      expect(m.text, `case ${i}`).toBe(c.expectText);
      if (!c.expectType && c.content !== undefined) expect(m.content, `case ${i}`).toMatchObject(c.content as object);
      if (c.expectType === "unsupported") expect(m.raw).toMatchObject({ type: c.type });
      c.check?.(m);
    }
    const malformed = await t.db.webhookEvents.find({ kind: "malformed", phoneNumberId: client.phoneNumberId }).lean();
    expect(malformed).toHaveLength(1);
    expect(malformed[0]!.problem).toMatch(/id/);
    // Nothing failed: the job completed on the first attempt.
    expect(await t.worker.queue.getJobCounts("failed", "delayed")).toEqual({ failed: 0, delayed: 0 });
  });
});
