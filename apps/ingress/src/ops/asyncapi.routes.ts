import type { FastifyPluginCallback } from "fastify";
import { buildAsyncApiDocument, type AsyncApiDocument } from "@linkojob/events";

/** The realtime API's AsyncAPI document, beside the REST API's OpenAPI at /docs. */
export const ASYNCAPI_JSON_PATH = "/docs/asyncapi.json";
/** A readable page of the same document: every event, its meaning and example payloads. */
export const ASYNCAPI_PAGE_PATH = "/docs/events";

export interface AsyncApiRoutesOptions {
  /** Public URL of the realtime server (REALTIME_PUBLIC_URL): its host is the document's server. */
  realtimeUrl?: string | undefined;
  version?: string;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** `code` spans of the descriptions, as <code>. */
const prose = (s: string) => escapeHtml(s).replace(/`([^`]+)`/g, "<code>$1</code>");

type Message = {
  name: string;
  title?: string;
  description?: string;
  examples?: Array<{ name: string; summary?: string; payload: unknown }>;
};

function renderPage(doc: AsyncApiDocument): string {
  const section = (channelKey: "tenantRoom" | "socket", heading: string) => {
    const channel = doc.channels[channelKey];
    const items = Object.keys(channel.messages).map((key) => {
      const m = doc.components.messages[key] as Message;
      const examples = (m.examples ?? [])
        .map(
          (e) =>
            `<h4>${escapeHtml(e.name)}${e.summary ? `: ${escapeHtml(e.summary)}` : ""}</h4><pre>${escapeHtml(JSON.stringify(e.payload, null, 2))}</pre>`,
        )
        .join("");
      return `<section id="${escapeHtml(key)}"><h3><code>${escapeHtml(m.name)}</code>: ${escapeHtml(m.title ?? "")}</h3>${m.description ? `<p>${prose(m.description)}</p>` : ""}${examples}</section>`;
    });
    return `<h2>${escapeHtml(heading)}</h2><p>${prose(channel.description)}</p>${items.join("")}`;
  };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(doc.info.title)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:.75rem;overflow:auto}section{border-top:1px solid #ddd;margin-top:1.5rem}</style>
</head><body>
<h1>${escapeHtml(doc.info.title)} <small>${escapeHtml(doc.info.version)}</small></h1>
<p>${prose(doc.info.description)}</p>
<p>Machine-readable: <a href="${ASYNCAPI_JSON_PATH}">AsyncAPI ${escapeHtml(doc.asyncapi)} document</a>. REST API: <a href="/docs">/docs</a>.</p>
${section("tenantRoom", "Dashboard events (room client:{clientId})")}
${section("socket", "Session events (the socket itself)")}
</body></html>`;
}

/**
 * GET /docs/asyncapi.json (AsyncAPI 3.0, built by @linkojob/events from the contract's schemas and
 * examples) and GET /docs/events (the same as a page). Public, like /docs; not in the OpenAPI document.
 */
export const asyncApiRoutes: FastifyPluginCallback<AsyncApiRoutesOptions> = (app, opts, done) => {
  const doc = buildAsyncApiDocument({
    ...(opts.version ? { version: opts.version } : {}),
    ...(opts.realtimeUrl ? { realtimeHost: new URL(opts.realtimeUrl).host } : {}),
  });
  const page = renderPage(doc);
  app.get(ASYNCAPI_JSON_PATH, { schema: { hide: true } }, () => doc);
  app.get(ASYNCAPI_PAGE_PATH, { schema: { hide: true } }, (_request, reply) =>
    reply.type("text/html; charset=utf-8").send(page),
  );
  done();
};
