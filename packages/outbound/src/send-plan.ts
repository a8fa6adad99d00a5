import {
  windowOpen,
  type ClientDoc,
  type OutboundKind,
  type SendRecord,
  type SentTemplate,
  type TemplateDoc,
} from "@linkojob/db";
import type { OutboundRequest } from "./send-request.js";
import type { TemplateParameter } from "@linkojob/whatsapp";
import type { StoredOutboundMedia } from "./outbound-media.js";
import { DEFAULT_PRICE_TABLE_MAD, expectedCost, type PriceTable } from "./pricing.js";
import { recipientCountry } from "./country-of.js";
import {
  templateComponents,
  templateRequestProblem,
  type TemplateParts,
  type TemplateProblem,
  type TemplateVarsInput,
} from "./template-components.js";
import { chatFieldsOf, interactivePreview, metaInteractive } from "./interactive.js";

/**
 * The one home of the send decision: what goes (text, media or template, and which template with
 * which variables) and what it is expected to cost. The send API's answer, the composer's preview,
 * and the outbound worker at send time all call planSend; the inbox page asks the preview API.
 */

/** What planning needs to know of the conversation with the candidate (null: first contact). */
export interface PlanConversation {
  windowExpiresAt?: Date | string | null;
  candidateName?: string | null;
  jobTitle?: string | null;
}

/** The synced template of the client's WABA for (name, language), or null. */
export type TemplateLookup = (name: string, language: string) => Promise<TemplateDoc | null>;

export type PlanClient = Pick<ClientDoc, "defaultTemplate" | "companyName">;

interface Priced {
  inWindow: boolean;
  /** MAD. */
  cost: number;
  costCategory: string;
}

export type SendPlan =
  | ({ kind: "text"; text: string } & Priced)
  /** An image or document inside the window; captioned with the media's caption, else the message. */
  | ({ kind: "media"; media: StoredOutboundMedia; caption: string | null } & Priced)
  /** Reply buttons or a list inside the window (Meta's `interactive` object); `preview` is what the conversation shows. */
  | ({ kind: "interactive"; interactive: ReturnType<typeof metaInteractive>; preview: string } & Priced)
  /** A reaction to the candidate's message inside the window; an empty emoji removes it. */
  | ({ kind: "reaction"; reaction: { wamid: string; emoji: string } } & Priced)
  | ({
      kind: "template";
      template: SentTemplate;
      doc: TemplateDoc;
      headerParams: TemplateParameter[];
      bodyParams: TemplateParameter[];
      /** A media header and button components, as Meta spells them (template-components.ts). */
      components: unknown[];
    } & Priced)
  | {
      kind: "refused";
      code: string;
      reason: string;
      inWindow: boolean;
      /** What the message is stored and answered as meanwhile: the template it would have been. */
      estimate: { kind: OutboundKind; cost: number; costCategory: string };
    };

/** The window is open while the candidate's latest message is less than 24 h old (@linkojob/db's one window function). */
export { windowOpen };

/** The template a send names, else the client's default (`application_received` in French). */
export const templateChoice = (
  request: Partial<Pick<OutboundRequest, "templateName" | "templateLanguage">>,
  client: PlanClient,
) => ({
  name: request.templateName ?? client.defaultTemplate?.name ?? "application_received",
  language: request.templateLanguage ?? client.defaultTemplate?.language ?? "fr",
});

/** Why a template cannot be sent with these variables (and header, buttons), or null when it can. */
export const templateProblem = (
  t: TemplateDoc | null,
  language: string,
  vars: TemplateVarsInput,
  parts: TemplateParts = {},
) => templateRequestProblem(t, language, vars, parts);

/** The header and buttons a send gives its template (the send API's templateHeader / templateButtons). */
const templatePartsOf = (req: OutboundRequest): TemplateParts => ({
  header: req.templateHeader ?? null,
  buttons: req.templateButtons ?? null,
});

export interface PlanInput {
  request: OutboundRequest;
  client: PlanClient;
  conversation: PlanConversation | null;
  templates: TemplateLookup;
  prices?: PriceTable;
  now?: number;
  /**
   * The send API's estimate, planned from Redis: the conversation's names are not known (only its
   * window), so a default variable only they could fill is left to the worker's decision.
   */
  estimate?: boolean;
  /**
   * The template decision already taken for this same input (the send API's precheck,
   * templatePrecheck): planSend reuses it when it plans the template with the same window, instead
   * of planning it a second time. Nothing planTemplate reads differs between the two (the request's
   * media aside, which it does not read).
   */
  template?: KnownTemplateDecision | null;
}

/** A template decision (planTemplate) and the window it was planned with. */
export interface KnownTemplateDecision {
  inWindow: boolean;
  decision: TemplateDecision;
}

/**
 * Decides media, text or template:
 * - `media` with the window open → that image or document (a free service message, like text);
 * - a `message` with the window open → that text;
 * - otherwise (first contact, closed window) → the named template, or the client's default
 *   (`application_received`) filled with [candidateName, jobTitle(, companyName)], each taken from
 *   the request, else the conversation, else the client;
 * - the template must be synced, APPROVED in that language and get exactly its parameter count,
 *   checked here so a bad request is refused locally instead of by Meta's 132000;
 * - a text or media request with the window closed and no usable template is refused with the
 *   reason (WINDOW_CLOSED_NO_TEMPLATE). With the window closed media is never sent: Meta accepts only
 *   templates there, so the template goes alone.
 * Cost (pricing.ts, at the rate of the recipient's country in force at `now`): text, media, reactions
 * and interactive replies are service messages; a template costs its category's price; what an open
 * window makes free is Meta's rule of the day (service and utility until 2026-09-30, nothing since).
 */
export async function planSend(input: PlanInput): Promise<SendPlan> {
  const { request: req, conversation } = input;
  const prices = input.prices ?? DEFAULT_PRICE_TABLE_MAD;
  const inWindow = windowOpen(conversation, input.now);
  const chat = chatFieldsOf(req);
  const where = { country: recipientCountry(req), at: new Date(input.now ?? Date.now()) };
  if (chat.reaction || (chat.interactive && inWindow)) {
    const c = expectedCost("text", null, true, prices, where);
    if (chat.reaction && !inWindow) {
      const reason =
        "the 24-hour window is closed: a reaction can be sent only while the candidate's last message is less than 24 hours old";
      return {
        kind: "refused",
        code: "WINDOW_CLOSED",
        reason,
        inWindow,
        estimate: { kind: "reaction", cost: c.cost, costCategory: c.category },
      };
    }
    if (chat.reaction)
      return {
        kind: "reaction",
        reaction: { wamid: chat.reaction.wamid, emoji: chat.reaction.emoji },
        inWindow,
        cost: c.cost,
        costCategory: c.category,
      };
    const i = chat.interactive!;
    return {
      kind: "interactive",
      interactive: metaInteractive(i),
      preview: interactivePreview(i),
      inWindow,
      cost: c.cost,
      costCategory: c.category,
    };
  }
  if (req.media && inWindow) {
    const c = expectedCost("text", null, true, prices, where);
    const media = req.media as StoredOutboundMedia;
    return {
      kind: "media",
      media,
      caption: media.caption ?? req.message ?? null,
      inWindow,
      cost: c.cost,
      costCategory: c.category,
    };
  }
  if (req.message && inWindow) {
    const c = expectedCost("text", null, true, prices, where);
    return { kind: "text", text: req.message, inWindow, cost: c.cost, costCategory: c.category };
  }
  const t =
    input.template && input.template.inWindow === inWindow
      ? input.template.decision
      : await planTemplate(input, inWindow);
  if (t.plan) return t.plan;
  const problem = t.problem!;
  if ((req.message || req.media || chat.interactive) && !req.templateName) {
    return {
      kind: "refused",
      code: "WINDOW_CLOSED_NO_TEMPLATE",
      reason: `the 24-hour window is closed (the candidate has not written in the last 24 hours) and no usable template: ${problem.reason}`,
      inWindow,
      estimate: t.estimate,
    };
  }
  return { kind: "refused", code: problem.code, reason: problem.reason, inWindow, estimate: t.estimate };
}

/** The template a send would go as: its plan, or why it cannot go (`doc` null: not synced). */
export interface TemplateDecision {
  doc: TemplateDoc | null;
  plan: Extract<SendPlan, { kind: "template" }> | null;
  problem: TemplateProblem | null;
  estimate: { kind: "template"; cost: number; costCategory: string };
}

/**
 * The template half of planSend, on its own for the send API's check of a request that names a
 * template while the window is open (planSend itself would plan text then). Variables: templateVars,
 * else the default [candidateName, jobTitle, companyName], each from the request, else the
 * conversation, else the client. A conversation field left `undefined` is not known (the send API
 * plans from Redis, without the conversation's names): a default left empty for want of it is not
 * refused here, the worker fills it from MongoDB and decides; everything else (count, names, status,
 * header, buttons) is checked with the values given.
 */
export async function planTemplate(input: PlanInput, inWindow: boolean): Promise<TemplateDecision> {
  const { request: req, client, conversation } = input;
  const prices = input.prices ?? DEFAULT_PRICE_TABLE_MAD;
  const where = { country: recipientCountry(req), at: new Date(input.now ?? Date.now()) };
  const { name, language } = templateChoice(req, client);
  const doc = await input.templates(name, language);
  const c = expectedCost("template", doc?.category ?? null, inWindow, prices, where);
  const estimate = { kind: "template" as const, cost: c.cost, costCategory: c.category };
  const expected = doc ? doc.headerParams.length + doc.bodyParams.length : 2;
  const defaults = [
    req.candidateName || conversation?.candidateName || "",
    req.jobTitle || conversation?.jobTitle || "",
    req.companyName || client.companyName || "",
  ].slice(0, Math.min(expected, 3));
  // The defaults only the conversation could fill, when it is not known here (see above).
  const unknown = input.estimate && !req.templateVars ? defaults.flatMap((v, i) => (v === "" && i < 2 ? [i] : [])) : [];
  const vars = req.templateVars ?? defaults;
  const parts = templatePartsOf(req);
  let problem = templateRequestProblem(doc, language, vars, parts, { filledLater: unknown });
  // Meta: authentication templates go only to a phone number, never to a user id alone.
  if (!problem && !req.candidatePhone && String(doc!.category ?? "").toUpperCase() === "AUTHENTICATION")
    problem = {
      code: "TEMPLATE_NEEDS_PHONE",
      reason: `template ${doc!.name} (${doc!.language}) is an authentication template: Meta sends those only to a phone number (candidatePhone)`,
    };
  if (problem) return { doc, plan: null, problem, estimate };
  const t = doc!;
  const built = templateComponents(t, vars, parts);
  return {
    doc,
    problem: null,
    estimate,
    plan: {
      kind: "template",
      template: { name, language, category: t.category ?? null, vars: built.values },
      doc: t,
      headerParams: built.headerParams,
      bodyParams: built.bodyParams,
      components: built.components,
      inWindow,
      cost: c.cost,
      costCategory: c.category,
    },
  };
}

/** What a plan stores and answers: its kind and cost (a refused plan: the template it would be). */
export const plannedKindAndCost = (plan: SendPlan): { kind: OutboundKind; cost: number; costCategory: string } =>
  plan.kind === "refused" ? plan.estimate : { kind: plan.kind, cost: plan.cost, costCategory: plan.costCategory };

/** What a plan sends, as the message records it (null for a refused plan). */
export const sendRecordOf = (plan: SendPlan): SendRecord | null =>
  plan.kind === "refused"
    ? null
    : {
        kind: plan.kind,
        text:
          plan.kind === "text"
            ? plan.text
            : plan.kind === "media"
              ? plan.caption
              : plan.kind === "interactive"
                ? plan.preview
                : plan.kind === "reaction"
                  ? plan.reaction.emoji
                  : null,
        template: plan.kind === "template" ? plan.template : null,
        cost: plan.cost,
        costCategory: plan.costCategory,
      };

/** The conversation list's one-line preview of what a plan sends. */
export function planPreview(plan: SendPlan, request: OutboundRequest): string | null {
  if (plan.kind === "text") return plan.text;
  if (plan.kind === "media") return plan.caption ?? `[${plan.media.type}]`;
  if (plan.kind === "interactive") return plan.preview;
  if (plan.kind === "reaction") return plan.reaction.emoji ? `[reaction ${plan.reaction.emoji}]` : "[reaction removed]";
  if (plan.kind === "template") return `[template ${plan.template.name}]`;
  return request.message ?? (request.media ? `[${request.media.type}]` : null);
}

export interface SendPreview {
  inWindow: boolean;
  /** What a send with a message would be now: text inside the window, else the template. */
  kind: "text" | "template";
  currency: "MAD";
  text: { cost: number; category: string };
  template: {
    name: string;
    language: string;
    category: string;
    cost: number;
    body: string | null;
    parameterCount: number;
    usable: boolean;
    problem: string | null;
  };
}

/**
 * The composer's preview: what the send API would do now for a message, and the template a send
 * without one (or outside the window) would use, planned by planSend itself.
 */
export async function previewSend(
  input: Omit<PlanInput, "request"> & {
    candidatePhone: string | null;
    candidateUserId?: string | null;
    candidateName?: string | null;
    jobTitle?: string | null;
  },
): Promise<SendPreview> {
  const base = {
    candidatePhone: input.candidatePhone,
    candidateUserId: input.candidateUserId ?? null,
    candidateName: input.candidateName ?? null,
    jobTitle: input.jobTitle ?? null,
  };
  const withMessage = await planSend({ ...input, request: { ...base, message: "…" } });
  const templateOnly = await planSend({ ...input, request: base });
  const { name, language } = templateChoice({}, input.client);
  const doc = templateOnly.kind === "template" ? templateOnly.doc : await input.templates(name, language);
  const tpl = plannedKindAndCost(templateOnly);
  // A free-form reply's price (the composer shows it): a service message to this candidate now.
  const text = expectedCost("text", null, true, input.prices ?? DEFAULT_PRICE_TABLE_MAD, {
    country: recipientCountry(base),
    at: new Date(input.now ?? Date.now()),
  });
  return {
    inWindow: withMessage.inWindow,
    kind: withMessage.kind === "text" ? "text" : "template",
    currency: "MAD",
    text: { cost: text.cost, category: text.category },
    template: {
      name,
      language,
      category: tpl.costCategory,
      cost: tpl.cost,
      body: doc ? templateBody(doc.components) : null,
      parameterCount: doc ? doc.headerParams.length + doc.bodyParams.length : 2,
      usable: templateOnly.kind === "template",
      problem: templateOnly.kind === "refused" ? templateOnly.reason : null,
    },
  };
}

/** The BODY text of a synced template ("Bonjour {{1}}, …"), for the composer to show. */
function templateBody(components: unknown): string | null {
  if (!Array.isArray(components)) return null;
  const body = components.find((c) => (c as { type?: string })?.type?.toUpperCase() === "BODY") as
    { text?: string } | undefined;
  return typeof body?.text === "string" ? body.text : null;
}
