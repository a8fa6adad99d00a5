import type { OutboundRequest } from "@linkojob/outbound";
import type { GateDecision, ProtectionView, ScheduleReason, SendClient, SendGate, SendPlan } from "@linkojob/outbound";

/** What a scheduled (or quality-held) send's answer adds. */
export interface ScheduledFields {
  /** When the send is planned to go (ISO 8601). */
  scheduledFor: string;
  /** Why it waits: the portfolio's messaging limit is spent until then, or the candidate's quiet hours. */
  reason: ScheduleReason | "QUALITY_PAUSED";
  /** The reason in words, for a held send. */
  detail?: string;
}

/**
 * The send API's use of the sending protections: only a business-initiated send (a template to a
 * closed window or a first contact) is asked about; a reply inside an open window never is (null).
 * A `go` may carry the budget place it counted (given back if the send is refused later).
 */
export async function gateOfPlan(
  gate: SendGate,
  client: SendClient,
  request: OutboundRequest,
  plan: SendPlan,
  /** The protections already read with the candidate's state (else read here). */
  view?: ProtectionView,
): Promise<GateDecision | null> {
  if (plan.kind !== "template" || plan.inWindow) return null;
  return gate.decide({
    client,
    request,
    businessInitiated: true,
    category: plan.doc.category ?? null,
    ...(view ? { view } : {}),
  });
}

/** The answer of a send the gate scheduled or held. */
export function scheduledAnswerOf<A extends { status: string }>(
  answer: A,
  decision: Exclude<GateDecision, { action: "go" }>,
): A & Partial<ScheduledFields> {
  if (decision.action === "hold") return { ...answer, status: "held", reason: decision.code, detail: decision.reason };
  return {
    ...answer,
    status: answer.status === "held" ? "held" : "scheduled",
    scheduledFor: new Date(decision.at).toISOString(),
    reason: decision.reason,
  };
}
