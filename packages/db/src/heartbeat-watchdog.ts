import type { Connection } from "mongoose";

/** What the watchdog saw and did, for the process's logger. */
export interface HeartbeatStall {
  /** The server whose heartbeat never ended. */
  address: string;
  /** How long it had been outstanding. */
  outstandingMs: number;
}

export interface HeartbeatWatchdogOptions {
  /**
   * A heartbeat outstanding longer than this is stalled. It must exceed the longest a heartbeat can
   * legitimately take: the driver's own socket timeout for it (connectTimeoutMS) plus, on servers
   * that stream heartbeats, the awaited time (heartbeatFrequencyMS).
   */
  stallMs: number;
  /** How often outstanding heartbeats are looked at. Default 1 s. */
  checkEveryMs?: number;
  /** Opens the connection again (a new MongoClient behind the same mongoose Connection and models). */
  reopen: () => Promise<void>;
  /** Told of each stall before the connection is reopened. */
  onStall?: (stall: HeartbeatStall) => void;
  /** Told when a reopen failed (the next stall check tries again). */
  onReopenFailed?: (err: unknown) => void;
}

interface HeartbeatEvent {
  connectionId: string;
}

/**
 * Reopens a MongoDB connection whose server monitor is stuck. Seen here with FerretDB stopped under
 * load and started again (mongodb driver 6.18): the heartbeat the driver starts when an operation's
 * connection closes can hang forever (no succeeded or failed event, past its own socket timeout),
 * and the server then stays "Unknown": every operation waits out server selection and fails with the
 * error that marked it unknown (`connection 7 to host:port closed`), minutes after the database is
 * back, while a new client reads it at once. Nothing in the driver ends that state, so recovery is
 * this process's: a heartbeat outstanding longer than any heartbeat may last means the monitor is
 * stuck, and the connection is reopened (operations issued meanwhile wait in mongoose's buffer).
 */
export class HeartbeatWatchdog {
  /** Start time of each server's outstanding heartbeat. */
  private readonly outstanding = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private reopening: Promise<void> | null = null;
  /** A reopen failed (the database was still away): the next check tries again. */
  private mustReopen = false;
  private stopped = false;
  /** Reopens done so far. */
  reopens = 0;

  constructor(
    private readonly connection: Connection,
    private readonly opts: HeartbeatWatchdogOptions,
  ) {
    this.watch();
    this.timer = setInterval(() => this.check(), opts.checkEveryMs ?? 1_000);
    this.timer.unref();
  }

  /** Resolves when no reopen is under way. */
  async settled(): Promise<void> {
    await this.reopening;
  }

  /** Stops watching; waits for a reopen under way. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.reopening?.catch(() => undefined);
  }

  /** Listens to the current client's monitor (again after each reopen: a new client). */
  private watch(): void {
    const client = this.connection.getClient();
    client.on("serverHeartbeatStarted", (e: HeartbeatEvent) => this.outstanding.set(e.connectionId, Date.now()));
    client.on("serverHeartbeatSucceeded", (e: HeartbeatEvent) => this.outstanding.delete(e.connectionId));
    client.on("serverHeartbeatFailed", (e: HeartbeatEvent) => this.outstanding.delete(e.connectionId));
  }

  private check(): void {
    if (this.stopped || this.reopening) return;
    const now = Date.now();
    const stalled = [...this.outstanding].find(([, since]) => now - since >= this.opts.stallMs);
    if (!stalled && !this.mustReopen) return;
    if (stalled) this.opts.onStall?.({ address: stalled[0], outstandingMs: now - stalled[1] });
    this.outstanding.clear();
    this.mustReopen = false;
    this.reopening = this.opts
      .reopen()
      .then(
        () => {
          this.reopens++;
          this.watch();
        },
        (err: unknown) => {
          this.mustReopen = true;
          this.opts.onReopenFailed?.(err);
        },
      )
      .finally(() => {
        this.reopening = null;
      });
  }
}
