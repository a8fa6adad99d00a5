import { describe, expect, it } from "vitest";
import { normalizeDelivery } from "./normalize.js";

const route = { wabaId: "102290129340398", phoneNumberId: "106540352242922" };
const echoesDelivery = (echoes: unknown) => ({
  object: "whatsapp_business_account",
  entry: [
    {
      id: route.wabaId,
      changes: [
        {
          field: "smb_message_echoes",
          value: {
            messaging_product: "whatsapp",
            metadata: { display_phone_number: "212500000000", phone_number_id: route.phoneNumberId },
            message_echoes: echoes,
          },
        },
      ],
    },
  ],
});

describe("smb_message_echoes (coexistence app echoes)", () => {
  it("each echo is an echo event whose candidate is the recipient (to, else to_user_id)", () => {
    const events = normalizeDelivery(
      echoesDelivery([
        {
          from: "212500000000",
          to: "212612345678",
          to_user_id: "MA.1234567890",
          id: "wamid.E1",
          timestamp: "1767225600",
          type: "text",
          text: { body: "Bonjour, je vous appelle demain" },
        },
        {
          from: "212500000000",
          to_user_id: "MA.999",
          id: "wamid.E2",
          timestamp: "1767225601",
          type: "image",
          image: { id: "m1", mime_type: "image/jpeg", sha256: "x" },
        },
      ]),
    );
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      kind: "echo",
      ...route,
      candidateKey: "212612345678",
      waId: "212612345678",
      userId: "MA.1234567890",
      message: {
        wamid: "wamid.E1",
        type: "text",
        text: "Bonjour, je vous appelle demain",
        timestamp: new Date(1767225600_000),
      },
      location: { path: "$.entry[0].changes[0].value.message_echoes[0]", index: 0 },
    });
    expect(events[1]).toMatchObject({
      kind: "echo",
      candidateKey: "MA.999",
      userId: "MA.999",
      message: { wamid: "wamid.E2", type: "image" },
    });
    expect(events[1]).not.toHaveProperty("waId");
  });

  it("an echo without a recipient or an id is malformed; the others of the delivery still count", () => {
    const events = normalizeDelivery(
      echoesDelivery([
        { from: "212500000000", id: "wamid.E3", timestamp: "1767225600", type: "text", text: { body: "x" } },
        { from: "212500000000", to: "212612345678", timestamp: "1767225600", type: "text", text: { body: "y" } },
        {
          from: "212500000000",
          to: "212612345678",
          id: "wamid.E4",
          timestamp: "1767225600",
          type: "text",
          text: { body: "z" },
        },
      ]),
    );
    expect(events.map((e) => e.kind)).toEqual(["malformed", "malformed", "echo"]);
    expect(events[0]).toMatchObject({ field: "smb_message_echoes", reason: expect.stringMatching(/to_user_id/) });
  });

  it("message_echoes that is not an array is malformed, not an account event", () => {
    const events = normalizeDelivery(echoesDelivery({ nope: 1 }));
    expect(events).toEqual([expect.objectContaining({ kind: "malformed", field: "smb_message_echoes" })]);
  });
});
