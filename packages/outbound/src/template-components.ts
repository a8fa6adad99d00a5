import { z } from "zod";
import type { TemplateDoc } from "@linkojob/db";
import type { TemplateParameter } from "@linkojob/whatsapp";
import type { TemplateRefusalCode } from "./template-refusal-error.js";

/**
 * Templates as recruiters make them: a header that is text or an
 * IMAGE / VIDEO / DOCUMENT, a body with positional ({{1}}) or named ({{candidate_name}}) variables,
 * and URL, quick-reply or copy-code buttons. What a send must provide is read from the synced
 * components; a mismatch is refused here, naming the missing part, instead of by Meta's
 * 132000 / 132012 after the message was stored.
 */

/** The send API's `templateHeader`: a media header by Meta media id or https link, or a text header's one variable. */
export const templateHeaderSchema = z
  .strictObject({
    type: z.enum(["image", "video", "document", "text"]),
    /** A media id from POST /{phone-number-id}/media. */
    id: z
      .string()
      .regex(/^[0-9]{1,40}$/, "must be a Meta media id (digits)")
      .optional(),
    /** A public https URL Meta fetches itself. */
    link: z
      .url({ protocol: /^https$/, error: "must be an https URL" })
      .max(2048)
      .optional(),
    /** A text header's variable (else the first of templateVars). */
    text: z.string().min(1).max(60).optional(),
    /** Documents: the file name the candidate sees. */
    filename: z.string().min(1).max(240).optional(),
  })
  .refine(
    (h) =>
      h.type === "text" ? h.text !== undefined && !h.id && !h.link : (h.id === undefined) !== (h.link === undefined),
    {
      message: "a media header takes exactly one of id and link; a text header takes text",
    },
  )
  .describe(
    'The template\'s header: { type: "image" | "video" | "document", id (Meta media id) | link (https), filename? (documents) } for a media header, or { type: "text", text } for a text header\'s variable. Must match the synced template\'s HEADER format.',
  );
export type TemplateHeaderInput = z.infer<typeof templateHeaderSchema>;

/** The send API's `templateButtons`: one parameter per button that needs one, by its index in the template. */
export const templateButtonSchema = z
  .strictObject({
    /** The button's position in the template's BUTTONS component (0-based). */
    index: z.number().int().min(0).max(9),
    subType: z.enum(["url", "quick_reply", "copy_code", "flow"]),
    /**
     * URL: the value of the URL's {{1}}; quick_reply: the payload returned when tapped; copy_code:
     * the code; flow: the flow token the candidate's answers will carry.
     */
    parameter: z.string().min(1).max(2000),
    /** flow only: the data the flow's first screen reads. */
    flowActionData: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((b) => b.subType === "flow" || b.flowActionData === undefined, {
    message: "flowActionData is for a flow button only",
    path: ["flowActionData"],
  })
  .describe(
    'A button parameter: { index (0-based position in the template\'s BUTTONS), subType: "url" (parameter = the value of the URL\'s {{1}}) | "quick_reply" (parameter = the payload returned when tapped) | "copy_code" (parameter = the code) | "flow" (parameter = the flow token; flowActionData = the first screen\'s data) }.',
  );
export type TemplateButtonInput = z.infer<typeof templateButtonSchema>;

/** `templateVars`: positional values (header text first, then body), or values by variable name. */
export const templateVarsSchema = z
  .union([
    z.array(z.string().max(1024)).max(30),
    z.record(
      z.string().regex(/^[a-z0-9_]{1,64}$/, "variable names are lower case, digits and _"),
      z.string().max(1024),
    ),
  ])
  .describe(
    'The template\'s variables: positional ["Yasmine", "Comptable"] (a text header\'s first, then the body\'s), or by name { "candidate_name": "Yasmine" } for named-variable templates.',
  );
export type TemplateVarsInput = z.infer<typeof templateVarsSchema>;

const MEDIA_HEADERS = ["IMAGE", "VIDEO", "DOCUMENT"] as const;

interface ButtonShape {
  index: number;
  /** quick_reply, url, copy_code, phone_number, … (lower case). */
  type: string;
  /** Parameters Meta requires for it (URL placeholders; one code; none for the others). */
  required: number;
}

/** What a template asks of a send, from its synced components. */
export interface TemplateShape {
  /** TEXT (with `headerParams`), IMAGE, VIDEO, DOCUMENT, LOCATION, or null (no header). */
  headerFormat: string | null;
  headerParams: string[];
  bodyParams: string[];
  /** Variables are names ({{candidate_name}}), sent with parameter_name. */
  named: boolean;
  buttons: ButtonShape[];
}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;
const placeholders = (text: unknown): string[] =>
  typeof text === "string" ? [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]!))] : [];

type Component = { type?: unknown; format?: unknown; text?: unknown; buttons?: unknown };

/** A synced component's text field (Meta's are strings); any other value counts as absent. */
const textOf = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/**
 * Shapes already worked out, by template document: a synced template is read once into the send
 * caches and planned against by every send that uses it (twice per template send: the precheck and
 * the plan), so its shape is computed once per document, not per send. A changed template is a new
 * document (the caches read it anew), which misses here; the shape is only ever read.
 */
const shapes = new WeakMap<object, TemplateShape>();

export function templateShape(t: Pick<TemplateDoc, "components" | "headerParams" | "bodyParams">): TemplateShape {
  let shape = shapes.get(t);
  if (!shape) {
    shape = shapeOf(t);
    shapes.set(t, shape);
  }
  return shape;
}

function shapeOf(t: Pick<TemplateDoc, "components" | "headerParams" | "bodyParams">): TemplateShape {
  const components = (Array.isArray(t.components) ? t.components : []) as Component[];
  const find = (type: string) => components.find((c) => (textOf(c?.type) ?? "").toUpperCase() === type);
  const header = find("HEADER");
  const headerFormat = header ? (textOf(header.format) ?? "TEXT").toUpperCase() : null;
  const buttons = (
    Array.isArray(find("BUTTONS")?.buttons)
      ? (find("BUTTONS")!.buttons as Array<{ type?: unknown; url?: unknown }>)
      : []
  ).map((b, index) => {
    const type = (textOf(b?.type) ?? "").toLowerCase();
    return { index, type, required: type === "url" ? placeholders(b.url).length : type === "copy_code" ? 1 : 0 };
  });
  const all = [...t.headerParams, ...t.bodyParams];
  return {
    headerFormat,
    headerParams: t.headerParams,
    bodyParams: t.bodyParams,
    named: all.some((n) => !/^\d+$/.test(n)),
    buttons,
  };
}

export interface TemplateParts {
  header?: TemplateHeaderInput | null;
  buttons?: TemplateButtonInput[] | null;
}

export interface TemplateProblem {
  code: TemplateRefusalCode;
  reason: string;
}

const label = (t: Pick<TemplateDoc, "name" | "language">) => `template ${t.name} (${t.language})`;

/** The values of the header and body variables, in template order, or the names missing. */
function valuesOf(
  shape: TemplateShape,
  vars: TemplateVarsInput,
): { values: string[] } | { missing: string[]; extra: string[] } {
  const names = [...shape.headerParams, ...shape.bodyParams];
  if (Array.isArray(vars)) return { values: vars };
  const missing = names.filter((n) => !Object.hasOwn(vars, n));
  const extra = Object.keys(vars).filter((k) => !names.includes(k));
  return missing.length || extra.length ? { missing, extra } : { values: names.map((n) => vars[n]!) };
}

/**
 * Why a synced template cannot be sent with these variables, header and buttons (null: it can):
 * not synced, not approved (paused, disabled…), a variable count or name that does not match, a
 * media header missing or of the wrong kind, a button parameter missing or naming no such button.
 */
export function templateRequestProblem(
  t: TemplateDoc | null,
  language: string,
  vars: TemplateVarsInput,
  parts: TemplateParts = {},
  /** Positions of values not known yet (filled from the conversation at send time): not refused as empty. */
  options: { filledLater?: readonly number[] } = {},
): TemplateProblem | null {
  if (!t) return { code: "TEMPLATE_NOT_FOUND", reason: `template not synced for language ${language}` };
  const status = t.status.toUpperCase();
  if (status !== "APPROVED") {
    const why =
      status === "PAUSED" ? "paused by Meta (low quality)" : status === "DISABLED" ? "disabled by Meta" : status;
    return {
      code: "TEMPLATE_NOT_APPROVED",
      reason: `${label(t)} is ${why}${t.statusReason ? `: ${t.statusReason}` : ""}`,
    };
  }
  const shape = templateShape(t);
  const expected = shape.headerParams.length + shape.bodyParams.length;
  const got = valuesOf(shape, vars);
  if ("missing" in got) {
    const missing = got.missing.length ? `missing ${got.missing.join(", ")}` : "";
    const extra = got.extra.length ? `${missing ? "; " : ""}not in the template: ${got.extra.join(", ")}` : "";
    return { code: "TEMPLATE_PARAM_NAMES", reason: `${label(t)} variables: ${missing}${extra}` };
  }
  // A text header's variable may come as templateHeader.text instead of the first value.
  const headerText = parts.header?.type === "text" && shape.headerParams.length === 1;
  const count = got.values.length + (headerText && Array.isArray(vars) ? 1 : 0);
  if (count !== expected) {
    const where = `header ${shape.headerParams.length}, body ${shape.bodyParams.length}`;
    return {
      code: "TEMPLATE_PARAM_COUNT",
      reason: `${label(t)} expects ${expected} variable(s) (${where}), got ${count}`,
    };
  }
  if (got.values.some((v, i) => (typeof v !== "string" || v.trim() === "") && !options.filledLater?.includes(i)))
    return { code: "TEMPLATE_PARAM_EMPTY", reason: "a template variable is empty" };

  const media =
    shape.headerFormat && (MEDIA_HEADERS as readonly string[]).includes(shape.headerFormat) ? shape.headerFormat : null;
  const h = parts.header ?? null;
  if (media && !h) {
    return {
      code: "TEMPLATE_HEADER_MISSING",
      reason: `${label(t)} has a ${media} header: templateHeader { type: "${media.toLowerCase()}", id | link } is required`,
    };
  }
  if (media && h && h.type.toUpperCase() !== media) {
    return { code: "TEMPLATE_HEADER_FORMAT", reason: `${label(t)} has a ${media} header, templateHeader is ${h.type}` };
  }
  if (!media && h && h.type !== "text") {
    return {
      code: "TEMPLATE_HEADER_FORMAT",
      reason: `${label(t)} has ${shape.headerFormat ? `a ${shape.headerFormat} header` : "no header"}, templateHeader is ${h.type}`,
    };
  }
  if (h?.type === "text" && shape.headerParams.length !== 1) {
    return { code: "TEMPLATE_HEADER_FORMAT", reason: `${label(t)} has no header variable for templateHeader.text` };
  }

  const given = parts.buttons ?? [];
  const seen = new Set<number>();
  for (const b of given) {
    const defined = shape.buttons[b.index];
    if (!defined)
      return {
        code: "TEMPLATE_BUTTON_MISMATCH",
        reason: `${label(t)} has no button ${b.index} (it has ${shape.buttons.length})`,
      };
    if (defined.type !== b.subType)
      return {
        code: "TEMPLATE_BUTTON_MISMATCH",
        reason: `${label(t)} button ${b.index} is ${defined.type}, templateButtons says ${b.subType}`,
      };
    if (seen.has(b.index))
      return { code: "TEMPLATE_BUTTON_MISMATCH", reason: `templateButtons names button ${b.index} twice` };
    seen.add(b.index);
  }
  for (const b of shape.buttons) {
    if (b.required > 0 && !seen.has(b.index)) {
      const what = b.type === "url" ? "the value of its URL variable" : "the code to copy";
      return {
        code: "TEMPLATE_BUTTON_MISSING",
        reason: `${label(t)} button ${b.index} (${b.type}) needs ${what}: templateButtons [{ index: ${b.index}, subType: "${b.type}", parameter }]`,
      };
    }
  }
  return null;
}

const textParams = (names: string[], values: string[], named: boolean): TemplateParameter[] =>
  values.map((text, i) =>
    named && names[i] ? { type: "text" as const, text, parameter_name: names[i] } : { type: "text" as const, text },
  );

export interface TemplateComponents {
  /** Variable values in template order (header, then body), as the message records them. */
  values: string[];
  headerParams: TemplateParameter[];
  bodyParams: TemplateParameter[];
  /** The media header and the button components, as Meta spells them. */
  components: unknown[];
}

/**
 * Meta's components for a send that passed templateRequestProblem: text parameters (with
 * `parameter_name` for named templates), a media header `{ type: "image", image: { id | link } }`,
 * and one `button` component per given button `{ sub_type, index: "0", parameters }`.
 */
export function templateComponents(
  t: TemplateDoc,
  vars: TemplateVarsInput,
  parts: TemplateParts = {},
): TemplateComponents {
  const shape = templateShape(t);
  const got = valuesOf(shape, vars);
  let values = "values" in got ? got.values : [];
  if (parts.header?.type === "text" && shape.headerParams.length === 1 && Array.isArray(vars))
    values = [parts.header.text!, ...values];
  const headerParams = textParams(shape.headerParams, values.slice(0, shape.headerParams.length), shape.named);
  const bodyParams = textParams(shape.bodyParams, values.slice(shape.headerParams.length), shape.named);
  const components: unknown[] = [];
  const h = parts.header;
  if (h && h.type !== "text") {
    const media = {
      ...(h.id ? { id: h.id } : { link: h.link }),
      ...(h.type === "document" && h.filename ? { filename: h.filename } : {}),
    };
    components.push({ type: "header", parameters: [{ type: h.type, [h.type]: media }] });
  }
  for (const b of [...(parts.buttons ?? [])].sort((x, y) => x.index - y.index)) {
    const parameter =
      b.subType === "quick_reply"
        ? { type: "payload", payload: b.parameter }
        : b.subType === "copy_code"
          ? { type: "coupon_code", coupon_code: b.parameter }
          : b.subType === "flow"
            ? {
                type: "action",
                action: {
                  flow_token: b.parameter,
                  ...(b.flowActionData ? { flow_action_data: b.flowActionData } : {}),
                },
              }
            : { type: "text", text: b.parameter };
    components.push({ type: "button", sub_type: b.subType, index: String(b.index), parameters: [parameter] });
  }
  return { values, headerParams, bodyParams, components };
}
