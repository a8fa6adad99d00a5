import { EnvError } from "./parse-env.js";

/**
 * Meta's own endpoints, the only ones a production process may talk to: the Graph API and the OAuth
 * dialog. Anything else (the project's simulator above all) would receive the recruiters' tokens and
 * the codes of their sign-ups.
 */
export const META_ENDPOINTS: Readonly<Record<string, readonly string[]>> = {
  META_GRAPH_URL: ["https://graph.facebook.com"],
  META_DIALOG_URL: ["https://www.facebook.com", "https://facebook.com"],
};

/** Variables that only a demo sets: with NODE_ENV=production they must be absent. */
export const DEMO_ONLY_VARIABLES = ["DEMO_SIM_URL"] as const;

/**
 * With NODE_ENV=production, refuses to start when an endpoint variable among `names` names anything
 * but Meta's origin (unset means Meta's default) or when a demo-only variable among them is set. Call
 * from an app's env.ts with the `source` it parsed; outside production it does nothing. Throws
 * EnvError naming every offending variable.
 */
export function assertProductionEndpoints(source: Record<string, string | undefined>, names: readonly string[]): void {
  if (source.NODE_ENV !== "production") return;
  const problems: string[] = [];
  for (const name of names) {
    const raw = source[name]?.trim();
    if ((DEMO_ONLY_VARIABLES as readonly string[]).includes(name)) {
      if (raw) problems.push(`${name}: is for the demo only; unset it when NODE_ENV=production`);
      continue;
    }
    const allowed = META_ENDPOINTS[name];
    if (!allowed || !raw) continue;
    let origin: string | null = null;
    try {
      const url = new URL(raw);
      origin = url.pathname.replace(/\/+$/, "") === "" && !url.search && !url.username ? url.origin : null;
    } catch {
      origin = null;
    }
    if (!origin || !allowed.includes(origin))
      problems.push(`${name}: must be ${allowed.join(" or ")} when NODE_ENV=production (the simulator is for demos)`);
  }
  if (problems.length) throw new EnvError(problems);
}

/** The simulator signs any webhook it is asked to: it refuses to run as a production process. */
export function assertNotProduction(source: Record<string, string | undefined>, what: string): void {
  if (source.NODE_ENV === "production")
    throw new EnvError([`NODE_ENV: ${what} never runs with NODE_ENV=production (use the demo profile)`]);
}
