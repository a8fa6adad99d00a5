import { describe, expect, it } from "vitest";
import Fastify from "fastify";
import pino from "pino";
import { lazyChildLoggerFactory } from "./lazy-child-logger.js";

describe("lazy child logger", () => {
  it("logs with the request id and the parent's settings, exactly as Fastify's own child", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "info", redact: ["secret"] }, { write: (l: string) => void lines.push(l) });
    let n = 0;
    const app = Fastify({
      loggerInstance: logger,
      disableRequestLogging: true,
      childLoggerFactory: lazyChildLoggerFactory,
      genReqId: () => `req-${++n}`,
    });
    app.get("/quiet", () => "ok");
    app.get("/loud", (request) => {
      request.log.warn({ secret: "token", a: 1 }, "hello");
      request.log.debug("below the level");
      request.log.child({ step: "inner" }).error("inner failure");
      return "ok";
    });
    expect((await app.inject("/quiet")).statusCode).toBe(200);
    expect(lines).toHaveLength(0);
    expect((await app.inject("/loud")).statusCode).toBe(200);
    const logged = lines.map((l) => JSON.parse(l));
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ level: 40, reqId: "req-2", a: 1, secret: "[Redacted]", msg: "hello" });
    expect(logged[1]).toMatchObject({ level: 50, reqId: "req-2", step: "inner", msg: "inner failure" });
    await app.close();
  });
});
