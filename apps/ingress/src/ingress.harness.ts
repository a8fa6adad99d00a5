import type { FastifyInstance } from "fastify";
import type { Redis } from "ioredis";
import type { Types } from "mongoose";
import { Database, inboundDedupeKey, messageSortKey } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import type { NormalizedMessage } from "@linkojob/whatsapp";
import { createRedis, redisReady } from "@linkojob/queues";
import { startRedisServer, testServices, type OwnRedis, type TestServices, testIngressConfig } from "@linkojob/testing";
import { buildApp, type IngressConfig, type IngressDeps } from "./app.js";

export interface TestIngress {
  app: FastifyInstance;
  db: Database;
  /** The ingress's fail-fast connection. */
  redis: Redis;
  services: TestServices;
  /** The Redis of the file's own, when asked for (a test may stop and restart it). */
  ownRedis: OwnRedis | null;
  close(): Promise<void>;
}

/**
 * The ingress of a test file, built as main.ts builds it, on the real MongoDB-protocol server and a
 * real Redis (the shared one, or one of its own with `ownRedis: true`), with the file's own database
 * and key prefix. Tests talk to it with app.inject.
 */
export async function startTestIngress(
  label: string,
  options: {
    ownRedis?: boolean;
    config?: Partial<IngressConfig>;
    deps?: Partial<Omit<IngressDeps, "config" | "redis" | "db" | "events">>;
  } = {},
): Promise<TestIngress> {
  const services = testServices(label);
  const ownRedis = options.ownRedis ? await startRedisServer() : null;
  const redisUrl = ownRedis?.url ?? services.redisUrl;
  const db = await Database.connect(services.mongoUrl);
  const redis = createRedis(redisUrl, { failFast: true });
  const eventsRedis = createRedis(redisUrl);
  await redisReady(redis);
  const app = await buildApp({
    config: { ...testIngressConfig(services.prefix), ...options.config },
    redis,
    db,
    events: new DashboardEvents(eventsRedis),
    ...options.deps,
  });
  return {
    app,
    db,
    redis,
    services,
    ownRedis,
    async close() {
      await app.close();
      redis.disconnect();
      eventsRedis.disconnect();
      await ownRedis?.destroy();
      await db.connection.dropDatabase().catch(() => undefined);
      await db.close();
    },
  };
}

/**
 * A candidate's message stored as the inbound worker stores it: the message inserted, then its
 * conversation's counters, window and last-message summary written by the conversation batch's recordInbound.
 */
export async function storeInbound(
  db: Database,
  clientId: Types.ObjectId,
  conversationId: Types.ObjectId,
  m: NormalizedMessage,
): Promise<void> {
  const { message } = await db.forTenant(clientId).messages.insertInbound(conversationId, m);
  const batch = db.conversationStore.batch();
  await batch.recordInbound([
    {
      clientId,
      conversationId,
      messages: [
        {
          messageId: message._id,
          timestamp: m.timestamp,
          receivedAt: message.receivedAt,
          sortKey: messageSortKey(m.timestamp, inboundDedupeKey(m.wamid)),
          preview: m.text,
          type: m.type,
          opensWindow: true,
        },
      ],
    },
  ]);
}
