import type { SendPlan } from "../send-plan.js";
import type { OptOutView } from "./opt-out-state.js";

/** The stable code of a send refused or suppressed because the candidate opted out. */
export const CANDIDATE_OPTED_OUT = "CANDIDATE_OPTED_OUT";

/** What a send would be, as the opt-out rule needs it. */
export interface OptOutSendShape {
  /** What the plan sends: `template`, or a free-form kind (text, media, interactive, reaction) inside an open window. */
  kind: string;
  /** The template's category (MARKETING, UTILITY, AUTHENTICATION) when it is a template. */
  templateCategory?: string | null;
}

export interface OptOutRefusal {
  code: typeof CANDIDATE_OPTED_OUT;
  scope: OptOutView["scope"];
  /** Who set it: candidate_message, meta_user_preferences, meta_131050, recruiter, platform. */
  source: string;
  since: string;
  reason: string;
}

const words = (source: string) =>
  ({
    candidate_message: "the candidate asked to stop",
    meta_user_preferences: "the candidate stopped marketing messages in WhatsApp",
    meta_131050: "Meta reports the candidate stopped marketing messages (131050)",
    recruiter: "a recruiter recorded the candidate's opt-out",
    platform: "the platform recorded the candidate's opt-out",
  })[source] ?? `opted out (${source})`;

/**
 * Whether a candidate's opt-out forbids this send. Scope `all` (the candidate's own STOP) forbids
 * every message, replies inside a window the candidate opened included. Scope `marketing` (Meta's
 * preference, 131050) forbids marketing templates only: utility and authentication templates, and
 * free-form replies inside the window, still go. The same rule at acceptance (409) and in the worker
 * just before the Graph call (`suppressed`).
 */
export function optOutRefusal(view: OptOutView | null, send: OptOutSendShape): OptOutRefusal | null {
  if (!view) return null;
  if (view.all) {
    return {
      code: CANDIDATE_OPTED_OUT,
      scope: "all",
      source: view.all.source,
      since: view.all.at,
      reason: `${words(view.all.source)} on ${view.all.at}: nothing may be sent until they write START or REPRENDRE`,
    };
  }
  const marketingTemplate = send.kind === "template" && (send.templateCategory ?? "").toUpperCase() === "MARKETING";
  if (view.marketing && marketingTemplate) {
    return {
      code: CANDIDATE_OPTED_OUT,
      scope: "marketing",
      source: view.marketing.source,
      since: view.marketing.at,
      reason: `${words(view.marketing.source)} on ${view.marketing.at}: marketing templates may not be sent (utility templates and replies may)`,
    };
  }
  return null;
}

/** What a planned send is, for the rule: a refused plan counts as the template it would have been. */
export function optOutShapeOf(plan: SendPlan): OptOutSendShape {
  if (plan.kind === "refused") return { kind: plan.estimate.kind };
  if (plan.kind === "template") return { kind: "template", templateCategory: plan.doc.category ?? null };
  return { kind: plan.kind };
}
