import { fallbackDedupeKey, type OutboundMessageDoc, type TenantData } from "@linkojob/db";
import { expectedCost, type PriceTable } from "./pricing";
import { recipientCountry } from "./country-of";
import { enqueueSend, type OutboundQueue } from "./enqueue";

/**
 * 131047 (more than 24 h since the candidate last wrote) on a free-form text: send the template
 * instead, once. The fallback is a message of its own whose dedupe key is derived from the original,
 * so the synchronous error and a later `failed` status webhook for the same text (or a redelivery of
 * it) create one fallback between them, never two. Returns the fallback's id, or null when none applies.
 */
export async function createTemplateFallback(
  tenant: TenantData,
  queue: OutboundQueue,
  original: Pick<OutboundMessageDoc, "_id" | "conversationId" | "request" | "kind" | "fallbackOf">,
  prices?: PriceTable,
): Promise<string | null> {
  if (original.kind !== "text" || original.fallbackOf) return null;
  const est = expectedCost("template", null, false, prices, { country: recipientCountry(original.request) });
  const { message } = await tenant.outbound.create({
    conversationId: original.conversationId,
    // The text itself cannot be sent: the template alone goes (the dashboard shows both).
    request: { ...original.request, message: null },
    kind: "template",
    cost: est.cost,
    costCategory: est.category,
    dedupeKey: fallbackDedupeKey(original._id.toHexString()),
    fallbackOf: original._id,
  });
  await tenant.outbound.linkFallback(original._id, message._id);
  const messageId = message._id.toHexString();
  await enqueueSend(queue, { clientId: tenant.clientId.toHexString(), messageId, kind: "template" });
  return messageId;
}
