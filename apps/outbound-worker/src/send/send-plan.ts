import {
  expectedCost,
  templateProblem,
  type ClientDoc,
  type ConversationView,
  type OutboundMessageDoc,
  type PriceTable,
  type SentTemplate,
  type TemplateDoc,
  type TemplateRepository,
} from "@linkojob/db";
import type { TemplateParameter } from "@linkojob/whatsapp";
import type { StoredOutboundMedia } from "@linkojob/outbound";

/** What the worker will send for a message, decided at send time from the conversation's window. */
export type SendPlan =
  | { kind: "text"; text: string; inWindow: boolean; cost: number; costCategory: string }
  /** An image or document inside the window; captioned with the media's caption, else the message. */
  | { kind: "media"; media: StoredOutboundMedia; caption: string | null; inWindow: boolean; cost: number; costCategory: string }
  | {
      kind: "template";
      template: SentTemplate;
      doc: TemplateDoc;
      headerParams: TemplateParameter[];
      bodyParams: TemplateParameter[];
      inWindow: boolean;
      cost: number;
      costCategory: string;
    }
  | { kind: "refused"; code: string; reason: string };

/** The window is open while the candidate's latest message is less than 24 h old (§8). */
export const windowOpen = (conversation: Pick<ConversationView, "windowExpiresAt"> | null, now = Date.now()) =>
  !!conversation?.windowExpiresAt && new Date(conversation.windowExpiresAt).getTime() > now;

const toParams = (names: string[], values: string[]): TemplateParameter[] =>
  values.map((text, i) => {
    const name = names[i];
    // Named-variable templates ({{candidate_name}}) need parameter_name; positional ones ({{1}}) do not.
    return name && !/^\d+$/.test(name) ? { type: "text" as const, text, parameter_name: name } : { type: "text" as const, text };
  });

/**
 * Decides media, text or template (issues 4 and 5):
 * - `media` with the window open → that image or document (a free service message, like text);
 * - a `message` with the window open → that text;
 * - otherwise (first contact, closed window) → the named template, or the client's default
 *   (`application_received`) filled with [candidateName, jobTitle(, companyName)];
 * - the template must be synced, APPROVED in that language and get exactly its parameter count,
 *   checked here so a bad request is refused locally instead of by Meta's 132000;
 * - a text or media request with the window closed and no usable template is refused with the
 *   reason (WINDOW_CLOSED_NO_TEMPLATE). With the window closed media is never sent: Meta accepts only
 *   templates there (§8), so the template goes alone.
 */
export async function planSend(
  templates: TemplateRepository,
  client: Pick<ClientDoc, "defaultTemplate" | "companyName">,
  message: OutboundMessageDoc,
  conversation: ConversationView | null,
  prices: PriceTable,
  now = Date.now(),
): Promise<SendPlan> {
  const req = message.request;
  const inWindow = windowOpen(conversation, now);
  if (req.media && inWindow) {
    const c = expectedCost("text", null, true, prices);
    return { kind: "media", media: req.media, caption: req.media.caption ?? req.message ?? null, inWindow, cost: c.cost, costCategory: c.category };
  }
  if (req.message && inWindow) {
    const c = expectedCost("text", null, true, prices);
    return { kind: "text", text: req.message, inWindow, cost: c.cost, costCategory: c.category };
  }
  const name = req.templateName ?? client.defaultTemplate?.name ?? "application_received";
  const language = req.templateLanguage ?? client.defaultTemplate?.language ?? "fr";
  const doc = await templates.find(name, language);
  const expected = doc ? doc.headerParams.length + doc.bodyParams.length : 2;
  const defaults = [req.candidateName ?? conversation?.candidateName ?? "", req.jobTitle ?? "", req.companyName ?? client.companyName ?? ""];
  const vars = req.templateVars ?? defaults.slice(0, Math.min(expected, defaults.length));
  const problem = templateProblem(doc, language, vars);
  if (problem) {
    if ((req.message || req.media) && !req.templateName) {
      return {
        kind: "refused",
        code: "WINDOW_CLOSED_NO_TEMPLATE",
        reason: `the 24-hour window is closed (the candidate has not written in the last 24 hours) and no usable template: ${problem.reason}`,
      };
    }
    return { kind: "refused", code: problem.code, reason: problem.reason };
  }
  const t = doc!;
  const header = vars.slice(0, t.headerParams.length);
  const body = vars.slice(t.headerParams.length);
  const c = expectedCost("template", t.category, inWindow, prices);
  return {
    kind: "template",
    template: { name, language, category: t.category ?? null, vars },
    doc: t,
    headerParams: toParams(t.headerParams, header),
    bodyParams: toParams(t.bodyParams, body),
    inWindow,
    cost: c.cost,
    costCategory: c.category,
  };
}
