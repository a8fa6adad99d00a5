import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { eventually, freePort, testServices } from "@linkojob/testing";
import { createRedis, type ConnectionLogger, type RedisClient } from "./redis.js";

/** A logger that keeps what it was told. */
function recordingLogger() {
  const lines: Array<{ level: "warn" | "info"; obj: object; msg: string }> = [];
  const logger: ConnectionLogger = {
    warn: (obj, msg) => lines.push({ level: "warn", obj, msg }),
    info: (obj, msg) => lines.push({ level: "info", obj, msg }),
  };
  return { logger, lines };
}

/** A TCP relay to the test Redis on `port`, to take the server away and bring it back. */
function relay(port: number, to: URL): Promise<{ server: Server; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(to.port), to.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve) =>
    server.listen(port, "127.0.0.1", () =>
      resolve({
        server,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      }),
    ),
  );
}

describe("createRedis with a logger (real Redis)", () => {
  const svc = testServices("redisconn");
  const clients: RedisClient[] = [];
  afterAll(() => {
    for (const c of clients) c.disconnect();
  });

  it("reports an outage once, however many retries fail, and its end once", async () => {
    const port = await freePort();
    const { logger, lines } = recordingLogger();
    // Nothing listens yet: every retry (100 ms apart, then up to 1 s) fails with ECONNREFUSED.
    const redis = createRedis(`redis://127.0.0.1:${port}`, { failFast: true, connectionName: "probe", logger });
    clients.push(redis);
    let errors = 0;
    redis.on("error", () => errors++);
    await eventually(() => errors >= 3, 10_000, 50);
    expect(lines).toEqual([
      {
        level: "warn",
        obj: { connection: "probe", err: expect.stringContaining("ECONNREFUSED") },
        msg: "redis connection failed; retrying",
      },
    ]);

    // Redis comes back (through a relay on that port): one line, and commands work.
    const up = await relay(port, new URL(svc.redisUrl));
    try {
      await eventually(() => redis.status === "ready", 10_000, 50);
      expect(await redis.ping()).toBe("PONG");
      expect(lines.slice(1)).toEqual([
        { level: "info", obj: { connection: "probe" }, msg: "redis connection ready again" },
      ]);

      // A second outage is reported again.
      await up.close();
      await eventually(() => lines.length === 3, 10_000, 50);
      expect(lines[2]).toMatchObject({ level: "warn", msg: "redis connection failed; retrying" });
    } finally {
      await up.close().catch(() => undefined);
    }
  });
});
