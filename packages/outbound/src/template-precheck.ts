import { chatFieldsOf } from "./interactive.js";
import { planTemplate, windowOpen, type PlanInput } from "./send-plan.js";
import type { TemplateProblem } from "./template-components.js";

/**
 * The send API's check of a template request before anything is stored or queued: a request that
 * names a template or gives its parts (templateVars, templateHeader, templateButtons), or that can
 * only go as a template (no text, media, interactive or reaction), must match the synced template —
 * approved, its variables, its media header, its buttons — as planTemplate (the template half of
 * planSend, which the worker decides with) finds it with the variables the request gives. A
 * template not synced is not refused here (the local copy may lag behind Meta): it is accepted and
 * decided at send time (TEMPLATE_NOT_FOUND after a sync that still lacks it). Returns the problem,
 * or null.
 */
export async function templateRefusal(input: PlanInput): Promise<TemplateProblem | null> {
  const request = input.request;
  const chat = chatFieldsOf(request);
  const explicit = !!(
    request.templateName ||
    request.templateVars ||
    request.templateHeader ||
    request.templateButtons
  );
  const templateOnly = !request.message && !request.media && !chat.interactive && !chat.reaction;
  if (!explicit && !templateOnly) return null;
  const decision = await planTemplate(input, windowOpen(input.conversation, input.now));
  // Not synced (yet): the local copy may lag Meta; accepted, and decided again at send time.
  return decision.doc ? decision.problem : null;
}
