import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and tells where the time went: self time by package and
 * by function, and inclusive time of the project's own functions. Used by ingress.bench.ts
 * --profile; also runs alone: `tsx apps/ingress/bench/profile-summary.ts file.cpuprofile`.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  byPackage: Array<{ name: string; ms: number; share: number }>;
  bySelf: Array<{ name: string; ms: number; share: number }>;
  projectInclusive: Array<{ name: string; ms: number; share: number }>;
}

/** Where a frame comes from: an npm package, node's internals, the project's code, or V8/GC. */
function origin(url: string, fn: string): string {
  if (!url) return fn.startsWith("(") ? fn : "(native)";
  const pnpm =
    /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url) ??
    /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pnpm) return pnpm[1]!;
  if (url.startsWith("node:")) return "node:" + url.slice(5).split("/")[0];
  const project = /\/(apps|packages)\/([^/]+)\//.exec(url);
  if (project) return `${project[1]}/${project[2]}`;
  return basename(url);
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || "(anonymous)"} ${url ? `${basename(url)}:${lineNumber + 1}` : ""} [${origin(url, functionName)}]`.trim();
}

export function summarizeProfile(path: string, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const totalMs = [...self.values()].reduce((a, b) => a + b, 0);

  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  const pkg = new Map<string, number>();
  const fn = new Map<string, number>();
  let idleMs = 0;
  for (const [id, ms] of self) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === "(idle)") idleMs += ms;
    add(pkg, origin(node.callFrame.url, node.callFrame.functionName), ms);
    add(fn, label(node), ms);
  }

  // Inclusive time of project functions (each node's subtree), counted once per call path.
  const inclusive = new Map<number, number>();
  const visit = (id: number): number => {
    const cached = inclusive.get(id);
    if (cached !== undefined) return cached;
    const node = byId.get(id)!;
    const total = (self.get(id) ?? 0) + (node.children ?? []).reduce((a, c) => a + visit(c), 0);
    inclusive.set(id, total);
    return total;
  };
  const project = new Map<string, number>();
  for (const node of profile.nodes) {
    visit(node.id);
    if (/\/(apps|packages)\//.test(node.callFrame.url) && !/node_modules/.test(node.callFrame.url)) {
      // Skip a frame whose parent is the same function (recursion), to avoid double counting.
      add(project, label(node), inclusive.get(node.id)!);
    }
  }
  const busy = totalMs - idleMs;
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .filter(([name]) => name !== "(idle)" && !name.startsWith("(idle)"))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), share: busy > 0 ? ms / busy : 0 }));
  return {
    totalMs: Math.round(totalMs),
    idleMs: Math.round(idleMs),
    byPackage: rank(pkg),
    bySelf: rank(fn),
    projectInclusive: rank(project),
  };
}

export function printProfileSummary(s: ProfileSummary): void {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
  console.log(`\nCPU profile: ${s.totalMs} ms sampled, ${s.idleMs} ms idle; shares below are of the busy time.`);
  console.log("\nself time by origin:");
  for (const r of s.byPackage) console.log(`  ${pct(r.share)}  ${r.name}`);
  console.log("\nself time by function:");
  for (const r of s.bySelf) console.log(`  ${pct(r.share)}  ${r.name}`);
  console.log("\ninclusive time of the project's functions:");
  for (const r of s.projectInclusive) console.log(`  ${pct(r.share)}  ${r.name}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: tsx apps/ingress/bench/profile-summary.ts <file.cpuprofile>");
    process.exit(2);
  }
  printProfileSummary(summarizeProfile(file, Number(process.argv[3] ?? 20)));
}
