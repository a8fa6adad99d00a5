import { createServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdapter } from "@socket.io/redis-adapter";
import { subscriptionsSettled, type RedisClient } from "@linkojob/queues";
import pino, { type Logger } from "pino";
import { Server } from "socket.io";
import { JwtVerifier, type JwtVerifierOptions } from "@linkojob/auth";
import type { Database } from "@linkojob/db";
import { SOCKET_IO_KEY } from "@linkojob/events";
import { healthHandler, withinTimeout } from "@linkojob/metrics";
import { socketAuthMiddleware } from "./socket-auth.js";
import { SocketEventBudget, type SocketEventBudgetOptions } from "./socket-budget.js";
import { ConnectionGuard, type ConnectionGuardOptions } from "./connection-guard.js";
import type { RealtimeIo } from "./socket-data.js";
import { startSocketSession } from "./socket-session.js";
import { TenantRooms } from "./tenant-rooms.js";

export interface RealtimeServerDeps {
  /** Publishes the adapter's messages. The caller opens and closes it. */
  pub: RedisClient;
  /**
   * Receives broadcasts: the adapter puts it in subscriber mode, so it must be a connection of this
   * server's own (two servers sharing one would each deliver the other's messages twice).
   */
  sub: RedisClient;
  db: Database;
  /** HS256 secret of the platform's JWTs. */
  jwtSecret: string;
  /** aud / iss checks and the admin token age cap. */
  jwt?: JwtVerifierOptions;
  /** Events per socket and window; a socket over it is disconnected. Default 30 per 60 s. */
  socketEventBudget?: SocketEventBudgetOptions;
  /** Handshake and event budgets per subject and address (Redis), and sockets per subject. Defaults: ConnectionGuard's. */
  connectionGuard?: Omit<ConnectionGuardOptions, "keyPrefix">;
  /**
   * Origins allowed to open sockets: `true` (the default) for any, or a list. A request without an
   * Origin header is not from a browser and is allowed; the JWT is what protects the data.
   */
  corsOrigin?: true | string[];
  /** Default: silent. */
  logger?: Logger;
  /**
   * Prefix of the adapter's Redis channels; every DashboardEvents emitter must use the same.
   * Default SOCKET_IO_KEY; tests pass their own so that test files sharing a Redis stay apart.
   */
  adapterKey?: string;
  /**
   * The deployment's Redis key prefix (QUEUE_PREFIX, hash-tagged on a Redis Cluster) under which the
   * connection guard keeps its counters, so that they live in the deployment's slot. Default: the
   * adapter key (tests give each file its own).
   */
  keyPrefix?: string;
  /** Bound on each /ready check, in ms. Default READINESS_TIMEOUT_MS of @linkojob/metrics (2 s, every process's policy). */
  readinessTimeoutMs?: number;
}

export interface RealtimeServer {
  readonly io: RealtimeIo;
  readonly httpServer: HttpServer;
  /**
   * Starts accepting sockets once this node's adapter subscriptions are in place (so that an event
   * published after listen() resolves reaches its sockets). Resolves with the port (useful with 0).
   */
  listen(port: number, host?: string): Promise<number>;
  /**
   * Closes every socket (clients reconnect, to another node when there is one), then the HTTP
   * server. Idempotent. The Redis connections and the Database stay open: their creator closes them.
   */
  close(): Promise<void>;
  /**
   * Sockets of this node with an `auth:refresh` running or waiting (each does at most one JWT check
   * and one database read at a time). Zero means no refresh work is left, e.g. after a flood ended.
   */
  readonly refreshesInFlight: number;
}

function originPolicy(allowed: true | string[]) {
  return (req: IncomingMessage, callback: (err: string | null | undefined, success: boolean) => void) => {
    const origin = req.headers.origin;
    callback(null, allowed === true || origin === undefined || allowed.includes(origin));
  };
}

/**
 * The realtime process without listening: socket.io over websocket only (a websocket stays on the
 * node that accepted it, so N nodes need no sticky sessions; long-polling would), with the Redis
 * adapter so that a broadcast from any node or emitter reaches sockets on every node, and /health
 * and /ready on the same HTTP server.
 */
export function createRealtimeServer(deps: RealtimeServerDeps): RealtimeServer {
  const logger = deps.logger ?? pino({ level: "silent" });
  const verifier = new JwtVerifier(deps.jwtSecret, deps.jwt);
  const budget = new SocketEventBudget(deps.socketEventBudget);
  // A reconnect must not reset what a client may do: budgets per subject and address, in Redis.
  const guard = new ConnectionGuard(deps.pub, {
    keyPrefix: deps.keyPrefix ? `${deps.keyPrefix}:realtime` : (deps.adapterKey ?? SOCKET_IO_KEY),
    events: budget.events,
    windowSeconds: budget.windowSeconds,
    ...deps.connectionGuard,
  });
  const rooms = new TenantRooms(deps.db);
  const answers = async (redis: RedisClient) => redis.status === "ready" && Boolean(await redis.ping());
  const readiness = {
    // Both adapter connections: a node whose subscriber is down silently misses every broadcast.
    redis: async () => (await answers(deps.pub)) && (await answers(deps.sub)),
    mongo: () => deps.db.ping(),
  };

  const httpServer = createServer(
    healthHandler(readiness, deps.readinessTimeoutMs ? { timeoutMs: deps.readinessTimeoutMs } : {}),
  );
  const io: RealtimeIo = new Server(httpServer, {
    transports: ["websocket"],
    adapter: createAdapter(deps.pub, deps.sub, { key: deps.adapterKey ?? SOCKET_IO_KEY }),
    allowRequest: originPolicy(deps.corsOrigin ?? true),
    // Serves the browser client at /socket.io/socket.io.min.js, for a dashboard page without a bundler.
    serveClient: true,
    // Dashboards send only auth:refresh; nothing they send needs the default 1 MB.
    maxHttpBufferSize: 64 * 1024,
  });
  const authenticate = socketAuthMiddleware({ verifier, rooms, logger, guard });
  // The middleware answers every handshake through `next` and never rejects: nothing to await.
  io.use((socket, next) => void authenticate(socket, next));
  let refreshesInFlight = 0;
  const refreshActivity = { busy: () => void refreshesInFlight++, idle: () => void refreshesInFlight-- };
  io.on("connection", (socket) =>
    startSocketSession(socket, { verifier, rooms, logger, budget, guard, refreshActivity }),
  );

  let closing: Promise<void> | undefined;
  return {
    io,
    httpServer,
    get refreshesInFlight() {
      return refreshesInFlight;
    },
    async listen(port, host = "0.0.0.0") {
      if (closing) throw new Error("the realtime server is closed");
      // Once settled, the adapter's (P)SUBSCRIBE sent at construction have taken effect.
      await subscriptionsSettled(deps.sub);
      if (closing) throw new Error("the realtime server is closed");
      await new Promise<void>((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(port, host, () => {
          httpServer.off("error", reject);
          resolve();
        });
      });
      const bound = (httpServer.address() as AddressInfo).port;
      logger.info({ port: bound }, "realtime server listening");
      return bound;
    },
    close() {
      closing ??= (async () => {
        // io.close disconnects the sockets, closes the adapters, then the HTTP server (the callback
        // also runs, with an error we ignore, when it never listened).
        await new Promise<void>((resolve) => void io.close(() => resolve()));
        // The adapter's (P)UNSUBSCRIBE are sent without waiting for the answer; a creator that then
        // drops the connection would make them unhandled rejections. Once settled they were answered
        // (bounded, for when Redis is down).
        await withinTimeout(() => subscriptionsSettled(deps.sub).then(() => true), 1_000);
        logger.info("realtime server closed");
      })();
      return closing;
    },
  };
}
