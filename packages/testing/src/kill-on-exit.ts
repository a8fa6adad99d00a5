import type { ChildProcess } from "node:child_process";

const living = new Set<ChildProcess>();
let installed = false;

/**
 * Ends `child` when this process exits without having stopped it (a benchmark or test that crashes
 * never reaches its stop()), so that servers started for it do not outlive it. One `exit` listener
 * for all of them.
 */
export function killOnExit(child: ChildProcess): void {
  if (!installed) {
    installed = true;
    process.once("exit", () => {
      for (const c of living) c.kill("SIGTERM");
    });
  }
  living.add(child);
  child.once("exit", () => living.delete(child));
}
