/**
 * A MongoDB outage under load: the inbound worker runs as its own process against a FerretDB of
 * this test's own; the database is stopped while the worker has batches in flight, and started
 * again on the same port and data. The worker must come back by itself (no restart of the
 * process) and store every message once, with conversation counters equal to the messages stored:
 * a counter write that reached the database before the connection closed must not count again when
 * its batch is retried.
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database, type ClientDoc } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { textMessageDelivery } from "@linkojob/meta-simulator";
import { WEBHOOK_QUEUE, createRedis, ingressStreamKey, type RedisClient } from "@linkojob/queues";
import {
  TEST_SECRETS,
  describeOutput,
  eventually,
  startFerretDb,
  testServices,
  type RunningFerretDb,
  testIngressConfig,
} from "@linkojob/testing";
import { buildApp } from "@linkojob/ingress";
import { postSigned } from "../harness/signed-post.harness.js";
import { expectStoredExactlyOnce } from "../harness/exact-storage.harness.js";
import {
  WORKER_MAINS,
  killAll,
  queueCounts,
  startWorkerProcess,
  terminate,
  type WorkerProcess,
} from "../stack/multi-process.harness.js";

const CANDIDATES = 40;
const BACKLOG_PER_CANDIDATE = 20;
/** Posted while the database is away: their attempts cannot succeed until it is back. */
const DURING_OUTAGE_PER_CANDIDATE = 2;
const PER_CANDIDATE = BACKLOG_PER_CANDIDATE + DURING_OUTAGE_PER_CANDIDATE;
const MESSAGES = CANDIDATES * PER_CANDIDATE;

describe("the inbound worker across a database restart", () => {
  const services = testServices("dbrestart");
  const logger = pino({ level: "silent" });
  const conns: RedisClient[] = [];
  const processes: WorkerProcess[] = [];
  let ferret: RunningFerretDb;
  let mongoUrl: string;
  let db: Database;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let ingressUrl: string;
  let client: ClientDoc;

  const redis = () => {
    const c = createRedis(services.redisUrl);
    c.on("error", () => undefined);
    conns.push(c);
    return c;
  };

  beforeAll(async () => {
    ferret = await startFerretDb({ backend: process.env.FERRETDB_BACKEND === "sqlite" ? "sqlite" : "auto" });
    mongoUrl = `${ferret.url}/dbrestart`;
    db = await Database.connect(mongoUrl, { maxPoolSize: 4 });
    app = await buildApp({
      config: testIngressConfig(services.prefix),
      redis: redis(),
      db,
      events: new DashboardEvents(redis()),
      logger,
    });
    ingressUrl = await app.listen({ port: 0, host: "127.0.0.1" });
    client = (
      await db.clients.create({
        userId: `recruiter-${services.id}`,
        companyName: "Panne SARL",
        phoneNumberId: `30${Date.now() % 1_000_000}`,
        wabaId: `40${Date.now() % 1_000_000}`,
        whatsappNumber: "212522009900",
        status: "active",
      })
    ).toObject();
  });

  afterAll(async () => {
    await killAll(processes);
    await app?.close();
    await Promise.allSettled(conns.map((c) => c.quit()));
    await db?.close();
    await ferret?.stop();
  });

  it(
    "stores every message once, with exact counters, after the database was stopped mid-batch and restarted",
    { timeout: 240_000 },
    async () => {
      const biz = { wabaId: client.wabaId, phoneNumberId: client.phoneNumberId };
      const phones = Array.from({ length: CANDIDATES }, (_, c) => `2126770${String(c).padStart(5, "0")}`);
      const wave = (from: number, count: number) =>
        phones.flatMap((waId, c) =>
          Array.from({ length: count }, (_, i) =>
            textMessageDelivery(biz, { waId, name: `Candidat ${c}` }, `message ${from + i} de ${c}`),
          ),
        );
      const postAll = async (deliveries: ReturnType<typeof wave>) => {
        let next = 0;
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            for (let i = next++; i < deliveries.length; i = next++) {
              expect((await postSigned(ingressUrl, deliveries[i])).status).toBe(200);
            }
          }),
        );
      };
      // Every delivery of the backlog is accepted (in Redis) before the worker starts.
      await postAll(wave(0, BACKLOG_PER_CANDIDATE));

      const worker = await startWorkerProcess("inbound", WORKER_MAINS.inbound, {
        MONGODB_URI: mongoUrl,
        REDIS_URL: services.redisUrl,
        QUEUE_PREFIX: services.prefix,
        LOG_LEVEL: "warn",
        TOKEN_ENCRYPTION_KEY: TEST_SECRETS.tokenKey,
        INBOUND_CONCURRENCY: "32",
      });
      processes.push(worker);
      const queueRedis = redis();

      // Stop the database as soon as some messages are stored and the worker holds jobs in flight.
      const completed = () => queueRedis.zcard(`${services.prefix}:${WEBHOOK_QUEUE}:completed`);
      await eventually(
        async () =>
          (await completed()) >= (CANDIDATES * BACKLOG_PER_CANDIDATE) / 20 &&
          (await queueCounts(queueRedis, services.prefix, WEBHOOK_QUEUE)).active > 0,
        60_000,
        5,
      ).catch(async (err: Error) => {
        throw new Error(`no batch in flight seen (${await completed()} completed): ${err.message}`);
      });
      await ferret.halt();
      // The worker may have finished the backlog while the database shut down; deliveries that
      // arrive during the outage (the ingress acks them on Redis alone) cannot be stored until it
      // is back, so attempts do fail whatever the timing.
      await postAll(wave(BACKLOG_PER_CANDIDATE, DURING_OUTAGE_PER_CANDIDATE));
      // The outage is seen: attempts fail and wait for their retry.
      await eventually(
        async () => (await queueCounts(queueRedis, services.prefix, WEBHOOK_QUEUE)).delayed > 0,
        30_000,
        50,
      ).catch(async (err: Error) => {
        const counts = await queueCounts(queueRedis, services.prefix, WEBHOOK_QUEUE);
        throw new Error(
          `no attempt failed during the outage (${JSON.stringify(counts)}): ${err.message}\n${describeOutput(worker)}`,
        );
      });
      // Its readiness tells the truth: not ready while the database is away.
      const ready = async () => {
        const res = await fetch(`http://127.0.0.1:${worker.port}/ready`);
        return { http: res.status, ...((await res.json()) as { checks: Record<string, boolean> }) };
      };
      let last: unknown = null;
      const whileDown = await eventually(async () => {
        const r = await ready();
        last = r;
        return r.http === 503 ? r : null;
      }, 20_000).catch((err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify(last)}`);
      });
      expect(whileDown.checks).toMatchObject({ mongo: false, redis: true });
      await ferret.resume();

      const drained = await eventually(
        async () => {
          const [counts, streamLen] = await Promise.all([
            queueCounts(queueRedis, services.prefix, WEBHOOK_QUEUE),
            queueRedis.xlen(ingressStreamKey(services.prefix)),
          ]);
          return counts.waiting + counts.active + counts.delayed + streamLen === 0 ? counts : null;
        },
        90_000,
        250,
      ).catch(async (err: Error) => {
        const counts = await queueCounts(queueRedis, services.prefix, WEBHOOK_QUEUE);
        const ids = await queueRedis.zrange(`${services.prefix}:${WEBHOOK_QUEUE}:delayed`, 0, 20);
        const reasons = new Set(
          await Promise.all(
            ids.map((id) => queueRedis.hget(`${services.prefix}:${WEBHOOK_QUEUE}:${id}`, "failedReason")),
          ),
        );
        throw new Error(
          `the worker did not drain after the restart (${JSON.stringify(counts)}; ${[...reasons].join(" | ")}): ${err.message}\n${describeOutput(worker)}`,
        );
      });
      expect(drained.failed, describeOutput(worker)).toBe(0);
      await eventually(async () => {
        const r = await ready().catch((e: Error) => ({ http: 0, checks: {}, e: e.message }));
        last = r;
        return r.http === 200;
      }, 30_000).catch((err: Error) => {
        throw new Error(`not ready after the restart: ${err.message}: ${JSON.stringify(last)}`);
      });

      await expectStoredExactlyOnce(db, client._id, {
        messages: MESSAGES,
        candidates: CANDIDATES,
        perCandidate: PER_CANDIDATE,
      });

      expect(await terminate(worker)).toEqual({ code: 0, signal: null });
    },
  );
});
