/**
 * The WhatsApp Flows token a send carries: an interactive flow's `flowToken`, or the parameter of a
 * template's FLOW button. Stored top-level on the outbound message (`flowToken`) so that the flows'
 * data-exchange endpoint finds the message by one equality on an indexed field: FerretDB v1 does not
 * push a filter on a nested path (`request.interactive.flowToken`) down to PostgreSQL and reads every
 * message of the tenant instead (measured: 2.5 s at 20,000 messages, e2e/bench/flow-exchange.bench.ts).
 */
export function flowTokenOf(request: unknown): string | null {
  if (!request || typeof request !== "object") return null;
  const r = request as {
    interactive?: { type?: unknown; flowToken?: unknown } | null;
    templateButtons?: Array<{ subType?: unknown; parameter?: unknown }> | null;
  };
  if (r.interactive?.type === "flow" && typeof r.interactive.flowToken === "string") return r.interactive.flowToken;
  const button = Array.isArray(r.templateButtons) ? r.templateButtons.find((b) => b?.subType === "flow") : undefined;
  return typeof button?.parameter === "string" ? button.parameter : null;
}
