import type { FastifyInstance } from "fastify";
import type { Redis } from "ioredis";
import pino from "pino";
import { Database, type ClientDoc } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { createRedis, redisReady } from "@linkojob/queues";
import { MetaSimulator } from "@linkojob/meta-simulator";
import { TEST_SECRETS, testServices, type TestServices, testIngressConfig } from "@linkojob/testing";
import { buildApp, type IngressDeps } from "@linkojob/ingress";
import { InboundWorker, type InboundWorkerDeps } from "@linkojob/inbound-worker";
import type { MediaWorkerOptions } from "@linkojob/inbound-worker";

export interface Trunk {
  services: TestServices;
  db: Database;
  app: FastifyInstance;
  ingressUrl: string;
  sim: MetaSimulator;
  worker: InboundWorker;
  /** Creates a client (tenant) directly in the database. */
  createClient(over?: Partial<ClientDoc>): Promise<ClientDoc>;
  /** Waits until the pump and the worker have processed everything accepted so far. */
  drain(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

let seq = 0;

/**
 * The whole inbound path on real parts: the simulator delivers signed webhooks over HTTP to a
 * listening ingress, the ingress appends to Redis, the worker's pump and BullMQ worker store into
 * the MongoDB-protocol server. Only Meta is simulated.
 */
export async function startTrunk(opts: {
  label: string;
  redisUrl?: string;
  startWorker?: boolean;
  /** Inbound media fetching, given the simulator (its URL is the Graph base URL). */
  media?: (sim: MetaSimulator) => MediaWorkerOptions;
  /** Worker options over the harness's (account handlers, status hook, metrics, concurrency). */
  worker?: Pick<Partial<InboundWorkerDeps>, "accountHandlers" | "onStatus" | "metrics" | "concurrency">;
  /** Ingress configuration over the test one (e.g. the messaging budget's window). */
  ingress?: Partial<Parameters<typeof buildApp>[0]["config"]>;
  /** The ingress's Graph-facing routes (onboarding, template sync, flows), given the simulator. */
  onboarding?: (sim: MetaSimulator) => NonNullable<IngressDeps["onboarding"]>;
}): Promise<Trunk> {
  const services = testServices(opts.label);
  const redisUrl = opts.redisUrl ?? services.redisUrl;
  const logger = pino({ level: process.env.TRUNK_LOG_LEVEL ?? "silent" });
  const db = await Database.connect(services.mongoUrl);
  const ingressRedis: Redis = createRedis(redisUrl, { failFast: true });
  const queueRedis = createRedis(redisUrl);
  const pumpRedis = createRedis(redisUrl, { autoPipelining: false });
  const subscriberRedis = createRedis(redisUrl, { autoPipelining: false });
  const eventsRedis = createRedis(redisUrl);
  const events = new DashboardEvents(eventsRedis);
  await redisReady(ingressRedis);
  // The simulator first: the ingress's Graph client (opts.onboarding) needs its URL.
  const sim = await MetaSimulator.create({ appSecret: TEST_SECRETS.appSecret });
  await sim.listen();
  const app = await buildApp({
    config: { ...testIngressConfig(services.prefix), ...(opts.ingress ?? {}) },
    redis: ingressRedis,
    db,
    events,
    ...(opts.onboarding ? { onboarding: opts.onboarding(sim) } : {}),
  });
  const ingressUrl = await app.listen({ port: 0, host: "127.0.0.1" });
  sim.webhooks.targetUrl = `${ingressUrl}/webhook`;
  const worker = new InboundWorker({
    db,
    queueRedis,
    pumpRedis,
    subscriberRedis,
    events,
    logger,
    prefix: services.prefix,
    concurrency: 8,
    ...(opts.media ? { media: opts.media(sim) } : {}),
    ...opts.worker,
  });
  if (opts.startWorker !== false) await worker.start();

  return {
    services,
    db,
    app,
    ingressUrl,
    sim,
    worker,
    async createClient(over = {}) {
      seq++;
      const doc = await db.clients.create({
        userId: `user-${services.id}-${seq}`,
        companyName: `Company ${seq}`,
        phoneNumberId: `10${services.id.replace(/\D/g, "").slice(0, 4)}${Date.now() % 100000}${seq}`,
        wabaId: `20${seq}${Date.now() % 100000}`,
        whatsappNumber: `2125220000${String(seq).padStart(2, "0")}`,
        status: "active",
        ...over,
      });
      return doc.toObject();
    },
    async drain(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      const streamKey = `${services.prefix}:ingress:webhooks`;
      for (;;) {
        const [streamLen, counts] = await Promise.all([
          queueRedis.xlen(streamKey),
          worker.queue.getJobCounts("waiting", "active", "delayed", "prioritized", "waiting-children"),
        ]);
        const busy = streamLen + Object.values(counts).reduce((a, b) => a + b, 0);
        if (busy === 0) {
          // The pump may hold a batch between XREADGROUP and addBulk: confirm once more.
          await new Promise((r) => setTimeout(r, 150));
          const again = await queueRedis.xlen(streamKey);
          const c2 = await worker.queue.getJobCounts("waiting", "active", "delayed", "prioritized");
          if (again + Object.values(c2).reduce((a, b) => a + b, 0) === 0) return;
        }
        if (Date.now() > deadline) {
          const delayed = await worker.queue.getDelayed(0, 4);
          const why = delayed.map((j) => `${j.id}: ${j.failedReason}`).join("; ");
          throw new Error(
            `not drained: stream ${streamLen}, jobs ${JSON.stringify(counts)}${why ? ` (delayed: ${why})` : ""}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await worker.close();
      await sim.close();
      await app.close();
      await Promise.allSettled([
        ingressRedis.quit(),
        queueRedis.quit(),
        pumpRedis.quit(),
        subscriberRedis.quit(),
        eventsRedis.quit(),
      ]);
      await db.connection.dropDatabase().catch(() => undefined);
      await db.close();
    },
  };
}
