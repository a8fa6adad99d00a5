/**
 * The project's chaos run: the inbound system as processes (the ingress and N inbound workers, each
 * its own `node` process from its main.ts), a FerretDB and a redis-server (AOF on) of the run's own,
 * and N messages posted as signed webhooks by concurrent posters — a share posted twice, all
 * shuffled, every non-200 answer posted again as Meta does — while one fault is injected once the
 * workers have done 30 % of the deliveries:
 * The last 30 % of the deliveries are posted only once the fault has begun.
 *   - `none`: no fault (the baseline the others' throughput is read against);
 *   - `worker-kill`: one inbound worker SIGKILLed, a new one started (an orchestrator's restart);
 *   - `redis-restart`: Redis stopped (SIGTERM) and started again on its AOF after `outageMs`;
 *   - `mongo-restart`: the database stopped (SIGTERM) and started again on its data after `outageMs`;
 *   - `send-storm`: the outbound path instead, sends through the REST API under transient Meta errors,
 *     an outbound worker SIGKILLed mid-storm (see send-storm.harness.ts for its load and checks).
 * Then exact checks: every message stored once, every conversation's messageCount and unreadCount
 * equal to its messages, no count claim left, nothing left in the stream or the queue, no failed job,
 * no dead letter; and the figures: drain time (first post to the last job done) and messages/s.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Database } from "@linkojob/db";
import { textMessageDelivery } from "@linkojob/meta-simulator";
import { WEBHOOK_QUEUE, createRedis, ingressStreamKey, type RedisClient } from "@linkojob/queues";
import {
  TEST_SECRETS,
  describeOutput,
  freePort,
  killAll,
  startFerretDb,
  startNodeProcess,
  startRedisServer,
  waitForReady,
  type NodeProcess,
} from "@linkojob/testing/services";
import { signWebhookBody } from "@linkojob/whatsapp";
import { REPO_ROOT, WORKER_MAINS, queueCounts, startWorkerProcess } from "../stack/multi-process.harness.js";
import { runSendStorm } from "./send-storm.harness.js";

export const SCENARIOS = ["none", "worker-kill", "redis-restart", "mongo-restart", "send-storm"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface ChaosOptions {
  messages: number;
  /** Inbound worker processes. */
  workers: number;
  tenants: number;
  /** Candidates per tenant. */
  candidates: number;
  /** Share of deliveries posted twice. */
  redeliver: number;
  /** Concurrent posters. */
  posters: number;
  /** How long Redis or the database stays down. */
  outageMs: number;
  /** Jobs in flight per worker process. */
  concurrency: number;
  /** Longest wait for the drain before the run is declared failed. */
  drainTimeoutMs: number;
  seed: number;
  /**
   * Most PostgreSQL connections the run's FerretDB opens (0: FerretDB's default, 50). PostgreSQL
   * allows 100 in all for every run on the machine: two runs at once need a cap.
   */
  pgMaxConnections: number;
  /** send-storm: share of sends Meta answers with a transient error. */
  stormRate: number;
  /** send-storm: share of sends Meta accepts with the answer lost (the caller cannot know). */
  loseAnswerRate: number;
  /** send-storm: how long an unanswered send waits for a status webhook naming it (OUTBOUND_UNCERTAIN_GRACE_MS). */
  uncertainGraceMs: number;
  log: (line: string) => void;
}

export const DEFAULT_CHAOS: ChaosOptions = {
  messages: 1_000,
  workers: 2,
  tenants: 2,
  candidates: 50,
  redeliver: 0.2,
  posters: 30,
  outageMs: 10_000,
  concurrency: 32,
  drainTimeoutMs: 600_000,
  seed: 20_261_207,
  pgMaxConnections: 0,
  stormRate: 0.3,
  loseAnswerRate: 0.01,
  uncertainGraceMs: 10_000,
  log: () => undefined,
};

export interface ScenarioResult {
  scenario: Scenario;
  workers: number;
  messages: number;
  deliveries: number;
  drainMs: number;
  messagesPerSecond: number;
  /** Posts the ingress did not answer 200 (posted again until it did). */
  refusedPosts: number;
  /** What the exact checks found wrong (empty: the scenario passed). */
  problems: string[];
  /** Scenario-specific counts (send-storm: Meta's refusals, lost answers, sends that gave up). */
  detail?: Record<string, number>;
}

export const INGRESS_MAIN = fileURLToPath(new URL("../../../apps/ingress/src/main.ts", import.meta.url));

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs one scenario on a stack of its own and returns its figures and problems. */
export async function runScenario(scenario: Scenario, options: Partial<ChaosOptions> = {}): Promise<ScenarioResult> {
  const o = { ...DEFAULT_CHAOS, ...options };
  if (scenario === "send-storm") return runSendStorm(o);
  const random = mulberry32(o.seed);
  const prefix = `chaos${randomBytes(3).toString("hex")}`;
  const ferret = await startFerretDb(o.pgMaxConnections ? { pgMaxConnections: o.pgMaxConnections } : {});
  const redisServer = await startRedisServer({ appendonly: true });
  const mongoUrl = `${ferret.url}/chaos`;
  const procs: NodeProcess[] = [];
  const conns: RedisClient[] = [];
  let db: Database | null = null;
  const stores = { MONGODB_URI: mongoUrl, REDIS_URL: redisServer.url, QUEUE_PREFIX: prefix, LOG_LEVEL: "warn" };
  const workerEnv = {
    ...stores,
    TOKEN_ENCRYPTION_KEY: TEST_SECRETS.tokenKey,
    INBOUND_CONCURRENCY: String(o.concurrency),
  };
  const startWorker = async (n: number) => {
    const w = await startWorkerProcess(`inbound-${n}`, WORKER_MAINS.inbound, workerEnv);
    procs.push(w);
    return w;
  };
  try {
    db = await Database.connect(mongoUrl, { maxPoolSize: 4 });
    const port = await freePort();
    const ingress = startNodeProcess("ingress", ["--conditions=@linkojob/source", "--import", "tsx", INGRESS_MAIN], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        ...stores,
        PORT: String(port),
        BASE_URL: `http://127.0.0.1:${port}`,
        META_APP_ID: TEST_SECRETS.appId,
        META_APP_SECRET: TEST_SECRETS.appSecret,
        META_WEBHOOK_VERIFY_TOKEN: TEST_SECRETS.verifyToken,
        JWT_SECRET: TEST_SECRETS.jwtSecret,
        TOKEN_ENCRYPTION_KEY: TEST_SECRETS.tokenKey,
        META_GRAPH_URL: "http://127.0.0.1:9",
      },
    });
    procs.push(ingress);
    await waitForReady(ingress, `http://127.0.0.1:${port}/ready`);
    const workers = [];
    for (let n = 1; n <= o.workers; n++) workers.push(await startWorker(n));

    // The load: tenants × candidates, messages spread over them, some deliveries posted twice, shuffled.
    const expected = new Map<string, number>(); // conversation key → messages
    const bodies: string[] = [];
    const tenants = [];
    for (let t = 0; t < o.tenants; t++) {
      const stamp = `${t}${Date.now() % 1_000_000}`;
      const c = await db.clients.create({
        userId: `chaos-${prefix}-${t}`,
        companyName: `Chaos ${t}`,
        phoneNumberId: `70${stamp}`,
        wabaId: `80${stamp}`,
        whatsappNumber: `2125229${String(t).padStart(5, "0")}`,
        status: "active",
      });
      tenants.push(c.toObject());
    }
    for (let i = 0; i < o.messages; i++) {
      const t = Math.floor(random() * o.tenants);
      const c = Math.floor(random() * o.candidates);
      const tenant = tenants[t]!;
      const waId = `2126${String(t).padStart(2, "0")}${String(c).padStart(6, "0")}`;
      const k = `${tenant._id.toHexString()}|${waId}`;
      expected.set(k, (expected.get(k) ?? 0) + 1);
      const body = JSON.stringify(
        textMessageDelivery(
          { wabaId: tenant.wabaId, phoneNumberId: tenant.phoneNumberId },
          { waId, name: `Candidat ${c}` },
          `message ${i}`,
        ),
      );
      bodies.push(body);
      if (random() < o.redeliver) bodies.push(body);
    }
    for (let i = bodies.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [bodies[i], bodies[j]] = [bodies[j]!, bodies[i]!];
    }

    const admin = createRedis(redisServer.url);
    admin.on("error", () => undefined);
    conns.push(admin);
    const completed = () => admin.zcard(`${prefix}:${WEBHOOK_QUEUE}:completed`);
    const started = Date.now();
    let next = 0;
    let refused = 0;
    // The last 30 % of the deliveries are posted once the fault has begun: Meta keeps posting during it.
    let faultBegun!: () => void;
    const fault = new Promise<void>((resolve) => (faultBegun = resolve));
    if (scenario === "none") faultBegun();
    const held = Math.floor(bodies.length * 0.7);
    const posting = Promise.all(
      Array.from({ length: o.posters }, async () => {
        for (let i = next++; i < bodies.length; i = next++) {
          if (i >= held) await fault;
          // Meta posts again until it gets a 200.
          for (;;) {
            const status = await fetch(`http://127.0.0.1:${port}/webhook`, {
              method: "POST",
              headers: {
                "content-type": "application/json",
                "x-hub-signature-256": signWebhookBody(bodies[i]!, TEST_SECRETS.appSecret),
              },
              body: bodies[i],
            }).then(
              async (r) => (await r.arrayBuffer(), r.status),
              () => 0,
            );
            if (status === 200) break;
            refused++;
            await new Promise((r) => setTimeout(r, 250));
          }
        }
      }),
    );

    if (scenario !== "none") {
      await until(async () => (await completed()) >= bodies.length * 0.3, o.drainTimeoutMs, "30 % of the deliveries");
      o.log(`[chaos] ${scenario}: fault at ${await completed()} deliveries done`);
      setTimeout(faultBegun, 500);
      if (scenario === "worker-kill") {
        workers[0]!.child.kill("SIGKILL");
        await workers[0]!.exited;
        workers[0] = await startWorker(o.workers + 1);
      } else if (scenario === "redis-restart") {
        await redisServer.stop();
        await new Promise((r) => setTimeout(r, o.outageMs));
        await redisServer.start();
      } else {
        await ferret.halt();
        await new Promise((r) => setTimeout(r, o.outageMs));
        await ferret.resume();
      }
    }
    await posting;
    await until(
      async () => {
        const [counts, streamLen] = await Promise.all([
          queueCounts(admin, prefix, WEBHOOK_QUEUE),
          admin.xlen(ingressStreamKey(prefix)),
        ]);
        return counts.waiting + counts.active + counts.delayed + counts.prioritized + streamLen === 0;
      },
      o.drainTimeoutMs,
      "the drain",
    ).catch(async (err: Error) => {
      // Where it stood: a slow drain still moving differs from a stuck one.
      const counts = await queueCounts(admin, prefix, WEBHOOK_QUEUE).catch(() => null);
      const stored = await db!.messages.countDocuments({}).catch(() => null);
      throw new Error(
        `${err.message} (queue ${JSON.stringify(counts)}, ${stored} of ${o.messages} messages stored)\n${procs.map(describeOutput).join("\n")}`,
      );
    });
    const drainMs = Date.now() - started;

    const problems: string[] = [];
    const failed = (await queueCounts(admin, prefix, WEBHOOK_QUEUE)).failed;
    if (failed) problems.push(`${failed} failed jobs`);
    const clientIds = tenants.map((t) => t._id);
    const stored = await db.messages
      .find({ clientId: { $in: clientIds } }, { wamid: 1, conversationId: 1, countClaim: 1 })
      .lean();
    if (stored.length !== o.messages) problems.push(`${stored.length} messages stored, ${o.messages} sent`);
    const distinct = new Set(stored.map((m) => m.wamid)).size;
    if (distinct !== stored.length) problems.push(`${stored.length - distinct} messages stored twice`);
    const claimed = stored.filter((m) => m.countClaim).length;
    if (claimed) problems.push(`${claimed} count claims left`);
    const conversations = await db.conversations
      .find({ clientId: { $in: clientIds } }, { clientId: 1, candidatePhone: 1, messageCount: 1, unreadCount: 1 })
      .lean();
    if (conversations.length !== expected.size)
      problems.push(`${conversations.length} conversations, ${expected.size} expected`);
    let wrong = 0;
    for (const c of conversations) {
      const want = expected.get(`${c.clientId.toHexString()}|${c.candidatePhone}`);
      if (c.messageCount !== want || c.unreadCount !== want) wrong++;
    }
    if (wrong) problems.push(`${wrong} conversations with wrong counters`);
    if (problems.length) {
      // Where the counts went wrong: each conversation whose counted ids differ from its stored
      // messages, and the workers' last output.
      const ids = new Set(stored.map((m) => String(m._id)));
      const perConversation = new Map<string, number>();
      for (const m of stored)
        perConversation.set(String(m.conversationId), (perConversation.get(String(m.conversationId)) ?? 0) + 1);
      for (const c of await db.conversations.collection
        .find({ clientId: { $in: clientIds } }, { projection: { countedIds: 1, messageCount: 1 } })
        .toArray()) {
        const counted = ((c.countedIds ?? []) as unknown[]).map(String);
        const absent = counted.filter((id) => !ids.has(id)).length;
        if (absent || counted.length !== perConversation.get(String(c._id)))
          o.log(
            `[chaos] conversation ${String(c._id)}: count ${String(c.messageCount)}, ${counted.length} ids counted (${absent} not stored), ${perConversation.get(String(c._id)) ?? 0} messages stored`,
          );
      }
      const orphans = [...perConversation.keys()].filter((id) => !conversations.some((c) => String(c._id) === id));
      if (orphans.length) o.log(`[chaos] messages stored under ${orphans.length} conversation ids that do not exist`);
      o.log(procs.map(describeOutput).join("\n"));
    }
    const deadLetters = await db.webhookEvents.countDocuments({ kind: "dead_letter" });
    if (deadLetters) problems.push(`${deadLetters} dead letters`);
    const result: ScenarioResult = {
      scenario,
      workers: o.workers,
      messages: o.messages,
      deliveries: bodies.length,
      drainMs,
      messagesPerSecond: Math.round((o.messages / drainMs) * 10_000) / 10,
      refusedPosts: refused,
      problems,
    };
    o.log(`[chaos] ${JSON.stringify(result)}`);
    return result;
  } finally {
    await killAll(procs);
    await Promise.allSettled(conns.map((c) => c.quit()));
    await db?.close().catch(() => undefined);
    await redisServer.destroy();
    await ferret.stop();
  }
}
