import { fallbackDedupeKey, type OutboundMessageDoc, type TenantData } from "@linkojob/db";
import { expectedCost, type PriceTable } from "./pricing.js";
import { recipientCountry } from "./country-of.js";
import { enqueueSend, type OutboundQueue } from "./enqueue.js";

/** Free-form kinds that Meta refuses outside the window and that a template can stand in for. */
const FALLS_BACK: ReadonlySet<string> = new Set(["text", "interactive"]);

/**
 * 131047 (more than 24 h since the candidate last wrote) on a free-form text or interactive message
 * (buttons, list): send the template
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
  if (!FALLS_BACK.has(original.kind) || original.fallbackOf) return null;
  const est = expectedCost("template", null, false, prices, { country: recipientCountry(original.request) });
  const { message } = await tenant.outbound.create({
    conversationId: original.conversationId,
    // The text (or the buttons, the list) cannot be sent: the template alone goes (the dashboard shows both).
    request: { ...original.request, message: null, interactive: null } as typeof original.request,
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
