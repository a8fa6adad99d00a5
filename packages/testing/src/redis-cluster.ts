import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { killOnExit } from "./kill-on-exit.js";
import { freePort, waitForPort } from "./ports.js";

const run = promisify(execFile);

export interface OwnRedisCluster {
  /** The masters, each owning a third (or 1/n) of the 16,384 slots. */
  nodes: Array<{ host: string; port: number }>;
  /** The nodes as REDIS_CLUSTER_NODES spells them: "127.0.0.1:P1,127.0.0.1:P2,…". */
  nodesEnv: string;
  /** Stops every node and removes their folder. */
  destroy(): Promise<void>;
}

/**
 * A Redis Cluster of the test's own: `masters` redis-server processes with cluster mode on, no
 * replicas, no persistence, on free ports of 127.0.0.1 (the cluster bus on other free ports), the
 * slots spread by `redis-cli --cluster create`. Resolves once every node reports cluster_state:ok.
 */
export async function startRedisCluster(opts: { masters?: number; timeoutMs?: number } = {}): Promise<OwnRedisCluster> {
  const masters = opts.masters ?? 3;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const dir = mkdtempSync(join(tmpdir(), "redis-cluster-"));
  const children: ChildProcess[] = [];
  const nodes: Array<{ host: string; port: number }> = [];
  const destroy = async () => {
    await Promise.all(
      children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise((r) => c.once("exit", r));
        c.kill("SIGTERM");
        await exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      const busPort = await freePort();
      const child = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--cluster-enabled",
          "yes",
          "--cluster-port",
          String(busPort),
          "--cluster-config-file",
          join(dir, `nodes-${port}.conf`),
          "--cluster-node-timeout",
          "5000",
          "--save",
          "",
          "--appendonly",
          "no",
          "--dir",
          dir,
          "--daemonize",
          "no",
        ],
        { stdio: "ignore" },
      );
      killOnExit(child);
      children.push(child);
      nodes.push({ host: "127.0.0.1", port });
    }
    await Promise.all(nodes.map((n) => waitForPort(n.port, n.host, timeoutMs)));
    await run(
      "redis-cli",
      ["--cluster", "create", ...nodes.map((n) => `${n.host}:${n.port}`), "--cluster-replicas", "0", "--cluster-yes"],
      {
        timeout: timeoutMs,
      },
    );
    await untilClusterOk(nodes, timeoutMs);
  } catch (err) {
    await destroy();
    throw err;
  }
  return { nodes, nodesEnv: nodes.map((n) => `${n.host}:${n.port}`).join(","), destroy };
}

/** Polls CLUSTER INFO on every node until all say cluster_state:ok (slots assigned, nodes agreed). */
async function untilClusterOk(nodes: Array<{ host: string; port: number }>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const conns = nodes.map((n) => new Redis({ host: n.host, port: n.port, lazyConnect: true, maxRetriesPerRequest: 1 }));
  try {
    for (;;) {
      const states = await Promise.all(
        conns.map(async (c) => {
          const info = String(await c.cluster("INFO").catch(() => ""));
          return /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info);
        }),
      );
      if (states.every(Boolean)) return;
      if (Date.now() > deadline)
        throw new Error(`Redis Cluster not ok after ${timeoutMs} ms (nodes ${nodes.map((n) => n.port).join(", ")})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    for (const c of conns) c.disconnect();
  }
}
