import { defineErrors, type CodeOf } from "@linkojob/errors";

/**
 * The template domain's error catalog: why a template send cannot go as asked. The send API refuses
 * a request with these codes before anything is queued (templateRefusal), a campaign names them per
 * recipient, and the worker fails a message with them when it decides at send time.
 */
export class TemplateRefusalError extends defineErrors("TemplateRefusalError", {
  TEMPLATE_NOT_FOUND: "the template is not synced for this language",
  TEMPLATE_NOT_APPROVED: "the template is paused or disabled by Meta",
  TEMPLATE_PARAM_NAMES: "the template's named variables do not match templateVars",
  TEMPLATE_PARAM_COUNT: "the number of template variables does not match the template",
  TEMPLATE_PARAM_EMPTY: "a template variable is empty",
  TEMPLATE_HEADER_MISSING: "the template has a media header: give templateHeader",
  TEMPLATE_HEADER_FORMAT: "templateHeader does not match the template's header",
  TEMPLATE_BUTTON_MISMATCH: "templateButtons does not match the template's buttons",
  TEMPLATE_BUTTON_MISSING: "the template has a button that needs a value in templateButtons",
  TEMPLATE_NEEDS_PHONE: "an authentication template goes only to a phone number (candidatePhone)",
}) {}

export type TemplateRefusalCode = CodeOf<typeof TemplateRefusalError>;
