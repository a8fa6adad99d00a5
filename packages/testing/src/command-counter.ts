import type { Connection } from "mongoose";

interface CommandStartedLike {
  commandName: string;
  databaseName: string;
  requestId: number;
  command?: Record<string, unknown>;
}
interface CommandEndedLike {
  requestId: number;
  duration: number;
}

/** Requests of one shape since the last reset, and the server's time for them (milliseconds). */
export interface ShapeTally {
  calls: number;
  totalMs: number;
  msPerCall: number;
}

/**
 * Counts the MongoDB requests a connection sends, from the driver's command monitoring (connect the
 * Database with `monitorCommands: true`). Handshake and heartbeat commands (hello, ping…) are not
 * counted: only what the application asked for. Used by benchmarks and tests to report database
 * requests per message, a figure that does not depend on the machine.
 *
 * `byShape()` also groups them by shape — command, collection, the filter's field names (with the
 * operator of a non-equality, `timestamp:$lte`) and the sort — with the time each took as the
 * driver saw it: a shape whose time per call grows with the data is one the server scans for.
 */
export class CommandCounter {
  private readonly counts = new Map<string, number>();
  private readonly shapes = new Map<string, { calls: number; totalMs: number }>();
  private readonly pending = new Map<number, string>();
  private readonly onStarted = (e: CommandStartedLike) => {
    if (IGNORED.has(e.commandName)) return;
    this.counts.set(e.commandName, (this.counts.get(e.commandName) ?? 0) + 1);
    if (this.pending.size < 100_000) this.pending.set(e.requestId, commandShape(e.commandName, e.command ?? {}));
  };
  private readonly onEnded = (e: CommandEndedLike) => {
    const shape = this.pending.get(e.requestId);
    if (shape === undefined) return;
    this.pending.delete(e.requestId);
    const s = this.shapes.get(shape) ?? { calls: 0, totalMs: 0 };
    s.calls++;
    s.totalMs += e.duration;
    this.shapes.set(shape, s);
  };

  constructor(private readonly connection: Connection) {
    const client = connection.getClient();
    client.on("commandStarted", this.onStarted);
    client.on("commandSucceeded", this.onEnded);
    client.on("commandFailed", this.onEnded);
  }

  /** Total requests since the last reset. */
  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  /** Requests by command name since the last reset (insert, update, find, aggregate…). */
  byCommand(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort((a, b) => b[1] - a[1]));
  }

  /** Requests by shape since the last reset, the most time-consuming first. */
  byShape(): Record<string, ShapeTally> {
    return Object.fromEntries(
      [...this.shapes.entries()]
        .sort((a, b) => b[1].totalMs - a[1].totalMs)
        .map(([k, s]) => [
          k,
          { calls: s.calls, totalMs: Math.round(s.totalMs), msPerCall: +(s.totalMs / s.calls).toFixed(2) },
        ]),
    );
  }

  reset(): void {
    this.counts.clear();
    this.shapes.clear();
    this.pending.clear();
  }

  stop(): void {
    const client = this.connection.getClient();
    client.off("commandStarted", this.onStarted);
    client.off("commandSucceeded", this.onEnded);
    client.off("commandFailed", this.onEnded);
  }
}

/** `find messages {clientId,conversationId,timestamp:$lte} sort{timestamp,_id}`: what a request asks, without its values. */
export function commandShape(name: string, command: Record<string, unknown>): string {
  const collection = typeof command[name] === "string" ? command[name] : "";
  const keys = (filter: unknown): string => {
    if (!filter || typeof filter !== "object") return "{}";
    const parts = Object.entries(filter as Record<string, unknown>).map(([k, v]) => {
      if (k.startsWith("$")) return k;
      const op =
        v && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date)
          ? Object.keys(v).filter((o) => o.startsWith("$"))
          : [];
      return op.length ? `${k}:${op.join(":")}` : k;
    });
    return `{${parts.join(",")}}`;
  };
  const sortOf = (sort: unknown) => {
    // The driver sends a sort as a Map.
    const fields = sort instanceof Map ? [...sort.keys()] : sort && typeof sort === "object" ? Object.keys(sort) : [];
    return fields.length ? ` sort{${fields.join(",")}}` : "";
  };
  switch (name) {
    case "find":
      return `find ${collection} ${keys(command.filter)}${sortOf(command.sort)}${command.limit ? " limit" : ""}`;
    case "count":
    case "distinct":
      return `${name} ${collection} ${keys(command.query)}`;
    case "update":
    case "delete": {
      const list = (command[name === "update" ? "updates" : "deletes"] ?? []) as Array<{ q?: unknown }>;
      return `${name} ${collection} ${[...new Set(list.map((u) => keys(u.q)))].join(" ")}`;
    }
    case "findAndModify":
      return `findAndModify ${collection} ${keys(command.query)}${sortOf(command.sort)}`;
    case "aggregate": {
      const stages = (command.pipeline ?? []) as Array<Record<string, unknown>>;
      return `aggregate ${collection} ${stages
        .map((s) => {
          const op = Object.keys(s)[0] ?? "";
          return op === "$match" ? `$match${keys(s[op])}` : op;
        })
        .join(" ")}`;
    }
    default:
      return `${name} ${collection}`;
  }
}

const IGNORED = new Set([
  "hello",
  "isMaster",
  "ismaster",
  "ping",
  "buildInfo",
  "saslStart",
  "saslContinue",
  "endSessions",
  "getMore_heartbeat",
]);
