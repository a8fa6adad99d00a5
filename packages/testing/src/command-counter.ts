import type { Connection } from "mongoose";

interface CommandStartedLike {
  commandName: string;
  databaseName: string;
}

/**
 * Counts the MongoDB requests a connection sends, from the driver's command monitoring (connect the
 * Database with `monitorCommands: true`). Handshake and heartbeat commands (hello, ping…) are not
 * counted: only what the application asked for. Used by benchmarks and tests to report database
 * requests per message, a figure that does not depend on the machine.
 */
export class CommandCounter {
  private readonly counts = new Map<string, number>();
  private readonly onStarted = (e: CommandStartedLike) => {
    if (IGNORED.has(e.commandName)) return;
    this.counts.set(e.commandName, (this.counts.get(e.commandName) ?? 0) + 1);
  };

  constructor(private readonly connection: Connection) {
    connection.getClient().on("commandStarted", this.onStarted);
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

  reset(): void {
    this.counts.clear();
  }

  stop(): void {
    this.connection.getClient().off("commandStarted", this.onStarted);
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
