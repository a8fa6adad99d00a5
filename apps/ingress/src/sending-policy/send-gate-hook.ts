import type { GateDecision, ScheduleReason } from "@linkojob/outbound";

/** What a scheduled (or quality-held) send's answer adds. */
export interface ScheduledFields {
  /** When the send is planned to go (ISO 8601). */
  scheduledFor: string;
  /** Why it waits: the portfolio's messaging limit is spent until then, or the candidate's quiet hours. */
  reason: ScheduleReason | "QUALITY_PAUSED";
  /** The reason in words, for a held send. */
  detail?: string;
}

/** The send API's use of the sending protections (shared with a campaign's expansion). */
export { gateOfPlan } from "@linkojob/outbound";

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
