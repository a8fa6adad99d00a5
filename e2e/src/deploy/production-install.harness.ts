/**
 * The production install of one app as the Dockerfile makes it: the workspace compiled to dist/
 * (`pnpm -r run build`), then `pnpm --prefer-offline deploy --filter @linkojob/<app> --prod <dir>`, then
 * `node dist/main.js` in that directory with nothing but its environment. Used by
 * production-install.test.ts.
 */
import { spawn } from "node:child_process";
import { startNodeProcess, type NodeProcess } from "@linkojob/testing";
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, rmSync, rmdirSync, statSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The processes an image is built for (apps/<name>, package @linkojob/<name>). */
export const APPS = ["meta-sim", "ingress", "inbound-worker", "outbound-worker", "realtime"] as const;
export type AppName = (typeof APPS)[number];

const TAIL_LINES = 80;

/** Runs a command to completion; rejects with its exit code and the tail of its output. */
export function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: process.env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const keep = (chunk: Buffer) => {
      out = (out + chunk.toString()).slice(-20_000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`\`${command} ${args.join(" ")}\` failed (${signal ?? code}):\n${tail(out, 60)}`));
    });
  });
}

function tail(text: string, lines: number): string {
  return text.split("\n").slice(-lines).join("\n");
}

/** Newest modification time of the files under `dir` whose names pass `keep`, 0 when there are none. */
function newestMtime(dir: string, keep: (name: string) => boolean): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path, keep));
    else if (keep(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Oldest modification time of the files under `dir` (Infinity when there are none). */
function oldestMtime(dir: string): number {
  if (!existsSync(dir)) return -Infinity;
  let oldest = Infinity;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    oldest = Math.min(oldest, entry.isDirectory() ? oldestMtime(path) : statSync(path).mtimeMs);
  }
  return oldest;
}

/**
 * The workspaces with a build script whose dist/ is missing or older than a file of their src/ or
 * their package.json/tsconfig.build.json (tsc rewrites every output, so dist's oldest file dates the build).
 */
export function staleBuilds(): string[] {
  const stale: string[] = [];
  for (const group of ["apps", "packages"]) {
    for (const name of readdirSync(join(REPO_ROOT, group))) {
      const root = join(REPO_ROOT, group, name);
      const manifest = join(root, "package.json");
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, "utf8"));
      if (!pkg.scripts?.build) continue;
      const sources = Math.max(
        newestMtime(join(root, "src"), (f) => !f.endsWith(".test.ts") && !f.endsWith(".harness.ts")),
        statSync(manifest).mtimeMs,
        existsSync(join(root, "tsconfig.build.json")) ? statSync(join(root, "tsconfig.build.json")).mtimeMs : 0,
      );
      if (oldestMtime(join(root, "dist")) < sources) stale.push(`${group}/${name}`);
    }
  }
  return stale;
}

/**
 * `pnpm --prefer-offline deploy --filter @linkojob/<app> --prod <dir>`, as the image's build stage runs it.
 * Not `--offline`: deploy resolves the app's dependencies again and needs the registry's metadata,
 * which `pnpm install --frozen-lockfile` never caches, so on a new machine `--offline` stops with
 * ERR_PNPM_NO_OFFLINE_META. `--prefer-offline` asks the registry only for what the cache lacks, as
 * `scripts/bootstrap.sh`'s install does; the packages themselves come from the store.
 * pnpm 9 also writes `<workspace root>/<dir>/node_modules/.bin` (pnpm/pnpm#7731): that stray copy is
 * removed here, with the folders it created on the way.
 */
export async function deployApp(app: AppName, dir: string): Promise<void> {
  const stray = join(REPO_ROOT, dir);
  const created: string[] = [];
  for (let d = stray; d.startsWith(REPO_ROOT) && d.length > REPO_ROOT.length; d = dirname(d)) {
    if (!existsSync(d)) created.push(d);
  }
  try {
    await run(
      "pnpm",
      ["--prefer-offline", "deploy", "--filter", `@linkojob/${app}`, "--prod", dir],
      REPO_ROOT,
      300_000,
    );
  } finally {
    // Innermost first: the stray deploy folder itself, then each parent it created, if left empty.
    for (const d of created) {
      if (d === stray) rmSync(d, { recursive: true, force: true });
      else if (existsSync(d) && readdirSync(d).length === 0) rmdirSync(d);
    }
  }
}

/** The package names installed at the top of `dir`/node_modules (what the app can import). */
export function topLevelPackages(dir: string): string[] {
  const modules = join(dir, "node_modules");
  const names: string[] = [];
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith(".")) continue;
    if (entry.startsWith("@")) for (const sub of readdirSync(join(modules, entry))) names.push(`${entry}/${sub}`);
    else names.push(entry);
  }
  return names;
}

/** Every package folder of pnpm's virtual store in `dir` ("name@version…", scope joined with "+"). */
export function virtualStoreEntries(dir: string): string[] {
  return readdirSync(join(dir, "node_modules", ".pnpm")).filter((e) => e !== "node_modules" && !e.startsWith("."));
}

/** Symlinks of node_modules (top level and each virtual-store package's) that point outside `dir`. */
export function linksLeavingInstall(dir: string): string[] {
  const root = realpathSync(dir);
  const outside: string[] = [];
  const check = (modules: string) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      if (entry === ".bin" || entry === ".pnpm") continue;
      const paths = entry.startsWith("@")
        ? readdirSync(join(modules, entry)).map((s) => join(modules, entry, s))
        : [join(modules, entry)];
      for (const path of paths) {
        if (!lstatSync(path).isSymbolicLink()) continue;
        const target = existsSync(path) ? realpathSync(path) : "(dangling)";
        if (target !== root && !target.startsWith(root + sep)) outside.push(`${relative(dir, path)} -> ${target}`);
      }
    }
  };
  check(join(dir, "node_modules"));
  for (const entry of virtualStoreEntries(dir)) check(join(dir, "node_modules", ".pnpm", entry, "node_modules"));
  return outside;
}

/**
 * TypeScript sources (not declarations) of the install's own code, relative to `dir`: the app's files
 * and every @linkojob package copied into it. A production install runs none (registry packages may
 * ship theirs: zod's src/ is not ours to judge).
 */
export function ownTypeScriptSources(dir: string): string[] {
  const found: string[] = [];
  const walk = (under: string) => {
    for (const entry of readdirSync(under, { withFileTypes: true })) {
      const path = join(under, entry.name);
      if (entry.name === "node_modules" || entry.isSymbolicLink()) continue;
      if (entry.isDirectory()) walk(path);
      else if (/\.[cm]?ts$/.test(entry.name) && !/\.d\.[cm]?ts$/.test(entry.name)) found.push(relative(dir, path));
    }
  };
  walk(dir);
  for (const entry of virtualStoreEntries(dir).filter((e) => e.startsWith("@linkojob+"))) {
    const scope = join(dir, "node_modules", ".pnpm", entry, "node_modules", "@linkojob");
    for (const name of readdirSync(scope)) {
      if (!lstatSync(join(scope, name)).isSymbolicLink()) walk(join(scope, name));
    }
  }
  return found;
}

/** `node dist/main.js` in `dir`, with exactly `env` (no variable of this test process leaks in). */
export function startApp(app: AppName, dir: string, env: Record<string, string>): NodeProcess {
  return startNodeProcess(app, ["dist/main.js"], { cwd: dir, env, tailLines: TAIL_LINES });
}
