import { z } from "zod";

/**
 * The top level of a WhatsApp Flow JSON, checked before it is uploaded to Meta (`POST /{flow-id}/assets`),
 * so that a mistake gets a 400 naming it here rather than a round trip to Meta. Meta's own validation
 * (components, expressions, every property) still runs on upload and its `validation_errors` are shown
 * as they come; this checks what Meta's Flow JSON reference states for the document as a whole:
 * - `version` ("7.1"…) and a non-empty `screens` array are required;
 * - each screen has a unique `id` (letters, digits and `_`; `SUCCESS` is reserved by Meta) and a
 *   `layout` whose `type` is `SingleColumnLayout`, with a `children` array;
 * - at least one screen is `terminal`;
 * - a flow that talks to a data-exchange endpoint (any `data_exchange` action, or `data_api_version`
 *   set) needs both `data_api_version` ("3.0") and a `routing_model` whose keys and targets are the
 *   flow's own screens.
 */

const screenIdSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, "a screen id is letters, digits and _ (starting with a letter)")
  .refine((id) => id !== "SUCCESS", "SUCCESS is a screen id Meta reserves");

const screenSchema = z.looseObject({
  id: screenIdSchema,
  title: z.string().max(200).optional(),
  terminal: z.boolean().optional(),
  success: z.boolean().optional(),
  refresh_on_back: z.boolean().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  sensitive: z.array(z.string()).optional(),
  layout: z.looseObject({
    type: z.literal("SingleColumnLayout", { error: 'layout.type must be "SingleColumnLayout"' }),
    children: z.array(z.unknown()),
  }),
});

export const flowJsonSchema = z
  .looseObject({
    version: z.string().regex(/^\d+\.\d+$/, 'version is Meta\'s Flow JSON version, e.g. "7.1"'),
    data_api_version: z
      .string()
      .regex(/^\d+\.\d+$/, 'data_api_version is e.g. "3.0"')
      .optional(),
    routing_model: z.record(z.string(), z.array(z.string())).optional(),
    screens: z.array(screenSchema).min(1, "a flow has at least one screen"),
  })
  .superRefine((flow, ctx) => {
    for (const p of crossProblems(flow)) ctx.addIssue({ code: "custom", path: p.path, message: p.message });
  });
export type FlowJson = z.infer<typeof flowJsonSchema>;

/**
 * The rules across screens (unique ids, a terminal screen, the routing model), on a document that may
 * not have passed the schema: checkFlowJson reports them with the schema's own problems at once.
 */
function crossProblems(flow: Record<string, unknown>): Array<{ path: Array<string | number>; message: string }> {
  const out: Array<{ path: Array<string | number>; message: string }> = [];
  const screens = Array.isArray(flow.screens) ? (flow.screens as unknown[]) : [];
  const seen = new Set<string>();
  screens.forEach((s, i) => {
    const id = (s as { id?: unknown } | null)?.id;
    if (typeof id !== "string") return;
    if (seen.has(id)) out.push({ path: ["screens", i, "id"], message: `screen id ${id} is used twice` });
    seen.add(id);
  });
  if (screens.length > 0 && !screens.some((s) => (s as { terminal?: unknown } | null)?.terminal === true))
    out.push({ path: ["screens"], message: "at least one screen must be terminal" });
  const exchanges = usesDataExchange(screens);
  if (exchanges || flow.data_api_version !== undefined || flow.routing_model !== undefined) {
    const why = exchanges ? "the flow has a data_exchange action" : "the flow talks to an endpoint";
    if (flow.data_api_version === undefined)
      out.push({ path: ["data_api_version"], message: `${why}: data_api_version is required` });
    if (flow.routing_model === undefined)
      out.push({ path: ["routing_model"], message: `${why}: routing_model is required` });
  }
  const routing = flow.routing_model;
  if (routing && typeof routing === "object" && !Array.isArray(routing)) {
    for (const [from, targets] of Object.entries(routing as Record<string, unknown>)) {
      if (!seen.has(from))
        out.push({ path: ["routing_model", from], message: `routing_model names an unknown screen ${from}` });
      if (Array.isArray(targets))
        for (const to of targets)
          if (typeof to === "string" && !seen.has(to))
            out.push({
              path: ["routing_model", from],
              message: `routing_model routes ${from} to an unknown screen ${to}`,
            });
    }
  }
  return out;
}

/** True when some component of the screens fires a `data_exchange` action (walks the layouts). */
function usesDataExchange(value: unknown, depth = 0): boolean {
  if (depth > 64 || value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) return value.some((v) => usesDataExchange(v, depth + 1));
  const o = value as Record<string, unknown>;
  if (o.name === "data_exchange") return true;
  return Object.values(o).some((v) => usesDataExchange(v, depth + 1));
}

export interface FlowJsonProblem {
  /** Where, as a JSON path ("screens.0.layout.type"), or "" for the document. */
  path: string;
  message: string;
}

/** Every problem of a Flow JSON's top level; none when it may be uploaded. */
export function checkFlowJson(value: unknown): FlowJsonProblem[] {
  const r = flowJsonSchema.safeParse(value);
  if (r.success) return [];
  const problems = r.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
  // The schema stops before its cross-screen rules when a field is wrong: add them, once each.
  if (value && typeof value === "object" && !Array.isArray(value))
    for (const p of crossProblems(value as Record<string, unknown>)) {
      const path = p.path.map(String).join(".");
      if (!problems.some((q) => q.path === path && q.message === p.message))
        problems.push({ path, message: p.message });
    }
  return problems;
}

/** True when the flow needs the business's data-exchange endpoint. */
export function flowJsonUsesEndpoint(value: FlowJson): boolean {
  return value.data_api_version !== undefined || usesDataExchange(value.screens);
}
