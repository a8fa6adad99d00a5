/**
 * The simulator's stand-in for Meta's validation of an uploaded Flow JSON: enough of it to answer
 * `validation_errors` in Meta's shape for the mistakes a client makes (not JSON, no version, no
 * screens, a screen without a layout, a component type Meta does not know, no terminal screen). Meta
 * validates far more; a flow this accepts may still be refused by Meta.
 *
 * Meta's shape: `{ error, error_type, message, line_start, line_end, column_start, column_end,
 * pointers: [{ line_start, line_end, column_start, column_end, path }] }`.
 */

export interface SimValidationError {
  error: string;
  error_type: string;
  message: string;
  line_start: number;
  line_end: number;
  column_start: number;
  column_end: number;
  pointers: Array<{ line_start: number; line_end: number; column_start: number; column_end: number; path: string }>;
}

/** The component types of Flow JSON 7.x. */
export const FLOW_COMPONENTS = new Set([
  "TextHeading",
  "TextSubheading",
  "TextBody",
  "TextCaption",
  "RichText",
  "TextInput",
  "TextArea",
  "CheckboxGroup",
  "RadioButtonsGroup",
  "ChipsSelector",
  "Dropdown",
  "DatePicker",
  "CalendarPicker",
  "OptIn",
  "EmbeddedLink",
  "Footer",
  "Form",
  "Image",
  "ImageCarousel",
  "PhotoPicker",
  "DocumentPicker",
  "NavigationList",
  "If",
  "Switch",
]);

/** Line and columns (1-based) of the first occurrence of `needle` in `text`, else the start. */
function locate(text: string, needle: string) {
  const at = needle ? text.indexOf(needle) : -1;
  if (at < 0) return { line_start: 1, line_end: 1, column_start: 1, column_end: 1 };
  const before = text.slice(0, at);
  const line = before.split("\n").length;
  const column = at - before.lastIndexOf("\n");
  return { line_start: line, line_end: line, column_start: column, column_end: column + needle.length };
}

function problem(text: string, error: string, message: string, path: string, needle: string): SimValidationError {
  const where = locate(text, needle);
  return { error, error_type: "FLOW_JSON_ERROR", message, ...where, pointers: [{ ...where, path }] };
}

export function validateFlowJson(text: string): SimValidationError[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return [
      {
        error: "INVALID_JSON",
        error_type: "JSON_SCHEMA_ERROR",
        message: `Invalid JSON: ${(err as Error).message}`,
        line_start: 1,
        line_end: 1,
        column_start: 1,
        column_end: 1,
        pointers: [],
      },
    ];
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc))
    return [problem(text, "INVALID_JSON", "The Flow JSON must be an object.", "", "")];
  const flow = doc as Record<string, unknown>;
  const out: SimValidationError[] = [];
  if (typeof flow.version !== "string")
    out.push(problem(text, "MISSING_REQUIRED_PROPERTY", "The property 'version' is required.", "version", ""));
  if (!Array.isArray(flow.screens) || flow.screens.length === 0) {
    out.push(problem(text, "MISSING_REQUIRED_PROPERTY", "The property 'screens' is required.", "screens", ""));
    return out;
  }
  let terminal = false;
  flow.screens.forEach((screen: unknown, i) => {
    const s = (screen ?? {}) as Record<string, unknown>;
    if (s.terminal === true) terminal = true;
    const layout = s.layout as Record<string, unknown> | undefined;
    if (!layout || typeof layout !== "object") {
      out.push(
        problem(text, "MISSING_REQUIRED_PROPERTY", "The property 'layout' is required.", `screens[${i}].layout`, ""),
      );
      return;
    }
    const children = Array.isArray(layout.children) ? layout.children : [];
    const walk = (nodes: unknown[], path: string) =>
      nodes.forEach((node, j) => {
        const n = (node ?? {}) as Record<string, unknown>;
        const here = `${path}[${j}]`;
        if (typeof n.type !== "string" || !FLOW_COMPONENTS.has(n.type)) {
          out.push(
            problem(
              text,
              "INVALID_PROPERTY_VALUE",
              "Invalid value found for property 'type'.",
              `${here}.type`,
              typeof n.type === "string" ? `"${n.type}"` : "",
            ),
          );
        }
        if (Array.isArray(n.children)) walk(n.children, `${here}.children`);
      });
    walk(children, `screens[${i}].layout.children`);
  });
  if (!terminal)
    out.push(
      problem(
        text,
        "MISSING_TERMINAL_SCREEN",
        "At least one screen must be a terminal screen.",
        "screens",
        '"screens"',
      ),
    );
  return out;
}
