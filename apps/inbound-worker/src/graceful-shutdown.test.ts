import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { Queue } from "bullmq";
import { Database, type ClientDoc } from "@linkojob/db";
import { WEBHOOK_QUEUE, createRedis, ingressStreamKey } from "@linkojob/queues";
import {
  TEST_SECRETS,
  describeOutput,
  eventually,
  freePort,
  killAll,
  startNodeProcess,
  testServices,
  waitForReady,
  type NodeProcess,
} from "@linkojob/testing";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
const DELIVERIES = 300;
const CANDIDATE = "212611223344";

const services = testServices("shutdown");
let db: Database;
let redis: Redis;
let client: ClientDoc;
const processes: NodeProcess[] = [];

/** The inbound worker as production runs it: its own process, configured by environment only. */
async function startWorker(): Promise<NodeProcess & { port: number }> {
  const port = await freePort();
  const proc = startNodeProcess("inbound-worker", ["--conditions=@linkojob/source", "--import", "tsx", MAIN], {
    cwd: ROOT, // where `tsx` resolves
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      MONGODB_URI: services.mongoUrl,
      REDIS_URL: services.redisUrl,
      QUEUE_PREFIX: services.prefix,
      LOG_LEVEL: "warn",
      INBOUND_CONCURRENCY: "2",
      HEALTH_PORT: String(port),
      // Media fetching is configured but never used here (text messages only).
      META_GRAPH_URL: "http://127.0.0.1:9",
      TOKEN_ENCRYPTION_KEY: TEST_SECRETS.tokenKey,
    },
  });
  processes.push(proc);
  // Ready once its HEALTH_PORT answers /ready (it listens after the worker has started).
  await waitForReady(proc, `http://127.0.0.1:${port}/ready`);
  return { ...proc, port };
}

/** Meta's delivery of one text message from the candidate, as the ingress appends it to its stream. */
function delivery(i: number): string {
  return JSON.stringify({
    object: "whatsapp_business_account",
    entry: [
      {
        id: client.wabaId,
        changes: [
          {
            field: "messages",
            value: {
              messaging_product: "whatsapp",
              metadata: { display_phone_number: client.whatsappNumber, phone_number_id: client.phoneNumberId },
              contacts: [{ profile: { name: "Candidate" }, wa_id: CANDIDATE }],
              messages: [
                {
                  from: CANDIDATE,
                  id: `wamid.shutdown-${services.id}-${i}`,
                  timestamp: String(1_732_400_000 + i),
                  type: "text",
                  text: { body: `message ${i}` },
                },
              ],
            },
          },
        ],
      },
    ],
  });
}

const stored = () => db.messages.countDocuments({ clientId: client._id });

beforeAll(async () => {
  db = await Database.connect(services.mongoUrl);
  redis = createRedis(services.redisUrl);
  client = (
    await db.clients.create({
      userId: `user-${services.id}`,
      companyName: "Shutdown Co",
      phoneNumberId: `77${Date.now() % 1_000_000_000}`,
      wabaId: `88${Date.now() % 1_000_000_000}`,
      whatsappNumber: "212522000099",
      status: "active",
    })
  ).toObject();
});

afterAll(async () => {
  await killAll(processes);
  await redis?.quit();
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
});

describe("inbound worker shutdown", () => {
  // Two worker processes start (tsx compiles the worker each time) and drain: minutes on a loaded machine.
  it(
    "on SIGTERM mid-burst finishes or hands back its jobs: a new worker stores every delivery exactly once",
    { timeout: 240_000 },
    async () => {
      const first = await startWorker();

      // The burst, appended exactly as the ingress does (XADD of the raw body) after the 200 to Meta.
      const key = ingressStreamKey(services.prefix);
      const pipeline = redis.pipeline();
      for (let i = 0; i < DELIVERIES; i++) pipeline.xadd(key, "*", "t", String(Date.now()), "b", delivery(i));
      await pipeline.exec();

      await eventually(async () => (await stored()) >= 10, 60_000);
      first.child.kill("SIGTERM");
      expect((await first.exited).code, describeOutput(first)).toBe(0); // a clean exit, not the shutdown timeout's exit(1)
      const atExit = await stored();
      // The signal really came mid-burst: the second worker has work left.
      expect(atExit).toBeLessThan(DELIVERIES);

      const second = await startWorker();
      await eventually(async () => (await stored()) >= DELIVERIES, 120_000, 100);
      const queue = new Queue(WEBHOOK_QUEUE, { connection: redis, prefix: services.prefix });
      await eventually(
        async () =>
          (await queue.getJobCounts("waiting", "active", "delayed")).waiting === 0 &&
          (await queue.getActiveCount()) === 0,
      );

      expect(await stored()).toBe(DELIVERIES);
      const wamids = await db.messages.distinct("wamid", { clientId: client._id });
      expect(wamids.length).toBe(DELIVERIES);
      // Counters incremented once per message, not once per processing.
      const conversation = await db.conversations.findOne({ clientId: client._id }).lean();
      expect(conversation?.messageCount).toBe(DELIVERIES);
      expect(await queue.getFailedCount()).toBe(0);
      expect(await redis.xlen(ingressStreamKey(services.prefix))).toBe(0);
      const metrics = await fetch(`http://127.0.0.1:${second.port}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(/lj_jobs_total\{[^}]*queue="webhook-deliveries"[^}]*\} [1-9]/);
      await queue.close();

      second.child.kill("SIGTERM");
      expect((await second.exited).code, describeOutput(second)).toBe(0);
    },
  );
});
