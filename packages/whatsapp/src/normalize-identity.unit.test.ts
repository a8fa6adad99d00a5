import { describe, expect, it } from "vitest";
import type { InboundEvent } from "./inbound-event.js";
import { normalizeDelivery } from "./normalize.js";

type MessageEvent = Extract<InboundEvent, { kind: "message" }>;
const receivedAt = new Date("2026-11-29T08:00:00Z");
const ts = String(Math.floor(receivedAt.getTime() / 1000) - 60);

function deliver(value: Record<string, unknown>): MessageEvent[] {
  const payload = {
    object: "whatsapp_business_account",
    entry: [
      {
        id: "100200300",
        changes: [
          {
            field: "messages",
            value: { messaging_product: "whatsapp", metadata: { phone_number_id: "555000111" }, ...value },
          },
        ],
      },
    ],
  };
  return normalizeDelivery(payload, { receivedAt }).filter((e): e is MessageEvent => e.kind === "message");
}

describe("business-scoped identities", () => {
  it("a username-only candidate: the user id is the key, the username and parent_user_id are kept", () => {
    const [m] = deliver({
      contacts: [{ profile: { name: "Salma", username: "salma.dev" }, user_id: "MA.111", parent_user_id: "MA.999" }],
      messages: [{ from_user_id: "MA.111", id: "wamid.u1", timestamp: ts, type: "text", text: { body: "Bonjour" } }],
    });
    expect(m).toMatchObject({
      candidateKey: "MA.111",
      userId: "MA.111",
      username: "salma.dev",
      parentUserId: "MA.999",
      profileName: "Salma",
    });
    expect(m!.waId).toBeUndefined();
    expect(m!.identityChange).toBeUndefined();
  });

  it("user_changed_number: system.wa_id is the new number, from the old one", () => {
    const [m] = deliver({
      messages: [
        {
          from: "212600000001",
          from_user_id: "MA.1",
          id: "wamid.s1",
          timestamp: ts,
          type: "system",
          system: { body: "changed", type: "user_changed_number", wa_id: "212600000002", user_id: "MA.1" },
        },
      ],
    });
    expect(m).toMatchObject({ candidateKey: "212600000001", waId: "212600000001", userId: "MA.1" });
    expect(m!.identityChange).toEqual({
      kind: "phone",
      systemType: "user_changed_number",
      to: "212600000002",
      from: "212600000001",
    });
  });

  it("user_changed_number with a regenerated user id: the conversation follows to the new user id, and is found by the previous one", () => {
    const [m] = deliver({
      messages: [
        {
          from: "212600000001",
          from_user_id: "MA.2",
          id: "wamid.s2",
          timestamp: ts,
          type: "system",
          system: {
            body: "changed",
            type: "user_changed_number",
            wa_id: "212600000002",
            user_id: "MA.2",
            previous_user_id: "MA.1",
          },
        },
      ],
    });
    expect(m).toMatchObject({ candidateKey: "212600000001", waId: "212600000001", userId: "MA.1" });
    expect(m!.identityChange).toEqual({
      kind: "phone",
      systemType: "user_changed_number",
      to: "212600000002",
      from: "212600000001",
      userId: { to: "MA.2", from: "MA.1" },
    });
  });

  it("customer_changed_number (older): new_wa_id wins; wa_id alone counts only when it is not the sender's", () => {
    const [a, b, c] = deliver({
      messages: [
        {
          from: "212600000001",
          id: "wamid.c1",
          timestamp: ts,
          type: "system",
          system: { body: "x", type: "customer_changed_number", wa_id: "212600000001", new_wa_id: "212600000003" },
        },
        {
          from: "212600000001",
          id: "wamid.c2",
          timestamp: ts,
          type: "system",
          system: { body: "x", type: "customer_changed_number", wa_id: "212600000004" },
        },
        {
          from: "212600000001",
          id: "wamid.c3",
          timestamp: ts,
          type: "system",
          system: { body: "x", type: "customer_changed_number", wa_id: "212600000001" },
        },
      ],
    });
    expect(a!.identityChange).toMatchObject({ kind: "phone", to: "212600000003" });
    expect(b!.identityChange).toMatchObject({ kind: "phone", to: "212600000004" });
    expect(c!.identityChange).toBeUndefined();
  });

  it("user_changed_user_id: system.user_id replaces previous_user_id (else from_user_id)", () => {
    const [a, b] = deliver({
      messages: [
        {
          from_user_id: "MA.old",
          id: "wamid.i1",
          timestamp: ts,
          type: "system",
          system: { body: "x", type: "user_changed_user_id", user_id: "MA.new", previous_user_id: "MA.old" },
        },
        {
          from_user_id: "MA.old2",
          id: "wamid.i2",
          timestamp: ts,
          type: "system",
          system: { body: "x", type: "user_changed_user_id", user_id: "MA.new2" },
        },
      ],
    });
    expect(a).toMatchObject({
      candidateKey: "MA.old",
      identityChange: { kind: "user_id", systemType: "user_changed_user_id", to: "MA.new", from: "MA.old" },
    });
    expect(b!.identityChange).toEqual({
      kind: "user_id",
      systemType: "user_changed_user_id",
      to: "MA.new2",
      from: "MA.old2",
    });
  });
});

describe("the answer to a contact-information request", () => {
  const shared = (origin: string | undefined, from?: string) =>
    deliver({
      contacts: [{ profile: { name: "Amina" }, user_id: "MA.222", ...(from ? { wa_id: from } : {}) }],
      messages: [
        {
          ...(from ? { from } : {}),
          from_user_id: "MA.222",
          id: "wamid.SHARE",
          timestamp: ts,
          type: "contacts",
          contacts: [
            {
              ...(origin ? { origin } : {}),
              name: { formatted_name: "Amina B." },
              phones: [{ phone: "+212 6 61 23 45 67", wa_id: "212661234567", type: "CELL" }],
            },
          ],
        },
      ],
    })[0]!;

  it("a username-only candidate's contact with origin contact_request links their number (a phone identity change)", () => {
    const m = shared("contact_request");
    expect(m.candidateKey).toBe("MA.222");
    expect(m.identityChange).toEqual({ kind: "phone", systemType: "contact_request", to: "212661234567" });
  });

  it("a contact shared on the user's own initiative, or before 2026 (no origin), links nothing", () => {
    expect(shared("other").identityChange).toBeUndefined();
    expect(shared(undefined).identityChange).toBeUndefined();
  });

  it("a candidate whose number is already known keeps it (nothing to link)", () => {
    expect(shared("contact_request", "212600000001").identityChange).toBeUndefined();
  });
});
