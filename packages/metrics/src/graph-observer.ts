import type { GatewayMetrics } from "./gateway-metrics.js";

/** What the Graph client reports after each call (structurally GraphCallObservation of @linkojob/whatsapp). */
export interface MetaCall {
  method: string;
  /** Path relative to the API version, e.g. "106540352242922/messages". */
  path: string;
  /** "ok", Meta's error code ("131047"), "http_<status>", "timeout", "network" or "bad_response". */
  code: string;
  durationMs: number;
}

/**
 * The endpoint label of a Graph path: ids (numeric, long hex, wamids, app|secret pairs) become {id}
 * so that the label stays a handful of values: "{id}/messages", "{id}/message_templates", "debug_token".
 */
export function graphEndpoint(path: string): string {
  return path
    .split("?")[0]!
    .replace(/^\/+|\/+$/g, "")
    .split("/")
    .map((seg) => (/^\d+$|^[0-9a-f]{16,}$|[.|%]/i.test(seg) || seg.length > 40 ? "{id}" : seg))
    .join("/");
}

/** A GraphClient `observer` that counts Meta calls by endpoint, method and code, and times them. */
export function metaCallObserver(metrics: GatewayMetrics): (call: MetaCall) => void {
  return (call) => {
    const endpoint = graphEndpoint(call.path);
    metrics.metaCalls.inc({ endpoint, method: call.method, code: call.code });
    metrics.metaCallSeconds.observe({ endpoint, method: call.method }, call.durationMs / 1000);
  };
}
