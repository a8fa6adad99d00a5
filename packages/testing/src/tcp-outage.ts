import { createConnection, createServer, type Server, type Socket } from "node:net";
import { freePort } from "./ports.js";

export interface TcpOutage {
  /** host:port to connect to instead of the service's. */
  host: string;
  port: number;
  /** The service is down: open connections are cut and new ones refused. */
  stop(): Promise<void>;
  /** The service is back on the same port. */
  start(): Promise<void>;
  /** Stops for good. */
  close(): Promise<void>;
}

/**
 * A TCP relay in front of a running service (the run's MongoDB-protocol server, say), which a test
 * stops and starts to take the service away from the processes under test and give it back,
 * without stopping the service other test files share. Stopped, it refuses connections as a
 * stopped server does.
 */
export async function startTcpOutage(target: { host: string; port: number }): Promise<TcpOutage> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = createConnection(target.port, target.host);
        sockets.add(client);
        sockets.add(upstream);
        const end = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on("error", end).on("close", end);
        upstream.on("error", end).on("close", end);
        client.pipe(upstream).pipe(client);
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        server = s;
        resolve();
      });
    });
  const stop = async () => {
    const s = server;
    server = null;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await start();
  return { host: "127.0.0.1", port, stop, start, close: stop };
}
