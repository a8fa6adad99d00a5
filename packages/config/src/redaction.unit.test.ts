import { describe, expect, it } from "vitest";
import { redactDeep, redactLog, redactText } from "./redaction.js";

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

describe("candidate identifiers in logs", () => {
  it("masks business-scoped user ids and wamids in text and under id keys, keeping our own ids", () => {
    const line = redactLog({
      candidateUserId: "MA.a8Kd02LqPz",
      candidateKey: "212612345678",
      messageId: "wamid.HBgLMjEyNjEyMzQ1Njc4FQIAEhgUM0E",
      conversationId: "6750a1b2c3d4e5f6a7b8c9d0",
      err: new Error("no conversation for US.Zx81kq0Pw2 (from 212612345678)"),
    });
    const out = JSON.stringify(line);
    for (const secret of ["MA.a8Kd02LqPz", "US.Zx81kq0Pw2", "212612345678", "HBgLMjEyNjEyMzQ1Njc4"])
      expect(out).not.toContain(secret);
    expect(out).toContain("6750a1b2c3d4e5f6a7b8c9d0");
  });

  it("leaves ordinary words around a full stop alone", () => {
    expect(redactText("OK.Then the worker stopped")).toBe("OK.Then the worker stopped");
  });
});
