import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { killOnExit } from "./kill-on-exit.js";
import { freePort, waitForPort } from "./ports.js";

export interface OwnSentinelSet {
  /** The master name the sentinels monitor. */
  name: string;
  /** The sentinels, as REDIS_SENTINELS lists them. */
  sentinels: Array<{ host: string; port: number }>;
  /** REDIS_SENTINELS's value. */
  sentinelsEnv: string;
  primaryPort: number;
  replicaPort: number;
  /** SIGKILLs the primary (no shutdown, no last write to disk): the sentinels promote the replica. */
  killPrimary(): Promise<void>;
  /**
   * Freezes the replica (SIGSTOP): the primary still counts it connected (until its repl-timeout) but
   * no copy is confirmed, so a WAIT times out. `resumeReplica()` (SIGCONT) lets it catch up.
   */
  pauseReplica(): void;
  resumeReplica(): void;
  /** The port of the primary the sentinels name now. */
  currentPrimaryPort(): Promise<number>;
  /** Stops every server for good and removes their folders. */
  destroy(): Promise<void>;
}

const until = async (check: () => Promise<boolean>, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`redis sentinel set: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/**
 * A primary and its replica (AOF on both) watched by three sentinels (quorum 2, down after 1 s), all
 * redis-servers of the test's own: for failover tests. Resolves once the replica is in sync and every
 * sentinel knows the replica and the two other sentinels.
 */
export async function startRedisSentinelSet(
  opts: {
    name?: string;
    /** 0: a primary and its replica alone (benchmarks: no failover on a slow machine). Default 3. */ sentinels?: number;
  } = {},
): Promise<OwnSentinelSet> {
  const name = opts.name ?? "ljmain";
  const dir = mkdtempSync(join(tmpdir(), "redis-sentinel-"));
  const children: ChildProcess[] = [];
  const run = (args: string[]) => {
    const child = spawn("redis-server", args, { stdio: "ignore" });
    killOnExit(child);
    children.push(child);
    return child;
  };
  const server = (port: number, sub: string, extra: string[] = []) =>
    run([
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "yes",
      "--dir",
      mkdtempSync(join(dir, `${sub}-`)),
      "--daemonize",
      "no",
      ...extra,
    ]);
  const primaryPort = await freePort();
  const replicaPort = await freePort();
  const primary = server(primaryPort, "primary");
  await waitForPort(primaryPort);
  const replica = server(replicaPort, "replica", ["--replicaof", "127.0.0.1", String(primaryPort)]);
  await waitForPort(replicaPort);
  const sentinels: Array<{ host: string; port: number }> = [];
  for (let i = 0; i < (opts.sentinels ?? 3); i++) {
    const port = await freePort();
    const conf = join(dir, `sentinel-${i}.conf`);
    writeFileSync(
      conf,
      [
        `port ${port}`,
        "bind 127.0.0.1",
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        `sentinel parallel-syncs ${name} 1`,
        "",
      ].join("\n"),
    );
    run([conf, "--sentinel"]);
    await waitForPort(port);
    sentinels.push({ host: "127.0.0.1", port });
  }
  const ask = async <T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> => {
    const r = new Redis({
      port,
      host: "127.0.0.1",
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    r.on("error", () => undefined);
    try {
      await r.connect();
      return await fn(r);
    } finally {
      r.disconnect();
    }
  };
  await until(
    () => ask(replicaPort, async (r) => (await r.info("replication")).includes("master_link_status:up")),
    30_000,
    "the replica's sync",
  );
  // Sentinels learn the replica from the primary's INFO and each other through hello messages.
  await until(
    async () => {
      for (const s of sentinels) {
        const master = (await ask(s.port, (r) => r.call("SENTINEL", "MASTER", name))) as string[];
        const field = (k: string) => Number(master[master.indexOf(k) + 1]);
        if (field("num-slaves") < 1 || field("num-other-sentinels") < 2) return false;
      }
      return true;
    },
    60_000,
    "the sentinels to know the replica and each other",
  );

  const stopAll = async () => {
    if (replica.exitCode === null && replica.signalCode === null) replica.kill("SIGCONT");
    await Promise.all(
      children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        c.kill("SIGKILL");
        await new Promise((r) => c.once("exit", r));
      }),
    );
  };
  return {
    name,
    sentinels,
    sentinelsEnv: sentinels.map((s) => `${s.host}:${s.port}`).join(","),
    primaryPort,
    replicaPort,
    async killPrimary() {
      if (primary.exitCode !== null || primary.signalCode !== null) return;
      primary.kill("SIGKILL");
      await new Promise((r) => primary.once("exit", r));
    },
    pauseReplica() {
      replica.kill("SIGSTOP");
    },
    resumeReplica() {
      replica.kill("SIGCONT");
    },
    async currentPrimaryPort() {
      for (const s of sentinels) {
        const addr = await ask(s.port, (r) => r.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)).catch(() => null);
        if (Array.isArray(addr)) return Number(addr[1]);
      }
      throw new Error("no sentinel answered");
    },
    async destroy() {
      await stopAll();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
