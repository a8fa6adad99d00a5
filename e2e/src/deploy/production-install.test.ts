/**
 * What the Dockerfile ships, proven without a Docker engine: for each app, the install its image
 * holds (`pnpm --prefer-offline deploy --filter @linkojob/<app> --prod`, from the compiled workspace) has no
 * devDependency, no TypeScript source and no link out of itself, and `node dist/main.js` started
 * in it with NODE_ENV=production, fresh secrets and nothing else in its environment answers /ready,
 * then drains and exits 0 on SIGTERM, within compose's 40 s stop_grace_period.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  describeOutput,
  exitWithin,
  freePort,
  testServices,
  waitForReady,
  type NodeProcess,
  type TestServices,
} from "@linkojob/testing";
import {
  APPS,
  REPO_ROOT,
  deployApp,
  linksLeavingInstall,
  ownTypeScriptSources,
  run,
  staleBuilds,
  startApp,
  topLevelPackages,
  virtualStoreEntries,
  type AppName,
} from "./production-install.harness.js";

/** compose's stop_grace_period: Docker SIGKILLs a process still running after it. */
const STOP_GRACE_MS = 40_000;

/** Never in any production install: the toolchain and the test kit. */
const TOOLCHAIN = [
  "tsx",
  "vitest",
  "typescript",
  "esbuild",
  "testcontainers",
  "eslint",
  "prettier",
  "@linkojob/testing",
];

let services: TestServices;
/** Production secrets of this run: random, of the formats env.ts checks, never a known development value. */
const secrets = {
  META_APP_SECRET: randomBytes(32).toString("hex"),
  META_WEBHOOK_VERIFY_TOKEN: randomBytes(16).toString("hex"),
  TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
  JWT_SECRET: randomBytes(32).toString("hex"),
  METRICS_TOKEN: randomBytes(24).toString("hex"),
};
const META_APP_ID = "1234567890";
/** Required in production: the aud and iss of the platform's tokens. */
const JWT_CLAIMS = { JWT_AUDIENCE: "linkojob-whatsapp", JWT_ISSUER: "https://linkojob.com" };

/** Each app's environment: what its env.ts requires, as docker-compose.yml gives it; and its /ready port. */
function appEnv(app: AppName, port: number): Record<string, string> {
  const stores = { MONGODB_URI: services.mongoUrl, REDIS_URL: services.redisUrl, QUEUE_PREFIX: services.prefix };
  switch (app) {
    case "meta-sim":
      // Demo only: it refuses NODE_ENV=production (checked below), as docker-compose.sim.yml runs it.
      return {
        NODE_ENV: "development",
        PORT: String(port),
        HOST: "127.0.0.1",
        META_APP_ID,
        META_APP_SECRET: secrets.META_APP_SECRET,
      };
    case "ingress":
      return {
        ...stores,
        ...secrets,
        PORT: String(port),
        BASE_URL: `http://127.0.0.1:${port}`,
        META_APP_ID,
        ...JWT_CLAIMS,
      };
    case "inbound-worker":
    case "outbound-worker":
      return {
        ...stores,
        HEALTH_PORT: String(port),
        TOKEN_ENCRYPTION_KEY: secrets.TOKEN_ENCRYPTION_KEY,
        METRICS_TOKEN: secrets.METRICS_TOKEN,
      };
    case "realtime":
      return { ...stores, PORT: String(port), JWT_SECRET: secrets.JWT_SECRET, ...JWT_CLAIMS };
  }
}

/** Requests an HTTP process's install must answer from the files it ships (beyond /health). */
const PROBES: Partial<Record<AppName, Array<{ path: string; contains: string }>>> = {
  ingress: [
    // Meta's subscription check: the verify token came from the environment.
    {
      path: `/webhook?hub.mode=subscribe&hub.verify_token=${secrets.META_WEBHOOK_VERIFY_TOKEN}&hub.challenge=4711`,
      contains: "4711",
    },
    // The inbox's static files, copied beside the compiled modules by scripts/copy-assets.mjs.
    { path: "/inbox", contains: "<html" },
    { path: "/inbox/inbox.js", contains: "function" },
    // Swagger UI's assets come from a production dependency's own files.
    { path: "/docs", contains: "swagger" },
  ],
};

describe("production install of each app: pnpm deploy --prod, then node dist/main.js", () => {
  let scratch = "";
  const running = new Set<NodeProcess>();

  beforeAll(async () => {
    // The image compiles the workspace before deploying; here only when a dist/ is missing or older than its sources.
    services = testServices("deploy");
    const stale = staleBuilds();
    if (stale.length > 0) await run("pnpm", ["-r", "run", "build"], REPO_ROOT, 900_000);
    scratch = mkdtempSync(join(tmpdir(), "lj-deploy-"));
    // META_GRAPH_URL stays Meta's (production refuses any other); none calls it before it has tenants.
  }, 960_000);

  afterAll(async () => {
    for (const proc of running) proc.child.kill("SIGKILL");
    await Promise.all([...running].map((p) => p.exited));
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it.each(APPS)(
    "%s: installs without devDependencies or sources, starts, is ready, and exits 0 on SIGTERM",
    async (app) => {
      const dir = join(scratch, app);
      await deployApp(app, dir);
      try {
        // What the image's CMD runs, and nothing to compile.
        expect(existsSync(join(dir, "dist", "main.js")), "dist/main.js deployed").toBe(true);
        expect(existsSync(join(dir, "src")), "no src/ in the install").toBe(false);
        expect(ownTypeScriptSources(dir), "TypeScript sources in the install").toEqual([]);

        // No devDependency: neither the app's own, at the top of node_modules, nor the toolchain anywhere.
        const manifest = JSON.parse(readFileSync(join(REPO_ROOT, "apps", app, "package.json"), "utf8"));
        const prod = new Set(Object.keys(manifest.dependencies ?? {}));
        const devOnly = Object.keys(manifest.devDependencies ?? {}).filter((d) => !prod.has(d));
        const top = topLevelPackages(dir);
        expect(
          top.filter((p) => devOnly.includes(p) || TOOLCHAIN.includes(p)),
          "devDependencies installed",
        ).toEqual([]);
        expect(
          [...prod].filter((p) => !top.includes(p)),
          "dependencies missing",
        ).toEqual([]);
        const store = virtualStoreEntries(dir);
        expect(
          store.filter((e) => TOOLCHAIN.some((t) => e.startsWith(`${t.replace("/", "+")}@`))),
          "toolchain in the virtual store",
        ).toEqual([]);
        // Self-contained: a copy of this folder (the image's COPY --from=build) runs anywhere.
        expect(linksLeavingInstall(dir), "links out of the install").toEqual([]);

        const port = await freePort();
        const env = {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          NODE_ENV: "production",
          LOG_LEVEL: "info",
          ...appEnv(app, port),
        };
        const proc = startApp(app, dir, env);
        running.add(proc);
        const base = `http://127.0.0.1:${port}`;
        await waitForReady(proc, `${base}/ready`, 60_000);

        const health = await fetch(`${base}/health`);
        expect(health.status, `/health\n${describeOutput(proc)}`).toBe(200);
        for (const probe of PROBES[app] ?? []) {
          const res = await fetch(`${base}${probe.path}`);
          const body = await res.text();
          expect(res.status, `${probe.path}: ${body.slice(0, 300)}\n${describeOutput(proc)}`).toBe(200);
          expect(body.toLowerCase(), probe.path).toContain(probe.contains.toLowerCase());
        }

        proc.child.kill("SIGTERM");
        const exit = await exitWithin(proc, STOP_GRACE_MS);
        running.delete(proc);
        expect(
          exit,
          `exit after SIGTERM (null: still running after ${STOP_GRACE_MS} ms)\n${describeOutput(proc)}`,
        ).toEqual({ code: 0, signal: null });
        expect(proc.errors, `error-level log lines\n${describeOutput(proc)}`).toEqual([]);
        if (app === "meta-sim") {
          // Beside production processes it would sign deliveries for any tenant: it refuses to start.
          const refused = startApp(app, dir, { ...env, NODE_ENV: "production" });
          running.add(refused);
          const end = await exitWithin(refused, STOP_GRACE_MS);
          running.delete(refused);
          expect(end?.code, describeOutput(refused)).toBe(1);
          expect(refused.tail.join("\n")).toContain("NODE_ENV");
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    360_000,
  );
});
