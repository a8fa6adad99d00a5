/**
 * Conversation counters with several inbound worker processes: 2, then 4, real processes share one
 * backlog of signed deliveries (some redelivered, all shuffled, so one conversation's messages are in
 * every process's batches at once), and one of them is SIGKILLed in the middle. Every message is
 * stored once and every conversation's messageCount and unreadCount equal its messages, on the
 * FerretDB stand-in too (which loses concurrent updates of one document between processes: a batch's
 * counter write holds its conversations' locks).
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database, type ClientDoc } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { textMessageDelivery } from "@linkojob/meta-simulator";
import { WEBHOOK_QUEUE, createRedis, ingressStreamKey, type RedisClient } from "@linkojob/queues";
import { TEST_SECRETS, describeOutput, eventually, testServices, testIngressConfig } from "@linkojob/testing";
import { buildApp } from "@linkojob/ingress";
import { postSigned } from "../harness/signed-post.harness.js";
import { expectStoredExactlyOnce } from "../harness/exact-storage.harness.js";
import {
  WORKER_MAINS,
  killAll,
  queueCounts,
  startWorkerProcess,
  type WorkerProcess,
} from "../stack/multi-process.harness.js";

const CANDIDATES = 30;
const PER_CANDIDATE = 12;
const MESSAGES = CANDIDATES * PER_CANDIDATE;
const REDELIVERED = 0.2;

/** Deterministic pseudo-random numbers (a failure re-runs with the same load). */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("conversation counters with several inbound worker processes, one killed", () => {
  const services = testServices("countersnproc");
  const logger = pino({ level: "silent" });
  const conns: RedisClient[] = [];
  const processes: WorkerProcess[] = [];
  let db: Database;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let ingressUrl: string;

  const redis = () => {
    const c = createRedis(services.redisUrl);
    c.on("error", () => undefined);
    conns.push(c);
    return c;
  };

  beforeAll(async () => {
    db = await Database.connect(services.mongoUrl, { maxPoolSize: 4 });
    app = await buildApp({
      config: testIngressConfig(services.prefix),
      redis: redis(),
      db,
      events: new DashboardEvents(redis()),
      logger,
    });
    ingressUrl = await app.listen({ port: 0, host: "127.0.0.1" });
  });

  afterAll(async () => {
    await killAll(processes);
    await app?.close();
    await Promise.allSettled(conns.map((c) => c.quit()));
    await db?.connection.dropDatabase().catch(() => undefined);
    await db?.close();
  });

  for (const workers of [2, 4]) {
    it(
      `keeps every counter exact with ${workers} worker processes, one SIGKILLed mid-run`,
      { timeout: 300_000 },
      async () => {
        const random = mulberry32(20_261_207 + workers);
        const stamp = `${workers}${Date.now() % 100_000}`;
        const client: ClientDoc = (
          await db.clients.create({
            userId: `recruiter-${services.id}-${workers}`,
            companyName: `Compteurs ${workers} SARL`,
            phoneNumberId: `50${stamp}`,
            wabaId: `60${stamp}`,
            whatsappNumber: `2125220${String(workers).padStart(5, "0")}`,
            status: "active",
          })
        ).toObject();
        const biz = { wabaId: client.wabaId, phoneNumberId: client.phoneNumberId };
        const deliveries = Array.from({ length: CANDIDATES }, (_, c) => `2126${workers}80${String(c).padStart(5, "0")}`)
          .flatMap((waId, c) =>
            Array.from({ length: PER_CANDIDATE }, (_, i) =>
              textMessageDelivery(biz, { waId, name: `Candidat ${c}` }, `message ${i} de ${c}`),
            ),
          )
          .flatMap((d) => (random() < REDELIVERED ? [d, d] : [d]));
        for (let i = deliveries.length - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
        }
        // The whole load is accepted first: the processes then share one backlog.
        let next = 0;
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            for (let i = next++; i < deliveries.length; i = next++) {
              expect((await postSigned(ingressUrl, deliveries[i])).status).toBe(200);
            }
          }),
        );

        const env = {
          MONGODB_URI: services.mongoUrl,
          REDIS_URL: services.redisUrl,
          QUEUE_PREFIX: services.prefix,
          LOG_LEVEL: "warn",
          TOKEN_ENCRYPTION_KEY: TEST_SECRETS.tokenKey,
          INBOUND_CONCURRENCY: "16",
        };
        const started = await Promise.all(
          Array.from({ length: workers }, (_, w) =>
            startWorkerProcess(`inbound-${workers}-${w + 1}`, WORKER_MAINS.inbound, env).then(
              (p) => (processes.push(p), p),
            ),
          ),
        );
        const queueRedis = redis();
        const completed = () => queueRedis.zcard(`${services.prefix}:${WEBHOOK_QUEUE}:completed`);
        const before = await completed();
        await eventually(async () => (await completed()) - before >= deliveries.length / 4, 120_000, 10);
        started[0]!.child.kill("SIGKILL");
        await started[0]!.exited;

        // The killed process's jobs stall and are taken up again, its claims and locks expire.
        await eventually(
          async () => {
            const [counts, streamLen] = await Promise.all([
              queueCounts(queueRedis, services.prefix, WEBHOOK_QUEUE),
              queueRedis.xlen(ingressStreamKey(services.prefix)),
            ]);
            return counts.waiting + counts.active + counts.delayed + streamLen === 0 && counts.failed === 0;
          },
          240_000,
          250,
        ).catch(async (err: Error) => {
          const counts = await queueCounts(queueRedis, services.prefix, WEBHOOK_QUEUE);
          throw new Error(`not drained (${JSON.stringify(counts)}): ${err.message}\n${describeOutput(started[1]!)}`);
        });

        await expectStoredExactlyOnce(db, client._id, {
          messages: MESSAGES,
          candidates: CANDIDATES,
          perCandidate: PER_CANDIDATE,
        });
        for (const p of started.slice(1)) expect(p.errors, describeOutput(p)).toEqual([]);
        await killAll(started);
      },
    );
  }
});
