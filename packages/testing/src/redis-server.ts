import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killOnExit } from "./kill-on-exit.js";
import { freePort, waitForPort } from "./ports.js";

export interface OwnRedis {
  url: string;
  port: number;
  /** Stops the server (the data goes unless appendonly was asked for). */
  stop(): Promise<void>;
  /** Starts it again on the same port (and the same data folder). */
  start(): Promise<void>;
  /** Stops it for good and removes its folder. */
  destroy(): Promise<void>;
}

/**
 * A redis-server of the test's own, for tests that stop or overload Redis (the shared one at 6379 is
 * never stopped).
 */
export async function startRedisServer(opts: { appendonly?: boolean } = {}): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "redis-"));
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        opts.appendonly ? "yes" : "no",
        "--dir",
        dir,
        "--daemonize",
        "no",
      ],
      { stdio: "ignore" },
    );
    killOnExit(child);
    await waitForPort(port);
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (c && c.exitCode === null) {
      c.kill("SIGTERM");
      await new Promise((r) => c.once("exit", r));
    }
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
