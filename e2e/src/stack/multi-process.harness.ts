/**
 * Worker processes as production runs them, for the multi-process test: `node --import tsx <main.ts>`
 * in a process of its own, configured by environment only, ready once its HEALTH_PORT answers /ready.
 * Each keeps the tail of its output (pino JSON lines) and counts its error-level lines.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { freePort, startNodeProcess, waitForReady, type NodeProcess } from "@linkojob/testing/services";

export { killAll, terminate } from "@linkojob/testing/services";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * Each worker's process entry, as its package declares it (`exports["./main"]`), under the
 * `@linkojob/source` condition the processes run with: the TypeScript source, so that a test runs
 * the code as it is now, not the last build (Node's require.resolve knows no custom condition).
 */
const sourceMain = (pkg: string): string => {
  const manifest = fileURLToPath(new URL(`../../node_modules/${pkg}/package.json`, import.meta.url));
  const exports = (JSON.parse(readFileSync(manifest, "utf8")) as { exports: Record<string, Record<string, string>> })
    .exports;
  return fileURLToPath(new URL(exports["./main"]!["@linkojob/source"]!, pathToFileURL(manifest)));
};
export const WORKER_MAINS = {
  inbound: sourceMain("@linkojob/inbound-worker"),
  outbound: sourceMain("@linkojob/outbound-worker"),
} as const;

/** A worker process: its /ready and /metrics listen on `port` (HEALTH_PORT). */
export interface WorkerProcess extends NodeProcess {
  port: number;
}

/** Starts one worker process and waits until it answers /ready (killing it when it exits or times out first). */
export async function startWorkerProcess(
  name: string,
  main: string,
  env: Record<string, string>,
  readyTimeoutMs = 60_000,
): Promise<WorkerProcess> {
  const port = await freePort();
  const proc = startNodeProcess(name, ["--conditions=@linkojob/source", "--import", "tsx", main], {
    cwd: REPO_ROOT, // where `tsx` resolves
    // No default quiet hours unless a test asks (the suite runs at any hour, with Moroccan numbers).
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      SENDING_DEFAULT_QUIET_HOURS: "off",
      ...env,
      HEALTH_PORT: String(port),
    },
  });
  try {
    await waitForReady(proc, `http://127.0.0.1:${port}/ready`, readyTimeoutMs);
  } catch (err) {
    proc.child.kill("SIGKILL");
    throw err;
  }
  return { ...proc, port };
}

/**
 * Job counts of one BullMQ 5 queue, read from its keys (`<prefix>:<queue>:wait` and so on) so that
 * this package needs no BullMQ of its own.
 */
export async function queueCounts(
  redis: { llen(key: string): Promise<number>; zcard(key: string): Promise<number> },
  prefix: string,
  queue: string,
): Promise<{ waiting: number; active: number; delayed: number; prioritized: number; failed: number }> {
  const key = (k: string) => `${prefix}:${queue}:${k}`;
  const [wait, paused, active, delayed, prioritized, failed] = await Promise.all([
    redis.llen(key("wait")),
    redis.llen(key("paused")),
    redis.llen(key("active")),
    redis.zcard(key("delayed")),
    redis.zcard(key("prioritized")),
    redis.zcard(key("failed")),
  ]);
  return { waiting: wait + paused, active, delayed, prioritized, failed };
}
