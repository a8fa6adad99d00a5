import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";
import type { Database } from "@linkojob/db";
import { DEFAULT_PRICE_TABLE_MAD, type OptOutState, type PriceTable, type SendCaches } from "@linkojob/outbound";
import type { TenantAccess } from "../auth/tenant-access.js";
import { demoCandidateRoutes } from "./demo-candidate.routes.js";
import { sendPreviewRoutes } from "./send-preview.routes.js";

/** Where the page finds its collaborators; both optional (the page says what is missing). */
export interface InboxOptions {
  /** Public URL of the realtime server (REALTIME_PUBLIC_URL). Absent: the page works without live updates. */
  realtimeUrl?: string | undefined;
  /** Base URL of the Meta simulator (DEMO_SIM_URL). Set only in the demo: enables the candidate controls. */
  demoSimUrl?: string | undefined;
}

export interface InboxPluginOptions extends InboxOptions {
  tenants: TenantAccess;
  db: Database;
  /** The send API's caches and price table (OUTBOUND_PRICE_TABLE), shared by the send preview. */
  outbound?: { caches?: SendCaches; prices?: PriceTable; optOuts?: OptOutState };
}

/** The inbox's files: plain HTML, one ES module and CSS, no build step. */
export const INBOX_STATIC_DIR = fileURLToPath(new URL("./static/", import.meta.url));

/**
 * The recruiter inbox page at /inbox: a plain page over the public API (REST + Socket.io)
 * that shows the whole loop and that the platform's front-end developers can copy from. The page gets
 * the JWT from the URL fragment or a login box (never sent in a URL) and reads its configuration from
 * /inbox/config.json. Encapsulated (not fastify-plugin): its @fastify/static instance and reply
 * decorations stay inside.
 */
export const inboxPlugin: FastifyPluginAsync<InboxPluginOptions> = async (app, opts) => {
  // The page runs only its own module and the realtime server's Socket.io client; media are blobs.
  const csp = inboxContentSecurityPolicy(opts.realtimeUrl);
  app.addHook("onRequest", (_request, reply, done) => {
    reply.header("content-security-policy", csp);
    done();
  });
  await app.register(fastifyStatic, {
    root: INBOX_STATIC_DIR,
    prefix: "/inbox/",
    index: ["index.html"],
    // The page changes with the code: revalidate instead of caching stale copies.
    cacheControl: true,
    maxAge: 0,
  });
  app.get("/inbox", { schema: { hide: true } }, async (_request, reply) => reply.sendFile("index.html"));

  app.get("/inbox/config.json", { schema: { hide: true } }, async (_request, reply) => {
    reply.header("cache-control", "no-store");
    return {
      realtimeUrl: opts.realtimeUrl ?? null,
      demo: Boolean(opts.demoSimUrl),
      // The table the send API estimates with (OUTBOUND_PRICE_TABLE), so the page can show prices.
      prices: opts.outbound?.prices ?? DEFAULT_PRICE_TABLE_MAD,
      currency: "MAD",
    };
  });

  await app.register(sendPreviewRoutes, { tenants: opts.tenants, db: opts.db, ...(opts.outbound ?? {}) });
  if (opts.demoSimUrl)
    await app.register(demoCandidateRoutes, { tenants: opts.tenants, db: opts.db, simUrl: opts.demoSimUrl });
};

/**
 * The inbox page's Content-Security-Policy: scripts, styles and requests of this origin only (plus the
 * realtime server's origin for its Socket.io client and connection), media and images from blobs the
 * page built from the authenticated media endpoint, no plugin, no framing, no base or form elsewhere.
 * A file a candidate sent can then never run as a script of the page.
 */
export function inboxContentSecurityPolicy(realtimeUrl?: string): string {
  let realtime: string[] = [];
  if (realtimeUrl) {
    const origin = new URL(realtimeUrl).origin;
    realtime = [origin, origin.replace(/^http/, "ws")];
  }
  return [
    "default-src 'self'",
    `script-src 'self'${realtime.length ? ` ${realtime[0]}` : ""}`,
    `connect-src 'self'${realtime.length ? ` ${realtime.join(" ")}` : ""}`,
    "img-src 'self' blob:",
    "media-src 'self' blob:",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join("; ");
}
