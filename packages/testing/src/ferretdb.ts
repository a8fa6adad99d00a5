import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir, homedir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "./ports";

export const FERRETDB_MODULE = "github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2";

function goBin(): string | null {
  try {
    const gopath = execFileSync("go", ["env", "GOPATH"], { encoding: "utf8" }).trim();
    return join(gopath, "bin");
  } catch {
    return null;
  }
}

/**
 * Finds the ferretdb binary (FERRETDB_BIN, PATH, or Go's bin folder), building it with `go install`
 * once when it is nowhere (a few minutes on two cores; later runs reuse it).
 */
export function ensureFerretDbBinary(): string {
  const candidates = [process.env.FERRETDB_BIN, goBin() && join(goBin()!, "ferretdb"), join(homedir(), "go", "bin", "ferretdb")];
  for (const c of candidates) if (c && existsSync(c)) return c;
  try {
    return execFileSync("sh", ["-c", "command -v ferretdb"], { encoding: "utf8" }).trim();
  } catch {
    // not on PATH
  }
  console.error(`[testing] building FerretDB (${FERRETDB_MODULE}) once; this takes a few minutes`);
  execFileSync("go", ["install", FERRETDB_MODULE], { stdio: "inherit" });
  const built = join(goBin()!, "ferretdb");
  if (!existsSync(built)) throw new Error("go install finished but no ferretdb binary was produced");
  return built;
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
