import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { eventually } from "./wait.js";

// A parent that starts a long-running child through startNodeProcess, then is stopped by a signal
// (Ctrl-C, `kill`): the child must not outlive it. Real processes, real signals.
const parentScript = `
  import { startNodeProcess } from ${JSON.stringify(fileURLToPath(new URL("./node-process.ts", import.meta.url)))};
  const p = startNodeProcess("sleeper", ["-e", "setInterval(() => {}, 1000)"], { cwd: process.cwd(), env: { PATH: process.env.PATH ?? "" } });
  console.log(String(p.child.pid));
  setInterval(() => {}, 1000);
`;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("killOnExit", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const)
    it(`ends the processes a parent started when the parent is stopped by ${signal}`, async () => {
      const parent = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", parentScript], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      const childPid = await new Promise<number>((resolve, reject) => {
        parent.stdout.once("data", (b: Buffer) => resolve(Number(String(b).trim())));
        parent.once("exit", () => reject(new Error("the parent exited before starting its child")));
      });
      expect(alive(childPid)).toBe(true);
      const exited = new Promise<number | null>((resolve) => parent.once("exit", (code) => resolve(code)));
      parent.kill(signal);
      // The parent exits as the signal would have ended it (128 + the signal's number)…
      expect(await exited).toBe(signal === "SIGTERM" ? 143 : 130);
      // …and its child is gone with it.
      await eventually(() => !alive(childPid) || null, 10_000);
    });
});
