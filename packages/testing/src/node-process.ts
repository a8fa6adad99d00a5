import { spawn, type ChildProcess } from "node:child_process";
import { killOnExit } from "./kill-on-exit.js";

/** A Node.js process a test starts (an app's main, compiled or through tsx), with what it wrote. */
export interface NodeProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves once the process has exited: its exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Its last output lines, stdout and stderr together. */
  readonly tail: string[];
  /** Its pino log lines at level error (50) or fatal (60). */
  readonly errors: string[];
}

export interface StartNodeProcessOptions {
  cwd: string;
  /** The whole environment of the process: nothing of the test process's leaks in. */
  env: Record<string, string>;
  /** How many output lines `tail` keeps; default 200. */
  tailLines?: number;
}

/** `node <args>` in a process of its own, its output collected line by line. */
export function startNodeProcess(name: string, args: string[], options: StartNodeProcessOptions): NodeProcess {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  killOnExit(child);
  const keep = options.tailLines ?? 200;
  const proc: NodeProcess = {
    name,
    child,
    exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
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
        if (proc.tail.length > keep) proc.tail.shift();
        if (/"level":(5|6)\d/.test(line)) proc.errors.push(line);
      }
    });
  }
  return proc;
}

/** The process's last output, for assertion messages. */
export function describeOutput(proc: NodeProcess): string {
  return `--- ${proc.name}: last output ---\n${proc.tail.join("\n")}\n---`;
}

export const isRunning = (proc: NodeProcess): boolean => proc.child.exitCode === null && proc.child.signalCode === null;

/** Polls GET `url` until it answers 200; throws, with the output, when the process exits first or time runs out. */
export async function waitForReady(proc: NodeProcess, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isRunning(proc)) {
      const { exitCode, signalCode } = proc.child;
      throw new Error(
        `${proc.name} exited (${signalCode ?? exitCode}) before ${url} answered 200\n${describeOutput(proc)}`,
      );
    }
    const last = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      async (r) => `${r.status} ${await r.text()}`,
      (err: Error) => err.message,
    );
    if (last.startsWith("200 ")) return;
    if (Date.now() > deadline) {
      throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})\n${describeOutput(proc)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Resolves with the exit, or with null when the process is still running after `ms`. */
export function exitWithin(
  proc: NodeProcess,
  ms: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null } | null> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    proc.exited,
    new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** SIGTERM, then the exit; SIGKILL, and null, when it has not exited within `timeoutMs` (compose's 40 s grace by default). */
export async function terminate(
  proc: NodeProcess,
  timeoutMs = 40_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null } | null> {
  if (!isRunning(proc)) return proc.exited;
  proc.child.kill("SIGTERM");
  const exit = await exitWithin(proc, timeoutMs);
  if (exit) return exit;
  proc.child.kill("SIGKILL");
  await proc.exited;
  return null;
}

/** SIGKILLs every process of the list still running and waits (5 s at most each) for their exits. */
export async function killAll(list: Iterable<NodeProcess>): Promise<void> {
  const procs = [...list];
  for (const p of procs) if (isRunning(p)) p.child.kill("SIGKILL");
  await Promise.all(procs.map((p) => exitWithin(p, 5_000)));
}
