import { signWebhookBody } from "@linkojob/whatsapp";
import { inboundMessage, messagesDelivery, newWamid } from "@linkojob/meta-simulator";

/**
 * The delivery every benchmark request carries: one candidate's text message as Meta sends it
 * (envelope, metadata, contact profile, a reply context), about 1 KB of UTF-8 with French, Arabic
 * and emoji — the bytes the signature check must hash as they are.
 */
export function benchDelivery(appSecret: string): { body: Buffer; signature: string; bytes: number } {
  const business = { wabaId: "102290129340398", phoneNumberId: "106540352242922", displayPhoneNumber: "212522123456" };
  const candidate = { waId: "212612345678", name: "Yasmine Benali ياسمين" };
  const text =
    "Bonjour Madame, je vous écris au sujet de l'offre « Technicienne de maintenance » à Casablanca. " +
    "J'ai trois ans d'expérience en électromécanique et je suis disponible dès le mois prochain. " +
    "Je peux passer l'entretien mardi ou mercredi matin. " +
    "مرحبا، أنا مهتمة بهذه الوظيفة في الدار البيضاء ولدي خبرة ثلاث سنوات. شكرا جزيلا 🙏🏽 " +
    "Merci beaucoup, bonne journée ☀️";
  const message = inboundMessage(
    candidate,
    "text",
    { body: text },
    { id: newWamid(), context: { from: business.displayPhoneNumber, id: newWamid() } },
  );
  const body = Buffer.from(JSON.stringify(messagesDelivery(business, candidate, [message])), "utf8");
  return { body, signature: signWebhookBody(body, appSecret), bytes: body.length };
}
