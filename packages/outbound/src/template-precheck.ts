import { chatFieldsOf } from "./interactive.js";
import { planTemplate, windowOpen, type KnownTemplateDecision, type PlanInput } from "./send-plan.js";
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
  return (await templatePrecheck(input)).problem;
}

/**
 * templateRefusal, with the template decision it took (null when the request was not checked): the
 * caller hands it to planSend (PlanInput.template), which then does not plan the same template again.
 */
export async function templatePrecheck(
  input: PlanInput,
): Promise<{ problem: TemplateProblem | null; template: KnownTemplateDecision | null }> {
  const request = input.request;
  const chat = chatFieldsOf(request);
  const explicit = !!(
    request.templateName ||
    request.templateVars ||
    request.templateHeader ||
    request.templateButtons
  );
  const templateOnly = !request.message && !request.media && !chat.interactive && !chat.reaction;
  if (!explicit && !templateOnly) return { problem: null, template: null };
  const inWindow = windowOpen(input.conversation, input.now);
  const decision = await planTemplate(input, inWindow);
  // Not synced (yet): the local copy may lag Meta; accepted, and decided again at send time.
  return { problem: decision.doc ? decision.problem : null, template: { inWindow, decision } };
}
