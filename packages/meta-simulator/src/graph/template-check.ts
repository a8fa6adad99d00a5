import type { SimTemplate } from "./messaging-state.js";

/**
 * Meta's checks of a template send against the approved template, with Meta's error codes: the
 * template must exist in that language and be approved (132001), not paused (132015) or disabled
 * (132016); each part gets exactly the parameters its placeholders ask for (132000), with the media
 * kind its header was approved with (132012). Details are written like Meta's
 * ("body: number of localizable_params (1) does not match the expected number of params (2)").
 */

export interface TemplateProblem {
  code: 132000 | 132001 | 132012 | 132015 | 132016;
  details: string;
}

interface SentComponent {
  type?: unknown;
  sub_type?: unknown;
  index?: unknown;
  parameters?: unknown;
}

interface SentParameter {
  type?: unknown;
  parameter_name?: unknown;
}

const MEDIA_FORMATS = new Set(["IMAGE", "VIDEO", "DOCUMENT", "LOCATION"]);

/** The distinct placeholders of a text: ["1", "2"] or ["first_name"]. */
export function placeholdersOf(text: unknown): string[] {
  if (typeof text !== "string") return [];
  return [...new Set([...text.matchAll(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)].map((m) => m[1]!))];
}

const lower = (v: unknown) => (typeof v === "string" ? v.toLowerCase() : "");
/** A sent scalar as Meta echoes it in a problem's details; anything else is UNKNOWN. */
const shown = (v: unknown) =>
  typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v).toUpperCase() : "UNKNOWN";
const paramsOf = (c: SentComponent | undefined): SentParameter[] =>
  Array.isArray(c?.parameters) ? (c.parameters as SentParameter[]) : [];
const countProblem = (part: string, got: number, expected: number): TemplateProblem => ({
  code: 132000,
  details: `${part}: number of localizable_params (${got}) does not match the expected number of params (${expected})`,
});

/** Checks a send's `template` object against the template the simulator knows; undefined when it passes. */
export function checkTemplateSend(
  known: SimTemplate[] | undefined,
  sent: { name?: unknown; language?: { code?: unknown }; components?: unknown },
): TemplateProblem | undefined {
  if (!known) return undefined; // the simulator was never told this WABA's templates: nothing to check against
  const tpl = known.find((t) => t.name === sent.name && t.language === sent.language?.code);
  if (!tpl)
    return {
      code: 132001,
      details: `template name (${String(sent.name)}) does not exist in ${String(sent.language?.code)}`,
    };
  const status = tpl.status.toUpperCase();
  if (status === "PAUSED") return { code: 132015, details: `template ${tpl.name} is paused` };
  if (status === "DISABLED") return { code: 132016, details: `template ${tpl.name} is disabled` };
  if (status !== "APPROVED")
    return { code: 132001, details: `template ${tpl.name} (${tpl.language}) is ${status}, not approved` };

  const sentComponents = Array.isArray(sent.components) ? (sent.components as SentComponent[]) : [];
  const sentOf = (type: string) => sentComponents.filter((c) => lower(c.type) === type);
  const part = (type: string) => tpl.components.find((c) => c.type.toUpperCase() === type);

  for (const type of ["header", "body"] as const) {
    const defined = part(type.toUpperCase());
    const sentParts = sentOf(type);
    if (sentParts.length > 1) return { code: 132000, details: `${type}: sent ${sentParts.length} times` };
    const params = paramsOf(sentParts[0]);
    const format = typeof defined?.format === "string" ? defined.format.toUpperCase() : "TEXT";
    if (type === "header" && defined && MEDIA_FORMATS.has(format)) {
      if (params.length !== 1) return countProblem(type, params.length, 1);
      if (lower(params[0]!.type) !== format.toLowerCase()) {
        return {
          code: 132012,
          details: `header: Format mismatch, expected ${format}, received ${shown(params[0]!.type)}`,
        };
      }
      continue;
    }
    const expected = placeholdersOf(defined?.text);
    if (params.length !== expected.length) return countProblem(type, params.length, expected.length);
    const named = tpl.parameter_format?.toUpperCase() === "NAMED" || expected.some((p) => !/^\d+$/.test(p));
    if (named) {
      const names = new Set(params.map((p) => p.parameter_name));
      const missing = expected.filter((n) => !names.has(n));
      if (missing.length) return { code: 132000, details: `${type}: missing parameter_name ${missing.join(", ")}` };
    }
  }

  const buttons = (part("BUTTONS")?.buttons as Array<{ type?: string; url?: string }> | undefined) ?? [];
  const sentButtons = sentOf("button");
  for (const b of sentButtons) {
    const index = Number(b.index);
    const defined = Number.isInteger(index) ? buttons[index] : undefined;
    if (!defined) return { code: 132000, details: `button: index ${String(b.index)} is not a button of ${tpl.name}` };
    if (lower(b.sub_type) !== lower(defined.type))
      return {
        code: 132000,
        details: `button ${index}: sub_type ${String(b.sub_type)}, the template's button is ${String(defined.type)}`,
      };
  }
  for (const [index, b] of buttons.entries()) {
    const type = lower(b.type);
    const expected = type === "url" ? placeholdersOf(b.url).length : type === "copy_code" ? 1 : undefined;
    if (expected === undefined) continue; // quick replies and phone buttons need no parameter
    const params = paramsOf(sentButtons.find((s) => Number(s.index) === index));
    if (params.length !== expected) return countProblem(`button ${index} (${type})`, params.length, expected);
  }
  return undefined;
}
