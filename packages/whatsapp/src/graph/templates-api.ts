import { graphPath, type GraphClient } from "./graph-client.js";

/**
 * GET /{waba}/message_templates with paging (`paging.next`). Management calls are limited to
 * 200 per hour per WABA: callers cache the result (the templates collection), never poll per send.
 */

export interface GraphTemplate {
  id?: string;
  name: string;
  language: string;
  status: string;
  category?: string;
  components?: Array<{ type?: string; format?: string; text?: string; [k: string]: unknown }>;
}

interface TemplatesPage {
  data?: GraphTemplate[];
  paging?: { cursors?: { before?: string; after?: string }; next?: string };
}

export interface ListTemplatesOptions {
  /** Page size asked of Meta. Default 100. */
  pageSize?: number;
  /** Safety bound on pages followed. Default 100 (10,000 templates). */
  maxPages?: number;
}

/** Every template of a WABA, following `paging.next` (through the `after` cursor) to the end. */
export async function listTemplates(
  graph: GraphClient,
  input: { wabaId: string; token: string },
  options: ListTemplatesOptions = {},
): Promise<GraphTemplate[]> {
  const out: GraphTemplate[] = [];
  let after: string | undefined;
  for (let page = 0; page < (options.maxPages ?? 100); page++) {
    const res = await graph.get<TemplatesPage>(graphPath(input.wabaId, "message_templates"), {
      token: input.token,
      query: { fields: "name,language,status,category,components,id", limit: options.pageSize ?? 100, after },
    });
    for (const t of res?.data ?? []) if (t && typeof t.name === "string" && typeof t.language === "string") out.push(t);
    const next = res?.paging?.cursors?.after;
    if (!res?.paging?.next || !next) break;
    after = next;
  }
  return out;
}
