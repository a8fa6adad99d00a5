import { describe, expect, it } from "vitest";
import { redactDeep, redactText } from "./redaction.js";

describe("redactDeep", () => {
  it("masks phone numbers, text and tokens in a queued webhook body, keeping ids readable", () => {
    const body = JSON.stringify({
      object: "whatsapp_business_account",
      entry: [
        {
          id: "102290129340398",
          changes: [
            {
              field: "messages",
              value: {
                metadata: { display_phone_number: "15550783881", phone_number_id: "106540352242922" },
                contacts: [{ profile: { name: "Sara Benali" }, wa_id: "212612345678" }],
                messages: [
                  {
                    from: "212612345678",
                    id: "wamid.HBgLMjEyNjEyMzQ1Njc4FQIAEhgUM0E",
                    timestamp: "1732470000",
                    type: "text",
                    text: { body: "Bonjour, je suis intéressée" },
                  },
                ],
              },
            },
          ],
        },
      ],
    });
    const out = JSON.stringify(
      redactDeep({ deliveryId: "1732470000123-0", receivedAt: 1732470000123, body, accessToken: "EAAGsecret" }),
    );
    for (const secret of [
      "212612345678",
      "15550783881",
      "Sara Benali",
      "Bonjour",
      "EAAGsecret",
      "HBgLMjEyNjEyMzQ1Njc4",
    ])
      expect(out).not.toContain(secret);
    for (const kept of ["106540352242922", "1732470000123-0", "1732470000", "whatsapp_business_account"])
      expect(out).toContain(kept);
  });

  it("masks numbers and bearer tokens inside free text", () => {
    expect(redactText("recipient +212 612-345678 refused; Authorization: Bearer abc.def.ghi")).toBe(
      "recipient [redacted] refused; Authorization: Bearer [redacted]",
    );
  });
});
