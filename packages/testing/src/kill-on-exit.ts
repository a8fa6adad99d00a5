import type { ChildProcess } from "node:child_process";
import { constants } from "node:os";

const living = new Set<ChildProcess>();
let installed = false;

const endAll = () => {
  for (const c of living) c.kill("SIGTERM");
};

/**
 * Ends `child` when this process exits without having stopped it (a benchmark or test that crashes
 * never reaches its stop()), so that servers and app processes started for it do not outlive it.
 * One `exit` listener for all of them, and one per terminating signal: Node ends a process on
 * SIGINT, SIGTERM or SIGHUP without emitting `exit`, so a benchmark or chaos run stopped by Ctrl-C or
 * `kill` used to leave its workers running, reconnecting forever to servers that had died with it.
 * On such a signal the children are ended; the process then exits as the signal would have ended
 * it, unless something else listens to that signal (it then decides).
 */
export function killOnExit(child: ChildProcess): void {
  if (!installed) {
    installed = true;
    process.once("exit", endAll);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
      process.once(signal, () => {
        endAll();
        if (process.listenerCount(signal) === 0) process.exit(128 + constants.signals[signal]);
      });
  }
  living.add(child);
  child.once("exit", () => living.delete(child));
}
