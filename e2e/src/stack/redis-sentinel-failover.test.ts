/**
 * Redis failing over under load: a primary and its replica (AOF on both) watched by three sentinels,
 * the ingress and an inbound worker as processes connected through the sentinels (REDIS_SENTINELS,
 * REDIS_SENTINEL_NAME, as an operator sets them). Signed webhooks are posted by concurrent posters
 * (each non-200 posted again, as Meta does); once 30 % are acknowledged the primary is SIGKILLed and
 * the sentinels promote the replica. Proven: webhooks are answered 503 only during the switch (none
 * before the kill, none once the ingress answered 200 again on the new primary), every delivery
 * that got a 200 is stored exactly once (the ingress waits for the replica's copy before its 200, so
 * the promoted replica has every acknowledged one), and both processes resume on the new primary
 * without a restart.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database, type ClientDoc } from "@linkojob/db";
import { textMessageDelivery } from "@linkojob/meta-simulator";
import { WEBHOOK_QUEUE, createRedis, ingressStreamKey, type RedisClient } from "@linkojob/queues";
import {
  TEST_SECRETS,
  describeOutput,
  eventually,
  freePort,
  startNodeProcess,
  startRedisSentinelSet,
  testServices,
  waitForReady,
  type NodeProcess,
  type OwnSentinelSet,
} from "@linkojob/testing";
import { postSigned } from "../harness/signed-post.harness.js";
import { expectStoredExactlyOnce } from "../harness/exact-storage.harness.js";
import { REPO_ROOT, WORKER_MAINS, killAll, queueCounts, startWorkerProcess } from "./multi-process.harness.js";

const INGRESS_MAIN = fileURLToPath(new URL("../../../apps/ingress/src/main.ts", import.meta.url));
const CANDIDATES = 30;
const PER_CANDIDATE = 10;
const MESSAGES = CANDIDATES * PER_CANDIDATE;
const POSTERS = 8;

describe("the ingress and the inbound worker through a Redis Sentinel failover", () => {
  const services = testServices("sentinel");
  const processes: NodeProcess[] = [];
  const conns: RedisClient[] = [];
  let set: OwnSentinelSet;
  let db: Database;
  let client: ClientDoc;

  beforeAll(async () => {
    set = await startRedisSentinelSet();
    db = await Database.connect(services.mongoUrl, { maxPoolSize: 4 });
    client = (
      await db.clients.create({
        userId: `recruiter-${services.id}`,
        companyName: "Bascule SARL",
        phoneNumberId: `31${Date.now() % 1_000_000}`,
        wabaId: `41${Date.now() % 1_000_000}`,
        whatsappNumber: "212522009911",
        status: "active",
      })
    ).toObject();
  }, 120_000);

  afterAll(async () => {
    await killAll(processes);
    await Promise.allSettled(conns.map((c) => c.quit()));
    await db?.close();
    await set?.destroy();
  });

  it(
    "answers 503 only during the switch, stores every acknowledged delivery once, and resumes without a restart",
    { timeout: 300_000 },
    async () => {
      // The variables as an operator sets them: REDIS_URL's host is not used behind Sentinel.
      const stores = {
        MONGODB_URI: services.mongoUrl,
        REDIS_URL: "redis://127.0.0.1:1",
        REDIS_SENTINELS: set.sentinelsEnv,
        REDIS_SENTINEL_NAME: set.name,
        QUEUE_PREFIX: services.prefix,
        LOG_LEVEL: "warn",
      };
      const port = await freePort();
      const ingressUrl = `http://127.0.0.1:${port}`;
      const ingress = startNodeProcess("ingress", ["--conditions=@linkojob/source", "--import", "tsx", INGRESS_MAIN], {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "",
          ...stores,
          PORT: String(port),
          BASE_URL: ingressUrl,
          META_APP_ID: TEST_SECRETS.appId,
          META_APP_SECRET: TEST_SECRETS.appSecret,
          META_WEBHOOK_VERIFY_TOKEN: TEST_SECRETS.verifyToken,
          JWT_SECRET: TEST_SECRETS.jwtSecret,
          TOKEN_ENCRYPTION_KEY: TEST_SECRETS.tokenKey,
          META_GRAPH_URL: "http://127.0.0.1:9",
        },
      });
      processes.push(ingress);
      await waitForReady(ingress, `${ingressUrl}/ready`);
      const worker = await startWorkerProcess("inbound", WORKER_MAINS.inbound, {
        ...stores,
        TOKEN_ENCRYPTION_KEY: TEST_SECRETS.tokenKey,
        INBOUND_CONCURRENCY: "16",
      });
      processes.push(worker);
      const admin = createRedis({
        url: stores.REDIS_URL,
        sentinels: set.sentinels,
        sentinelName: set.name,
      });
      admin.on("error", () => undefined);
      conns.push(admin);

      const biz = { wabaId: client.wabaId, phoneNumberId: client.phoneNumberId };
      const deliveries = Array.from({ length: MESSAGES }, (_, i) =>
        textMessageDelivery(
          biz,
          { waId: `2126881${String(i % CANDIDATES).padStart(5, "0")}`, name: `Candidat ${i % CANDIDATES}` },
          `message ${i}`,
        ),
      );
      const refusals: Array<{ at: number; status: number }> = [];
      /** When each acknowledged post was sent (a post in flight at the kill may still get the old primary's 200). */
      const oks: number[] = [];
      let killedAt = 0;
      let killed!: () => void;
      const kill = new Promise<void>((resolve) => (killed = resolve));
      const held = Math.floor(MESSAGES * 0.4);
      let next = 0;
      const posting = Promise.all(
        Array.from({ length: POSTERS }, async () => {
          for (let i = next++; i < MESSAGES; i = next++) {
            // The rest of the load comes once the primary is gone: Meta keeps posting through the switch.
            if (i >= held) await kill;
            for (;;) {
              const sentAt = Date.now();
              const { status } = await postSigned(ingressUrl, deliveries[i]).catch(() => ({ status: 0 }));
              if (status === 200) {
                oks.push(sentAt);
                break;
              }
              refusals.push({ at: Date.now(), status });
              await new Promise((r) => setTimeout(r, 100));
            }
          }
        }),
      );
      const progress = setInterval(
        () => console.log(`[sentinel] ${oks.length} acknowledged, ${refusals.length} refused`),
        5_000,
      );
      await eventually(() => oks.length >= MESSAGES * 0.3, 60_000);
      const killStartedAt = Date.now();
      await set.killPrimary();
      killedAt = Date.now();
      killed();
      await posting.finally(() => clearInterval(progress));
      // The sentinels promoted the replica.
      expect(await eventually(async () => ((await set.currentPrimaryPort()) === set.replicaPort ? true : null))).toBe(
        true,
      );

      // 503 only during the switch: none before the kill, none after the first 200 on the new primary
      // (to a post sent once the primary was gone).
      const firstOkAfter = Math.min(...oks.filter((t) => t > killedAt));
      const lastRefusal = Math.max(killedAt, ...refusals.map((r) => r.at));
      console.log(
        `[sentinel] ${refusals.length} posts refused during the switch; the ingress acknowledged again posts sent ${firstOkAfter - killedAt} ms after the kill`,
      );
      expect(refusals.filter((r) => r.at < killStartedAt)).toEqual([]);
      expect(new Set(refusals.map((r) => r.status))).toEqual(new Set(refusals.length ? [503] : []));
      expect(lastRefusal - firstOkAfter, "a 503 after the ingress answered 200 on the new primary").toBeLessThanOrEqual(
        // Posters in flight when the ingress reconnected answer from the same instant: 1 s of slack.
        1_000,
      );

      // Every acknowledged delivery stored once, by the worker that never restarted.
      await eventually(
        async () => {
          const [counts, streamLen] = await Promise.all([
            queueCounts(admin, services.prefix, WEBHOOK_QUEUE),
            admin.xlen(ingressStreamKey(services.prefix)),
          ]);
          return counts.waiting + counts.active + counts.delayed + counts.prioritized + streamLen === 0 &&
            (await db.messages.countDocuments({ clientId: client._id })) >= MESSAGES
            ? true
            : null;
        },
        120_000,
        250,
      ).catch(async (err: Error) => {
        const stored = await db.messages.countDocuments({ clientId: client._id });
        throw new Error(`${err.message}: ${stored} of ${MESSAGES} stored\n${processes.map(describeOutput).join("\n")}`);
      });
      await expectStoredExactlyOnce(db, client._id, {
        messages: MESSAGES,
        candidates: CANDIDATES,
        perCandidate: PER_CANDIDATE,
      });
      expect((await queueCounts(admin, services.prefix, WEBHOOK_QUEUE)).failed).toBe(0);
      // Neither process was restarted, and both are ready on the new primary.
      expect([ingress.child.exitCode, worker.child.exitCode]).toEqual([null, null]);
      for (const url of [`${ingressUrl}/ready`, `http://127.0.0.1:${worker.port}/ready`])
        await eventually(async () => ((await fetch(url)).status === 200 ? true : null), 30_000);
    },
  );
});
