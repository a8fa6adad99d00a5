import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { freePort, waitForPort } from "./ports";


const INSTALL_SCRIPT = fileURLToPath(new URL("../bin/install-ferretdb.sh", import.meta.url));

/**
 * The ferretdb binary: FERRETDB_BIN when set, else the one bin/install-ferretdb.sh builds once (with
 * Go, a minute or two on two cores) and reuses afterwards.
 */
export function ensureFerretDbBinary(): string {
  const fromEnv = process.env.FERRETDB_BIN;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  const out = execFileSync("bash", [INSTALL_SCRIPT], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return out.trim().split("\n").pop()!;
}

export interface RunningService {
  url: string;
  stop(): Promise<void>;
}

/** Starts a FerretDB (SQLite backend) on a free port with its data in a fresh temp folder. */
export async function startFerretDb(): Promise<RunningService> {
  const bin = ensureFerretDbBinary();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "ferretdb-"));
  const child: ChildProcess = spawn(
    bin,
    [
      "--handler=sqlite",
      `--sqlite-url=file:${dir}/`,
      `--state-dir=${dir}`,
      `--listen-addr=127.0.0.1:${port}`,
      "--debug-addr=-",
      "--telemetry=disable",
      "--log-level=error",
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  await waitForPort(port);
  return {
    url: `mongodb://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
