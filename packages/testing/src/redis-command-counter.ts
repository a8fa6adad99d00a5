import { Redis } from "ioredis";

/** What a Redis server (or every master of a cluster, summed) has executed up to one moment. */
export interface RedisWork {
  /** Commands executed, those run inside Lua scripts (BullMQ's, the pacer's) included. */
  commands: number;
  /** Commands by name (lower case: xadd, evalsha, get…). */
  byCommand: Record<string, number>;
  /** CPU seconds the server processes used (user + system). */
  cpuSeconds: number;
}

/**
 * Counts the work Redis does, from the servers' own INFO (commandstats and cpu), so that a benchmark
 * can report Redis commands per message whoever sent them, a figure that does not depend on the
 * machine, next to the server CPU it cost. Give it one connection per server (each master of a
 * cluster); its own INFO calls are left out of the counts. Meant for servers of the benchmark's own:
 * on a shared server, other clients' commands count too.
 */
export class RedisCommandCounter {
  constructor(private readonly servers: Redis[]) {}

  /** A counter over plain connections to these host:port servers; close() disconnects them. */
  static forNodes(nodes: ReadonlyArray<{ host: string; port: number }>): RedisCommandCounter {
    return new RedisCommandCounter(
      nodes.map((n) => new Redis({ host: n.host, port: n.port, maxRetriesPerRequest: 1 })),
    );
  }

  /** The work done so far (compare two with `diff`). */
  async snapshot(): Promise<RedisWork> {
    const total: RedisWork = { commands: 0, byCommand: {}, cpuSeconds: 0 };
    for (const server of this.servers) {
      const [stats, cpu] = [await server.info("commandstats"), await server.info("cpu")];
      for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        const name = m[1]!.replace(/\|/g, " ");
        if (name === "info") continue;
        total.byCommand[name] = (total.byCommand[name] ?? 0) + Number(m[2]);
        total.commands += Number(m[2]);
      }
      const user = Number(/^used_cpu_user:([\d.]+)/m.exec(cpu)?.[1] ?? 0);
      const sys = Number(/^used_cpu_sys:([\d.]+)/m.exec(cpu)?.[1] ?? 0);
      total.cpuSeconds += user + sys;
    }
    return total;
  }

  /** The work done between two snapshots, commands sorted by count. */
  static diff(before: RedisWork, after: RedisWork): RedisWork {
    const byCommand: Record<string, number> = {};
    for (const [name, n] of Object.entries(after.byCommand)) {
      const d = n - (before.byCommand[name] ?? 0);
      if (d > 0) byCommand[name] = d;
    }
    return {
      commands: after.commands - before.commands,
      byCommand: Object.fromEntries(Object.entries(byCommand).sort((a, b) => b[1] - a[1])),
      cpuSeconds: Math.max(0, after.cpuSeconds - before.cpuSeconds),
    };
  }

  close(): void {
    for (const s of this.servers) s.disconnect();
  }
}
