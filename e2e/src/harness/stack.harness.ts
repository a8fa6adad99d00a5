/**
 * The whole gateway in one process, as the system tests run it: the Meta simulator, the listening
 * ingress (buildApp), the inbound and outbound workers on BullMQ/Redis, a realtime server, the
 * MongoDB-protocol database and one connected client (its token in the vault, its number and its
 * approved first-contact template known to "Meta", templates synced). Only Meta is simulated.
 */
import pino, { type Logger } from "pino";
import { Database, type ClientDoc } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { InboundWorker, type StatusHook } from "@linkojob/inbound-worker";
import { logOptions } from "@linkojob/config";
import {
  MetaSimulator,
  messagingState,
  simTemplate,
  type MessagingState,
  type SimulatorOptions,
} from "@linkojob/meta-simulator";
import { OutboundWorker, createTemplateStatusHandler } from "@linkojob/outbound-worker";
import type { MediaFetchOptions } from "@linkojob/outbound";
import {
  createRedis,
  redisReady,
  type RedisClient,
  type RedisConnectionOptions,
  type RedisTarget,
} from "@linkojob/queues";
import { createRealtimeServer, type RealtimeServer } from "@linkojob/realtime";
// Subpaths without Vitest, so that benchmarks (scripts) start the stack too.
import type { TestServices } from "@linkojob/testing";
import { TEST_SECRETS, tokenFor, testIngressConfig } from "@linkojob/testing/services";
import { FIRST_CONTACT_TEMPLATE } from "@linkojob/testing/fixtures";
import { TokenVault } from "@linkojob/vault";
import { IdentifierHasher } from "@linkojob/privacy";
import { GraphClient } from "@linkojob/whatsapp";
import { buildApp } from "@linkojob/ingress";

export interface StackOptions {
  /** The test's database, Redis and queue prefix (testServices). */
  services: TestServices;
  /** Redis for every connection: the test services' server by default, or a cluster's nodes. */
  redisTarget?: RedisTarget;
  /** Called on each Redis connection the stack opens (a cluster's test swallows its reconnect errors). */
  onRedisConnection?: (connection: RedisClient) => void;
  /** BullMQ and stream prefix: the test services' prefix by default (a cluster needs a hash tag). */
  prefix?: string;
  /** How long the ingress waits for its Redis connection (redisReady's default, 10 s, when unset). */
  redisReadyTimeoutMs?: number;
  /** The simulator's options beyond its app secret (e.g. the enforcement flags). */
  simulator?: Omit<SimulatorOptions, "appSecret">;
  /** Delay between the simulator's sent → delivered → read statuses; its default when unset. */
  statusStepDelayMs?: number;
  /** The ingress serves /inbox, live from the realtime server, with the simulator as its demo candidate. */
  inbox?: boolean;
  /** The ingress logs with the stack's logger (default), or with its own default logger. */
  ingressLogger?: boolean;
  /** The inbound worker fetches media into GridFS (message:media). */
  inboundMedia?: boolean;
  /** Workers' concurrency. */
  concurrency: number;
  /** The outbound worker's media fetches (a test CDN on localhost: allowPrivateHosts and its ca). */
  outboundMediaFetch?: MediaFetchOptions;
  /**
   * Where every process's log lines go, through the production redaction (logOptions) at debug
   * level: a test reads what the processes wrote. Default: silent (TEST_LOG_LEVEL to see them).
   */
  logSink?: { write(line: string): void };
  /** Wraps the inbound worker's status hook (a test makes one status fail for good: a dead letter). */
  wrapStatusHook?: (hook: StatusHook) => StatusHook;
  /** The connected client: its company and numbers. */
  client: { companyName: string; phoneNumberId: string; wabaId: string; whatsappNumber: string };
}

export interface Stack {
  services: TestServices;
  logger: Logger;
  prefix: string;
  adapterKey: string;
  /** Opens one more Redis connection on the stack's target, closed by close(). */
  redis(options?: RedisConnectionOptions): RedisClient;
  db: Database;
  events: DashboardEvents;
  sim: MetaSimulator;
  simState: MessagingState;
  realtime: RealtimeServer;
  realtimeUrl: string;
  app: Awaited<ReturnType<typeof buildApp>>;
  ingressUrl: string;
  inbound: InboundWorker;
  outbound: OutboundWorker;
  graph: GraphClient;
  vault: TokenVault;
  client: ClientDoc;
  clientId: string;
  /** The client's recruiter. */
  jwt: string;
  /** Stops everything started, in reverse order; safe to call more than once. */
  close(): Promise<void>;
}

/** Starts the stack; if a step fails, what was started is closed before the error is rethrown. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const { services } = options;
  const logger = options.logSink
    ? pino({ level: "debug", ...logOptions }, options.logSink)
    : pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const prefix = options.prefix ?? services.prefix;
  const adapterKey = `${services.prefix}-io`;
  const target: RedisTarget = options.redisTarget ?? { url: services.redisUrl };
  const conns: RedisClient[] = [];
  const redis = (o: RedisConnectionOptions = {}) => {
    const c = createRedis(target, o);
    options.onRedisConnection?.(c);
    conns.push(c);
    return c;
  };

  // What has been started so far, for close().
  const started: {
    db?: Database;
    sim?: MetaSimulator;
    realtime?: RealtimeServer;
    app?: Awaited<ReturnType<typeof buildApp>>;
    inbound?: InboundWorker;
    outbound?: OutboundWorker;
    graph?: GraphClient;
  } = {};
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const { db, sim, realtime, app, inbound, outbound, graph } = started;
      await outbound?.close();
      await inbound?.close();
      await app?.close();
      await realtime?.close();
      await sim?.close();
      await graph?.close();
      await Promise.allSettled(conns.map((c) => c.quit()));
      await db?.connection.dropDatabase().catch(() => undefined);
      await db?.close();
    })());

  try {
    const db = (started.db = await Database.connect(services.mongoUrl));
    const events = new DashboardEvents(redis(), adapterKey);

    const sim = (started.sim = await MetaSimulator.create({ ...options.simulator, appSecret: TEST_SECRETS.appSecret }));
    await sim.listen();
    const simState = messagingState(sim.state);
    if (options.statusStepDelayMs !== undefined) simState.statusFlow.stepDelayMs = options.statusStepDelayMs;

    const realtime = (started.realtime = createRealtimeServer({
      pub: redis(),
      sub: redis({ autoPipelining: false }),
      db,
      jwtSecret: TEST_SECRETS.jwtSecret,
      adapterKey,
      keyPrefix: prefix,
      logger,
    }));
    const realtimeUrl = `http://127.0.0.1:${await realtime.listen(0, "127.0.0.1")}`;

    const vault = new TokenVault([TEST_SECRETS.tokenKey]);
    const graph = (started.graph = new GraphClient({ baseUrl: sim.url, version: "v26.0" }));
    // One key for the three processes, as PERSONAL_DATA_HASH_KEY gives them: an opt-out an erasure
    // (inbound worker) kept as a hash is refused by the send API and the outbound worker.
    const personalDataHasher = IdentifierHasher.fromHex(TEST_SECRETS.personalDataHashKey);
    const ingressRedis = redis({ failFast: true });
    await redisReady(ingressRedis, options.redisReadyTimeoutMs);
    const app = (started.app = await buildApp({
      config: { ...testIngressConfig(prefix), personalDataHasher },
      redis: ingressRedis,
      db,
      events,
      meta: { graph, vault },
      ...(options.ingressLogger === false ? {} : { logger }),
      ...(options.inbox ? { inbox: { realtimeUrl, demoSimUrl: sim.url } } : {}),
    }));
    const ingressUrl = await app.listen({ port: 0, host: "127.0.0.1" });
    sim.webhooks.targetUrl = `${ingressUrl}/webhook`;

    const outbound = (started.outbound = new OutboundWorker({
      db,
      queueRedis: redis(),
      redis: redis(),
      subscriberRedis: redis({ autoPipelining: false }),
      graph,
      vault,
      events,
      logger,
      prefix,
      personalDataHasher,
      concurrency: options.concurrency,
      templateSyncIntervalMs: 0,
      ...(options.outboundMediaFetch ? { mediaFetch: options.outboundMediaFetch } : {}),
    }));
    const inbound = (started.inbound = new InboundWorker({
      db,
      queueRedis: redis(),
      pumpRedis: redis({ autoPipelining: false }),
      subscriberRedis: redis({ autoPipelining: false }),
      events,
      logger,
      prefix,
      concurrency: options.concurrency,
      personalData: { hasher: personalDataHasher },
      onStatus: options.wrapStatusHook ? options.wrapStatusHook(outbound.statusHook) : outbound.statusHook,
      ...(options.inboundMedia ? { media: { graph, graphBaseUrl: sim.url, vault, backoffBaseMs: 100 } } : {}),
      accountHandlers: {
        message_template_status_update: createTemplateStatusHandler({ sendState: outbound.sendState }),
      },
    }));
    await inbound.start();
    await outbound.start();

    // A connected recruiter: token in the vault, its number and approved template known to "Meta".
    const created = await db.clients.create({
      userId: `recruiter-${services.id}`,
      ...options.client,
      status: "active",
      accessToken: vault.encrypt(`tok-${services.id}`),
    });
    const client = created.toObject();
    const clientId = client._id.toHexString();
    simState.numbers.set(client.phoneNumberId, client.wabaId);
    simState.templates.set(client.wabaId, [simTemplate(FIRST_CONTACT_TEMPLATE)]);
    await outbound.syncTemplates(clientId);
    const jwt = await tokenFor(client.userId, "recruiter");

    return {
      services,
      logger,
      prefix,
      adapterKey,
      redis,
      db,
      events,
      sim,
      simState,
      realtime,
      realtimeUrl,
      app,
      ingressUrl,
      inbound,
      outbound,
      graph,
      vault,
      client,
      clientId,
      jwt,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
