/**
 * Helpers for this app's tests (and the demo): real realtime nodes on real ports with their own
 * Redis connections, real socket.io clients over websocket, tenants created in the real database.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { io as connectSocket, type Socket } from "socket.io-client";
import { afterAll, afterEach, beforeAll } from "vitest";
import { Database } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { TEST_SECRETS, testServices, type TestServices } from "@linkojob/testing";
import { createRealtimeServer, type RealtimeServer, type RealtimeServerDeps } from "./realtime-server.js";

export interface RunningNode {
  server: RealtimeServer;
  url: string;
  pub: Redis;
  sub: Redis;
  /** Closes the server, then its Redis connections (this helper opened them). */
  stop(): Promise<void>;
}

/** Starts one realtime node on a free port of 127.0.0.1, with Redis connections of its own. */
export async function startNode(
  opts: { redisUrl: string; db: Database; jwtSecret: string; adapterKey: string } & Partial<
    Omit<RealtimeServerDeps, "pub" | "sub">
  >,
): Promise<RunningNode> {
  const pub = createRedis(opts.redisUrl, { connectionName: "realtime-test-pub" });
  const sub = createRedis(opts.redisUrl, { connectionName: "realtime-test-sub", autoPipelining: false });
  // The tests that stop Redis expect connection errors; they must not crash the process.
  pub.on("error", () => undefined);
  sub.on("error", () => undefined);
  const server = createRealtimeServer({ ...opts, pub, sub });
  const port = await server.listen(0, "127.0.0.1");
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    pub,
    sub,
    async stop() {
      await server.close();
      await Promise.all([pub.quit().catch(() => pub.disconnect()), sub.quit().catch(() => sub.disconnect())]);
    },
  };
}

/** What every realtime test file needs: its services, a database, nodes, and the workers' event emitter. */
export interface RealtimeRig {
  readonly services: TestServices;
  /** The Socket.io adapter's channel prefix of this file (other files publishing on the shared Redis never reach its nodes). */
  readonly adapterKey: string;
  /** Connected in the file's first beforeAll (the rig's). */
  readonly db: Database;
  /** Emits dashboard events as the workers do (Redis emitter on this file's adapter key). */
  readonly events: DashboardEvents;
  /** Starts a node on this file's services (overrides as given); stopped with the file. */
  startNode(over?: Partial<Parameters<typeof startNode>[0]>): Promise<RunningNode>;
}

/**
 * Registers the file's setup and teardown (database, emitter, nodes, sockets closed after each
 * test) and returns the rig whose fields are set once its beforeAll has run. `monitorCommands`
 * connects the database with the driver's command monitoring (for a CommandCounter).
 */
export function realtimeRig(label: string, options: { monitorCommands?: boolean } = {}): RealtimeRig {
  const services = testServices(label);
  const adapterKey = `${services.prefix}:socket.io`;
  const nodes: RunningNode[] = [];
  let db: Database | undefined;
  let emitterRedis: Redis | undefined;
  let events: DashboardEvents | undefined;
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the realtime rig's ${what} is set in its beforeAll`);
    return value;
  };

  beforeAll(async () => {
    db = await Database.connect(services.mongoUrl, options.monitorCommands ? { monitorCommands: true } : {});
    emitterRedis = createRedis(services.redisUrl, { connectionName: "realtime-test-emitter" });
    events = new DashboardEvents(emitterRedis, adapterKey);
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => {
    closeAllSockets();
    await Promise.all(nodes.map((n) => n.stop()));
    await emitterRedis?.quit();
    await db?.connection.dropDatabase().catch(() => undefined);
    await db?.close();
  });

  return {
    services,
    adapterKey,
    get db() {
      return ready(db, "database");
    },
    get events() {
      return ready(events, "event emitter");
    },
    async startNode(over = {}) {
      const node = await startNode({
        redisUrl: services.redisUrl,
        db: ready(db, "database"),
        jwtSecret: TEST_SECRETS.jwtSecret,
        adapterKey,
        ...over,
      });
      nodes.push(node);
      return node;
    },
  };
}

/** A client socket plus every event it received (onAny is attached before connecting). */
export interface TestSocket {
  socket: Socket;
  received: Array<{ event: string; payload: unknown }>;
  /** Payloads of one event, in arrival order. */
  payloads(event: string): unknown[];
}

const openSockets = new Set<Socket>();

function makeSocket(
  url: string,
  auth: Record<string, unknown>,
  extra: Partial<Parameters<typeof connectSocket>[1]> = {},
): TestSocket {
  const socket = connectSocket(url, {
    transports: ["websocket"],
    auth,
    reconnection: false,
    forceNew: true,
    autoConnect: false,
    ...extra,
  });
  const received: TestSocket["received"] = [];
  socket.onAny((event: string, payload: unknown) => received.push({ event, payload }));
  openSockets.add(socket);
  return { socket, received, payloads: (event) => received.filter((r) => r.event === event).map((r) => r.payload) };
}

/** Connects and resolves once connected; rejects with the connect_error. */
export function connect(
  url: string,
  auth: Record<string, unknown>,
  extra?: Partial<Parameters<typeof connectSocket>[1]>,
): Promise<TestSocket> {
  const s = makeSocket(url, auth, extra);
  return new Promise((resolve, reject) => {
    s.socket.once("connect", () => resolve(s));
    s.socket.once("connect_error", reject);
    s.socket.connect();
  });
}

/** Connects expecting a refusal; resolves with the connect_error (its `data.code` for ours). */
export function refusal(
  url: string,
  auth: Record<string, unknown>,
  extra?: Partial<Parameters<typeof connectSocket>[1]>,
): Promise<Error & { data?: { code?: string } }> {
  const s = makeSocket(url, auth, extra);
  return new Promise((resolve, reject) => {
    s.socket.once("connect", () => reject(new Error("the connection was accepted")));
    s.socket.once("connect_error", (err) => {
      s.socket.close();
      resolve(err);
    });
    s.socket.connect();
  });
}

/** Closes every socket the helpers opened. */
export function closeAllSockets(): void {
  for (const s of openSockets) s.close();
  openSockets.clear();
}

/** Creates a client (tenant) owned by `userId`, with unique Meta ids. */
export async function createTenant(db: Database, userId: string): Promise<string> {
  const n = BigInt(`0x${randomBytes(6).toString("hex")}`).toString();
  const doc = await db.clients.create({
    userId,
    companyName: `Company of ${userId}`,
    phoneNumberId: `pn${n}`,
    wabaId: `waba${n}`,
    whatsappNumber: `33${n.slice(0, 9).padStart(9, "0")}`,
    status: "active",
  });
  return doc._id.toHexString();
}

export const randomUserId = (label = "user") => `${label}-${randomBytes(4).toString("hex")}`;
