import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import pg from "pg";
import { killOnExit } from "./kill-on-exit.js";
import { freePort, waitForPort } from "./ports.js";

const INSTALL_SCRIPT = fileURLToPath(new URL("../bin/install-ferretdb.sh", import.meta.url));

/** The PostgreSQL that FerretDB uses when one answers; PG_URL overrides it. */
export const DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/** Each run's own PostgreSQL database is named `<prefix><pid>_<random>`; the pid lets a later run drop what a killed run left. */
const DB_PREFIX = "lj_ferret_";

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

export type FerretDbBackend = "postgresql" | "sqlite";

export interface RunningFerretDb extends RunningService {
  /** The storage engine behind this FerretDB. */
  backend: FerretDbBackend;
  /**
   * Stops the server process only (SIGTERM by default, SIGKILL for a crash), keeping its port and
   * its data: a database outage. `stop()` still ends it for good.
   */
  halt(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and the same data, once halted; resolves when it listens. */
  resume(): Promise<void>;
  /** The server process's id while it runs (benchmarks read its CPU time from /proc). */
  pid(): number | undefined;
}

export interface FerretDbOptions {
  /**
   * "auto" (default, or FERRETDB_BACKEND when set): PostgreSQL when one answers at `pgUrl`, else
   * SQLite with a warning on stderr. "postgresql" fails when none answers.
   */
  backend?: FerretDbBackend | "auto";
  /** Default: PG_URL, else postgres://postgres@127.0.0.1:5432/postgres. */
  pgUrl?: string;
  /**
   * Most PostgreSQL connections this FerretDB opens (its `pool_max_conns`). Default FerretDB's own, 50;
   * a `pool_max_conns` in the URL wins. Not lower than the concurrent writes it will see: FerretDB
   * v1 stalls when they outnumber its pool (measured: 32 concurrent updateOne on a pool of 4 never
   * finish). PostgreSQL allows 100 connections in all by default, for every run on the machine.
   */
  pgMaxConnections?: number;
}

/**
 * Starts a FerretDB on a free port. On PostgreSQL (much faster: its SQLite backend scans a whole
 * collection for any filter but `_id`) the run gets a PostgreSQL database of its own, dropped at
 * stop; on SQLite its data lives in a fresh temp folder, removed at stop.
 */
export async function startFerretDb(opts: FerretDbOptions = {}): Promise<RunningFerretDb> {
  const wanted = opts.backend ?? parseBackend(process.env.FERRETDB_BACKEND) ?? "auto";
  const pgUrl = opts.pgUrl ?? process.env.PG_URL ?? DEFAULT_PG_URL;
  if (wanted === "sqlite") return startOnSqlite();
  const problem = await postgresProblem(pgUrl);
  if (!problem) return startOnPostgres(pgUrl, opts.pgMaxConnections);
  if (wanted === "postgresql")
    throw new Error(`FerretDB on PostgreSQL: no PostgreSQL at ${redact(pgUrl)} (${problem})`);
  console.warn(
    `[ferretdb] no PostgreSQL answers at ${redact(pgUrl)} (${problem}): falling back to FerretDB on SQLite, ` +
      "which slows down as collections grow (set PG_URL, or start PostgreSQL, for the fast backend)",
  );
  return startOnSqlite();
}

function parseBackend(value: string | undefined): FerretDbBackend | "auto" | undefined {
  if (!value) return undefined;
  if (value === "postgresql" || value === "sqlite" || value === "auto") return value;
  throw new Error(`FERRETDB_BACKEND must be postgresql, sqlite or auto, not "${value}"`);
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable PG_URL)";
  }
}

/** Why PostgreSQL cannot be used at `url`, or null when it answers a query. */
async function postgresProblem(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("select 1");
    return null;
  } catch (err) {
    return (err as Error).message || String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

async function withPostgres<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  // Bounded: a CREATE or DROP DATABASE waiting on another session's lock fails instead of hanging the run.
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 5_000,
    statement_timeout: 30_000,
    lock_timeout: 20_000,
  });
  client.on("error", () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "localhost" || host.startsWith("127.") || host === "[::1]" || host === "::1";
}

/** Drops the databases of earlier runs on this machine whose process is gone (a killed test run never reaches stop()). */
async function dropOrphans(c: pg.Client, url: string): Promise<void> {
  if (!isLoopback(url)) return;
  const { rows } = await c.query<{ datname: string }>("select datname from pg_database where datname like $1", [
    `${DB_PREFIX}%`,
  ]);
  for (const { datname } of rows) {
    const pid = Number(datname.slice(DB_PREFIX.length).split("_")[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pidAlive(pid)) continue;
    await c.query(`drop database if exists "${datname}" with (force)`).catch(() => {});
  }
}

async function startOnPostgres(adminUrl: string, maxConnections: number | undefined): Promise<RunningFerretDb> {
  const dbName = `${DB_PREFIX}${process.pid}_${randomBytes(4).toString("hex")}`;
  await withPostgres(adminUrl, async (c) => {
    await dropOrphans(c, adminUrl);
    await c.query(`create database "${dbName}"`);
  });
  const runUrl = new URL(adminUrl);
  runUrl.pathname = `/${dbName}`;
  if (maxConnections && !runUrl.searchParams.has("pool_max_conns"))
    runUrl.searchParams.set("pool_max_conns", String(maxConnections));
  const dropDatabase = () =>
    withPostgres(adminUrl, (c) => c.query(`drop database if exists "${dbName}" with (force)`)).then(() => {});
  try {
    const started = await spawnFerretDb(["--handler=postgresql", `--postgresql-url=${runUrl.toString()}`]);
    return {
      ...started,
      backend: "postgresql",
      async stop() {
        await started.stop();
        await dropDatabase();
      },
    };
  } catch (err) {
    await dropDatabase().catch(() => {});
    throw err;
  }
}

async function startOnSqlite(): Promise<RunningFerretDb> {
  const dir = mkdtempSync(join(tmpdir(), "ferretdb-sqlite-"));
  try {
    const started = await spawnFerretDb(["--handler=sqlite", `--sqlite-url=file:${dir}/`]);
    return {
      ...started,
      backend: "sqlite",
      async stop() {
        await started.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Runs ferretdb with the backend's flags plus ours, and waits until it accepts connections. */
async function spawnFerretDb(backendArgs: string[]): Promise<Omit<RunningFerretDb, "backend">> {
  const bin = ensureFerretDbBinary();
  const port = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), "ferretdb-state-"));
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const halt = async (signal: NodeJS.Signals = "SIGTERM") => {
    const c = child;
    child = null;
    if (c && c.exitCode === null && c.signalCode === null) {
      c.kill(signal);
      await exited;
    }
  };
  const resume = async () => {
    if (child) return;
    const c: ChildProcess = spawn(
      bin,
      [
        ...backendArgs,
        `--state-dir=${stateDir}`,
        `--listen-addr=127.0.0.1:${port}`,
        // The metrics listener's fixed default port would clash between two instances.
        "--debug-addr=-",
        // By default FerretDB reports to an outside host; nothing here may reach the internet.
        "--telemetry=disable",
        "--log-level=error",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    child = c;
    forwardLogs(c);
    exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
    // A caller that crashes never calls stop(): a later run drops its PostgreSQL database.
    killOnExit(c);
    await Promise.race([
      waitForPort(port),
      exited.then(() => {
        throw new Error(`ferretdb exited (${c.exitCode ?? c.signalCode}) before listening`);
      }),
    ]);
  };
  const stop = async () => {
    await halt();
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await resume();
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `mongodb://127.0.0.1:${port}`, stop, halt, resume, pid: () => child?.pid };
}

/**
 * FerretDB's errors go to our stderr, except PostgreSQL's duplicate-key refusals (code 23505): every
 * redelivered webhook is one by design (the unique insert decides), and FerretDB logs each at ERROR.
 */
function forwardLogs(child: ChildProcess): void {
  if (!child.stderr) return;
  createInterface({ input: child.stderr }).on("line", (line) => {
    if (!line.includes('"Code":"23505"')) process.stderr.write(`${line}\n`);
  });
}
