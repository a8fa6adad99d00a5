import type { OutboundRequest } from "@linkojob/outbound";
import type { GateDecision, SendGate, SendPlan } from "@linkojob/outbound";

/**
 * The sending protections decided again just before the Graph call (a policy, the number's quality
 * or the portfolio's budget may have changed since acceptance; a job scheduled by the send API comes
 * back here when its time has come, and finds its budget place already counted). Only a
 * business-initiated send is asked about: a reply inside an open window never waits (null). A `go`
 * carries the budget place it confirmed, given back if the send is refused before the call.
 */
export async function gateAtSendTime(
  gate: SendGate | undefined,
  client: { _id: { toHexString(): string }; wabaId: string; phoneNumberId: string },
  request: OutboundRequest,
  plan: SendPlan,
): Promise<GateDecision | null> {
  if (!gate || plan.kind !== "template" || plan.inWindow) return null;
  return gate.decide({
    client,
    request,
    businessInitiated: true,
    category: plan.doc.category ?? null,
    atSendTime: true,
  });
}
