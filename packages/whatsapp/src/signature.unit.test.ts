import { describe, expect, it } from "vitest";
import { createHmac } from "node:crypto";
import { signWebhookBody, verifyWebhookSignature } from "./signature.js";

const secret = "app-secret-for-tests";
// Meta sends non-ASCII as UTF-8 bytes and signs those bytes; a re-serialisation may escape them.
const texts = ["Bonjour, je suis intéressé par le poste à Casablanca", "مرحبا، أنا مهتم بالوظيفة", "Merci 🙏🏽👍"];

describe("webhook signature", () => {
  it.each(texts)("accepts the signature of the raw bytes for %s", (text) => {
    const raw = Buffer.from(`{"object":"whatsapp_business_account","entry":[{"text":"${text}"}]}`, "utf8");
    const header = "sha256=" + createHmac("sha256", secret).update(raw).digest("hex");
    expect(verifyWebhookSignature(raw, header, secret)).toBe(true);
    // The same content escaped (as JSON.stringify of a re-parse may produce elsewhere) is other bytes.
    const escaped = Buffer.from(
      JSON.stringify(JSON.parse(raw.toString())).replace(
        /[\u007f-\uffff]/g,
        (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
      ),
    );
    expect(verifyWebhookSignature(escaped, header, secret)).toBe(false);
  });

  it("rejects forged, truncated, missing and malformed signatures", () => {
    const raw = Buffer.from('{"a":"é"}');
    const good = signWebhookBody(raw, secret);
    expect(verifyWebhookSignature(raw, good, secret)).toBe(true);
    expect(verifyWebhookSignature(raw, signWebhookBody(raw, "other-secret"), secret)).toBe(false);
    expect(verifyWebhookSignature(raw, good.slice(0, -2), secret)).toBe(false);
    expect(verifyWebhookSignature(raw, undefined, secret)).toBe(false);
    expect(verifyWebhookSignature(raw, "sha1=" + good.slice(7), secret)).toBe(false);
    expect(verifyWebhookSignature(raw, "sha256=zz" + good.slice(9), secret)).toBe(false);
    expect(verifyWebhookSignature(raw, [good], secret)).toBe(false);
  });
});
