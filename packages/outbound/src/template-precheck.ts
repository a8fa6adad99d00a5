import type { OutboundRequest } from "@linkojob/db";
import { chatFieldsOf } from "./interactive.js";
import { templateChoice, type PlanClient, type TemplateLookup } from "./send-plan.js";
import { templateRequestProblem, templateShape, type TemplateProblem } from "./template-components.js";

/**
 * The send API's check of a template request before anything is stored (no conversation, no
 * message): a request that names a template or gives its parts (templateVars, templateHeader,
 * templateButtons), or that can only go as a template (no text, media, interactive or reaction),
 * must match the synced template — approved, its variables, its media header, its buttons.
 * Without templateVars the default variables come from the conversation, known only after its
 * upsert: their count is left to planSend then. A template not synced is not refused here (the
 * local copy may lag behind Meta): it is stored and decided at send time (TEMPLATE_NOT_FOUND after a
 * sync that still lacks it). Returns the problem, or null.
 */
export async function templateRefusal(
  request: OutboundRequest,
  client: PlanClient,
  templates: TemplateLookup,
): Promise<TemplateProblem | null> {
  const chat = chatFieldsOf(request);
  const explicit = !!(
    request.templateName ||
    request.templateVars ||
    request.templateHeader ||
    request.templateButtons
  );
  const templateOnly = !request.message && !request.media && !chat.interactive && !chat.reaction;
  if (!explicit && !templateOnly) return null;
  const { name, language } = templateChoice(request, client);
  const doc = await templates(name, language);
  // Not synced (yet): the local copy may lag Meta; accepted, and decided again at send time.
  if (!doc) return null;
  // Meta: authentication templates still need a phone number, never a user id alone.
  if (!request.candidatePhone && String(doc.category ?? "").toUpperCase() === "AUTHENTICATION") {
    return {
      code: "TEMPLATE_NEEDS_PHONE",
      reason: `template ${doc.name} (${doc.language}) is an authentication template: Meta sends those only to a phone number (candidatePhone)`,
    };
  }
  const parts = { header: request.templateHeader ?? null, buttons: request.templateButtons ?? null };
  if (request.templateVars) return templateRequestProblem(doc, language, request.templateVars, parts);
  // Default variables: stand-ins of the right count, so that status, header and buttons are checked.
  const shape = doc ? templateShape(doc) : null;
  const n = shape ? shape.headerParams.length + shape.bodyParams.length - (parts.header?.type === "text" ? 1 : 0) : 0;
  return templateRequestProblem(
    doc,
    language,
    Array.from({ length: Math.max(n, 0) }, () => "-"),
    parts,
  );
}

/** HTTP status of a refused template: 409 for a template Meta paused or disabled (its state), 400 for the request. */
export const templateRefusalStatus = (p: TemplateProblem): 400 | 409 =>
  p.code === "TEMPLATE_NOT_APPROVED" ? 409 : 400;
