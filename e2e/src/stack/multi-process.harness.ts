/**
 * Worker processes as production runs them, for the multi-process test: `node --import tsx <main.ts>`
 * in a process of its own, configured by environment only, ready once its HEALTH_PORT answers /ready.
 * Each keeps the tail of its output (pino JSON lines) and counts its error-level lines.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { freePort } from "@linkojob/testing";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** Each worker's process entry, as its package declares it (`exports["./main"]`). */
const resolvePackage = createRequire(import.meta.url).resolve;
export const WORKER_MAINS = {
  inbound: resolvePackage("@linkojob/inbound-worker/main"),
  outbound: resolvePackage("@linkojob/outbound-worker/main"),
} as const;

export interface WorkerProcess {
  name: string;
  child: ChildProcess;
  port: number;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  exited: Promise<number | null>;
  /** The last lines it wrote (stdout and stderr). */
  tail: string[];
  /** Its log lines at level error or fatal. */
  errors: string[];
}

const TAIL_LINES = 200;

/** Starts one worker process and waits until it answers /ready (or fails when it exits first). */
export async function startWorkerProcess(
  name: string,
  main: string,
  env: Record<string, string>,
  readyTimeoutMs = 60_000,
): Promise<WorkerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--conditions=@linkojob/source", "--import", "tsx", main], {
    cwd: REPO_ROOT, // where `tsx` resolves
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env, HEALTH_PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc: WorkerProcess = {
    name,
    child,
    port,
    exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
    tail: [],
    errors: [],
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buf = "";
    stream.on("data", (chunk: Buffer) => {
      buf += chunk.toString();
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const line of lines) {
        if (!line.trim()) continue;
        proc.tail.push(line);
        if (proc.tail.length > TAIL_LINES) proc.tail.shift();
        if (/"level":(5|6)\d/.test(line)) proc.errors.push(line);
      }
    });
  }
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${name} exited (${child.signalCode ?? child.exitCode}) before it was ready:\n${proc.tail.join("\n")}`,
      );
    }
    const status = await fetch(`http://127.0.0.1:${port}/ready`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return proc;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${name} was not ready within ${readyTimeoutMs} ms:\n${proc.tail.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const isRunning = (p: WorkerProcess): boolean => p.child.exitCode === null && p.child.signalCode === null;

/** SIGTERM, then the exit code; SIGKILL (and null) when it has not exited within `timeoutMs`. */
export async function terminate(p: WorkerProcess, timeoutMs = 40_000): Promise<number | null> {
  if (!isRunning(p)) return p.exited;
  p.child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), timeoutMs)));
  const code = await Promise.race([p.exited, late]);
  clearTimeout(timer);
  if (code !== "late") return code;
  p.child.kill("SIGKILL");
  await p.exited;
  return null;
}

/** Kills every process of the list still running (SIGKILL) and waits for their exits. */
export async function killAll(list: WorkerProcess[]): Promise<void> {
  for (const p of list) if (isRunning(p)) p.child.kill("SIGKILL");
  await Promise.all(list.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 5_000))])));
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
