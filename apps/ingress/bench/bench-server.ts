import Fastify, { type FastifyInstance } from "fastify";
import pino from "pino";
import { Queue } from "bullmq";
import { randomUUID } from "node:crypto";
import { Database } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import {
  WEBHOOK_JOB,
  WEBHOOK_QUEUE,
  createRedis,
  ingressStreamKey,
  redisReady,
  webhookJobOptions,
} from "@linkojob/queues";
import { verifyWebhookSignature } from "@linkojob/whatsapp";
import { buildApp } from "../src/app.js";

/**
 * One server variant of the ingress benchmark, run in a child process of ingress.bench.ts so that
 * the load generator never shares its event loop. Prints nothing; tells the parent its port over IPC
 * and exits (closing everything it opened) when the parent says "close" or goes away.
 *
 *   ceiling      bare Fastify: reads the body as a Buffer and answers 200 (nothing else)
 *   verify-only  + the ingress's checks: HMAC of the raw bytes, JSON.parse, shape check; no Redis
 *   ingress      the real thing: buildApp() from src/app.ts (signature, JSON check, XADD, 200 after Redis)
 *   naive-bullmq the same checks, then one BullMQ queue.add per request, 200 after it resolves
 *
 * Experiments (not in the default run), to size changes to the ingress before making them:
 *   verify-xadd  bare Fastify + exactly the ingress's webhook work (checks, XADD t+b, auto-pipelined):
 *                the difference to `ingress` is the app's own per-request overhead (plugins, hooks, logger)
 *   lean         bare Fastify + HMAC, a one-byte shape check instead of JSON.parse, XADD of the body
 *                alone (the stream id already carries the time). (Turning auto-pipelining off as
 *                well was tried: −3 µs in the server, +6 µs in Redis per request.)
 */
export type Variant = "ceiling" | "verify-only" | "ingress" | "naive-bullmq" | "verify-xadd" | "lean";

const variant = process.argv[2] as Variant;
const appSecret = process.env.BENCH_APP_SECRET!;
const redisUrl = process.env.BENCH_REDIS_URL!;
const mongoUrl = process.env.BENCH_MONGODB_URI!;
const prefix = process.env.BENCH_PREFIX!;

const closers: Array<() => Promise<unknown>> = [];

/** The same raw-bytes handling and checks as src/webhook/webhook.routes.ts. */
function rawBodyApp(): FastifyInstance {
  const app = Fastify({ logger: false, disableRequestLogging: true, bodyLimit: 3 * 1024 * 1024 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  return app;
}
function checkDelivery(raw: Buffer, signature: string | string[] | undefined): number {
  if (!verifyWebhookSignature(raw, signature, appSecret)) return 401;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString("utf8"));
  } catch {
    return 400;
  }
  return typeof parsed === "object" && parsed !== null && Array.isArray((parsed as { entry?: unknown }).entry)
    ? 200
    : 400;
}

async function build(): Promise<FastifyInstance> {
  switch (variant) {
    case "ceiling": {
      const app = rawBodyApp();
      app.post("/webhook", async (_request, reply) => reply.code(200).type("text/plain").send("EVENT_RECEIVED"));
      return app;
    }
    case "verify-only": {
      const app = rawBodyApp();
      app.post("/webhook", async (request, reply) => {
        const status = checkDelivery(request.body as Buffer, request.headers["x-hub-signature-256"]);
        return reply
          .code(status)
          .type("text/plain")
          .send(status === 200 ? "EVENT_RECEIVED" : "rejected");
      });
      return app;
    }
    case "naive-bullmq": {
      const connection = createRedis(redisUrl, { connectionName: "bench-naive" });
      const queue = new Queue(WEBHOOK_QUEUE, { connection, prefix });
      closers.push(
        () => queue.close(),
        () => connection.quit(),
      );
      const app = rawBodyApp();
      app.post("/webhook", async (request, reply) => {
        const raw = request.body as Buffer;
        const status = checkDelivery(raw, request.headers["x-hub-signature-256"]);
        if (status !== 200) return reply.code(status).send("rejected");
        await queue.add(
          WEBHOOK_JOB,
          { deliveryId: randomUUID(), receivedAt: Date.now(), body: raw.toString("utf8") },
          webhookJobOptions,
        );
        return reply.code(200).type("text/plain").send("EVENT_RECEIVED");
      });
      return app;
    }
    case "verify-xadd":
    case "lean": {
      const lean = variant === "lean";
      const redis = createRedis(redisUrl, { failFast: true, connectionName: `bench-${variant}` });
      closers.push(() => redis.quit());
      await redisReady(redis, 30_000);
      const key = ingressStreamKey(prefix);
      const app = rawBodyApp();
      app.post("/webhook", async (request, reply) => {
        const raw = request.body as Buffer;
        let status: number;
        if (lean) {
          // Authenticity is the HMAC; the shape check is the first non-blank byte (full parse in the worker).
          const ok = verifyWebhookSignature(raw, request.headers["x-hub-signature-256"], appSecret);
          let i = 0;
          while (i < raw.length && (raw[i] === 0x20 || raw[i] === 0x0a || raw[i] === 0x0d || raw[i] === 0x09)) i++;
          status = !ok ? 401 : raw[i] === 0x7b ? 200 : 400;
        } else status = checkDelivery(raw, request.headers["x-hub-signature-256"]);
        if (status !== 200) return reply.code(status).send("rejected");
        try {
          if (lean) await redis.xadd(key, "*", "b", raw);
          else await redis.xadd(key, "*", "t", String(Date.now()), "b", raw);
        } catch {
          return reply.code(503).send("not stored");
        }
        return reply.code(200).type("text/plain").send("EVENT_RECEIVED");
      });
      return app;
    }
    case "ingress": {
      // What main.ts wires for the webhook path.
      const redis = createRedis(redisUrl, { failFast: true, connectionName: "bench-ingress" });
      const eventsRedis = createRedis(redisUrl, { connectionName: "bench-ingress-events" });
      closers.push(
        () => redis.quit(),
        () => eventsRedis.quit(),
      );
      await redisReady(redis, 30_000); // the fail-fast connection refuses commands until ready
      const db = await Database.connect(mongoUrl);
      closers.push(() => db.close());
      return buildApp({
        config: {
          appSecret,
          verifyToken: "bench-verify-token",
          jwtSecret: "bench-jwt-secret-that-is-at-least-32-chars",
          queuePrefix: prefix,
        },
        redis,
        db,
        events: new DashboardEvents(eventsRedis),
        // A pino logger as in production (Fastify gives each request a child logger), writing nowhere.
        logger: pino({ level: "info" }, pino.destination("/dev/null")),
        // Default ops (metrics hook on; the webhook is exempt from rate limits), no onboarding: the
        // webhook path does not use them.
      });
    }
    default:
      throw new Error(`unknown variant ${String(variant)}`);
  }
}

const app = await build();
await app.listen({ port: 0, host: "127.0.0.1" });
const address = app.server.address();
process.send!({ ready: true, port: typeof address === "object" && address ? address.port : 0 });

let closing = false;
async function close() {
  if (closing) return;
  closing = true;
  await app.close();
  for (const c of closers) await c().catch(() => undefined);
  process.exit(0); // also writes the --cpu-prof profile, when asked for
}
process.on("message", (m) => m === "close" && void close());
process.on("disconnect", () => void close());
process.on("SIGTERM", () => void close());
