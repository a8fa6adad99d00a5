import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";
import { inboxContentSecurityPolicy } from "../inbox/inbox.plugin.js";

/** The page's files: plain HTML, one ES module and CSS, no build step. */
export const ANALYTICS_STATIC_DIR = fileURLToPath(new URL("./static/", import.meta.url));

/** Chart.js's browser build, from the ingress's own dependency (no CDN: the page works offline). */
const chartJsPath = () => join(dirname(createRequire(import.meta.url).resolve("chart.js")), "chart.umd.min.js");

/**
 * The recruiter's analytics page at /analytics, beside the inbox: a plain page over
 * GET /api/analytics/summary and the CSV exports, drawn with Chart.js served from this origin.
 * Signed in as the inbox is (the JWT in the URL fragment, or the inbox's tab). Same
 * Content-Security-Policy as the inbox (scripts, styles and requests of this origin only).
 */
export const analyticsPagePlugin: FastifyPluginAsync = async (app) => {
  const csp = inboxContentSecurityPolicy();
  app.addHook("onRequest", (_request, reply, done) => {
    reply.header("content-security-policy", csp);
    done();
  });
  let chartJs: Promise<Buffer> | null = null;
  app.get("/analytics/vendor/chart.umd.min.js", { schema: { hide: true } }, async (_request, reply) => {
    chartJs ??= readFile(chartJsPath()).catch((err: unknown) => {
      chartJs = null;
      throw err;
    });
    return reply
      .type("application/javascript; charset=utf-8")
      .header("cache-control", "public, max-age=86400")
      .send(await chartJs);
  });
  await app.register(fastifyStatic, {
    root: ANALYTICS_STATIC_DIR,
    prefix: "/analytics/",
    index: ["index.html"],
    cacheControl: true,
    maxAge: 0,
  });
  app.get("/analytics", { schema: { hide: true } }, async (_request, reply) => reply.sendFile("index.html"));
};
