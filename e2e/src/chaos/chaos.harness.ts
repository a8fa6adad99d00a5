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
import { readFileSync, readdirSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { Database } from "@linkojob/db";
import { textMessageDelivery } from "@linkojob/meta-simulator";
import { WEBHOOK_QUEUE, createRedis, ingressStreamKey, type RedisClient } from "@linkojob/queues";
import {
  TEST_SECRETS,
  describeOutput,
  freePort,
  isRunning,
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
  /**
   * A run whose stored messages and completed jobs stay unchanged this long while work is left is
   * stalled: it fails at once with the queues' state and the workers' output (0: only the drain limit).
   */
  stallMs: number;
  /** How often the run prints where it stands (0: never). */
  progressMs: number;
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
  stallMs: 180_000,
  progressMs: 10_000,
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

/** What every process of a chaos run is started with: its stores, its queues' prefix, quiet logs. */
export function storesEnv(mongoUrl: string, redisUrl: string, prefix: string): Record<string, string> {
  return {
    MONGODB_URI: mongoUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: "warn",
    // Sends go at any hour: the processes' default quiet hours (21:00-09:00, Africa/Casablanca) would
    // defer every first contact of a run started in the evening to the next morning.
    SENDING_DEFAULT_QUIET_HOURS: "off",
  };
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

/** The value, or null when it is not there within `ms` (a store down must not hang the run's reports). */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([p.catch(() => null), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Failed job attempts per reason, read from a worker's output ("webhook delivery attempt failed"
 * lines; numbers in the reason replaced by #): what the workers retry, and why.
 */
export function countAttemptFailures(proc: NodeProcess, into: Map<string, number>): void {
  for (const stream of [proc.child.stdout, proc.child.stderr]) {
    let buf = "";
    stream?.on("data", (chunk: Buffer) => {
      buf += chunk.toString();
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const line of lines) {
        if (!line.includes("webhook delivery attempt failed")) continue;
        let reason = "?";
        try {
          const err = (JSON.parse(line) as { err?: unknown }).err;
          reason = typeof err === "string" ? err : JSON.stringify(err ?? "?");
        } catch {
          // not JSON: counted under "?"
        }
        reason = reason
          .replace(/[0-9a-f]{24}/g, "<id>")
          .replace(/\d+/g, "#")
          .slice(0, 100);
        into.set(reason, (into.get(reason) ?? 0) + 1);
      }
    });
  }
}

const formatFailures = (m: Map<string, number>) =>
  m.size
    ? [...m]
        .sort((a, b) => b[1] - a[1])
        .map(([r, n]) => `${n}× ${r}`)
        .join(" | ")
    : "none";

/**
 * CPU seconds used so far by the run's processes, by kind: its FerretDB, the PostgreSQL backends
 * serving the run's database, its redis-server, the ingress and the inbound workers (read from
 * /proc: a cost per message that does not depend on how busy the shared machine is). Linux only;
 * empty elsewhere.
 */
export function cpuSeconds(procs: NodeProcess[]): Record<string, number> {
  const out: Record<string, number> = {};
  let names: string[];
  try {
    names = readdirSync("/proc").filter((n) => /^\d+$/.test(n));
  } catch {
    return out;
  }
  const tick = 100; // USER_HZ
  const ours = new Map(procs.map((p) => [p.child.pid, p.name.startsWith("inbound") ? "workers" : p.name]));
  for (const pid of names) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ppid = Number(fields[1]);
      const cpu = (Number(fields[11]) + Number(fields[12])) / tick;
      let kind = ours.get(Number(pid));
      if (!kind) {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        if (ppid === process.pid && cmd.includes("ferretdb")) kind = "ferretdb";
        else if (ppid === process.pid && cmd.includes("redis-server")) kind = "redis";
        else if (cmd.startsWith("postgres:") && cmd.includes(`lj_ferret_${process.pid}_`)) kind = "postgres";
      }
      if (kind) out[kind] = Math.round(((out[kind] ?? 0) + cpu) * 10) / 10;
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** CPU seconds per 1,000 messages between two readings of cpuSeconds. */
const cpuPerThousand = (before: Record<string, number>, after: Record<string, number>, messages: number) =>
  Object.entries(after)
    .map(([k, v]) => `${k} ${(((v - (before[k] ?? 0)) * 1000) / messages).toFixed(1)}`)
    .join(", ");

/** The run's Redis commands by calls (INFO commandstats of its own redis-server), the busiest first. */
async function redisCommandStats(redis: RedisClient, top = 12): Promise<string> {
  const info = await within(redis.info("commandstats"), 3_000);
  if (!info) return "?";
  return [...info.matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g)]
    .map((m) => ({ cmd: m[1]!, calls: Number(m[2]), usec: Number(m[3]) }))
    .sort((a, b) => b.calls - a.calls)
    .slice(0, top)
    .map((c) => `${c.cmd} ${c.calls} (${(c.usec / 1e6).toFixed(1)} s)`)
    .join(", ");
}

export async function until(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  abortIf: () => void = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    abortIf();
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
  const stores = storesEnv(mongoUrl, redisServer.url, prefix);
  const workerEnv = {
    ...stores,
    TOKEN_ENCRYPTION_KEY: TEST_SECRETS.tokenKey,
    INBOUND_CONCURRENCY: String(o.concurrency),
  };
  const attemptFailures = new Map<string, number>();
  const startWorker = async (n: number) => {
    const w = await startWorkerProcess(`inbound-${n}`, WORKER_MAINS.inbound, workerEnv);
    countAttemptFailures(w, attemptFailures);
    procs.push(w);
    return w;
  };
  let progressTimer: NodeJS.Timeout | undefined;
  let stopPosting = false;
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
    const cpuAtStart = cpuSeconds(procs);
    let next = 0;
    let refused = 0;
    // The last 30 % of the deliveries are posted once the fault has begun: Meta keeps posting during it.
    let faultBegun!: () => void;
    const fault = new Promise<void>((resolve) => (faultBegun = resolve));
    let abandon!: () => void;
    const abandoned = new Promise<void>((resolve) => (abandon = resolve));
    let posted = 0;
    if (scenario === "none") faultBegun();
    const held = Math.floor(bodies.length * 0.7);
    const posting = Promise.all(
      Array.from({ length: o.posters }, async () => {
        for (let i = next++; i < bodies.length && !stopPosting; i = next++) {
          if (i >= held) await Promise.race([fault, abandoned]);
          if (stopPosting) return;
          // Meta posts again until it gets a 200.
          while (!stopPosting) {
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
            if (status === 200) {
              posted++;
              break;
            }
            refused++;
            await new Promise((r) => setTimeout(r, 250));
          }
        }
      }),
    );

    // Where the run stands, every progressMs; a run without progress for stallMs fails (see `stalled`).
    const deadline = started + o.drainTimeoutMs;
    let stalled: string | null = null;
    let last = { stored: -1, done: -1, at: Date.now() };
    // Counting the stored messages scans them on FerretDB: only when the line is printed.
    const snapshot = async (withStored = true) => {
      const [counts, streamLen, done, storedNow] = await Promise.all([
        within(queueCounts(admin, prefix, WEBHOOK_QUEUE), 3_000),
        within(admin.xlen(ingressStreamKey(prefix)), 3_000),
        within(completed(), 3_000),
        withStored ? within(db!.messages.countDocuments({}), 5_000) : null,
      ]);
      return { counts, streamLen, done, stored: storedNow };
    };
    const describeState = (s: Awaited<ReturnType<typeof snapshot>>) =>
      `${((Date.now() - started) / 1000).toFixed(0)} s: posted ${posted}/${bodies.length}, jobs done ${s.done ?? "?"}, stored ${s.stored ?? "?"}/${o.messages}, queue ${s.counts ? JSON.stringify(s.counts) : "?"}, stream ${s.streamLen ?? "?"}, load ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}, failed attempts: ${formatFailures(attemptFailures)}`;
    let printedAt = 0;
    const watch = async () => {
      const print = o.progressMs > 0 && Date.now() - printedAt >= o.progressMs;
      const s = await snapshot(print);
      if (print) {
        printedAt = Date.now();
        o.log(`[chaos] ${scenario} ${describeState(s)}`);
      }
      const moved = (s.stored ?? last.stored) !== last.stored || (s.done ?? last.done) !== last.done;
      if (moved) last = { stored: s.stored ?? last.stored, done: s.done ?? last.done, at: Date.now() };
      else if (o.stallMs && Date.now() - last.at > o.stallMs && !stalled)
        stalled = `stalled: nothing stored or completed for ${Math.round((Date.now() - last.at) / 1000)} s (${describeState(s)})`;
      if (!stalled && Date.now() > deadline)
        stalled = `drain limit of ${o.drainTimeoutMs} ms reached (${describeState(s)})`;
      if (stalled) {
        stopPosting = true;
        abandon();
      }
    };
    // A snapshot every 5 s at most (the stall check), printed every progressMs.
    const tick = () => {
      progressTimer = setTimeout(
        () => void watch().finally(() => !stalled && tick()),
        Math.min(o.progressMs || 5_000, 5_000),
      );
    };
    tick();
    /** Throws, with the processes' state and output, once the watch found the run stalled or out of time. */
    const failIfStalled = () => {
      if (!stalled) return;
      throw new Error(
        `${stalled}\n${procs.map((p) => `${p.name} ${isRunning(p) ? "running" : "exited"}`).join(", ")}\n${procs.map(describeOutput).join("\n")}`,
      );
    };

    try {
      if (scenario !== "none") {
        await until(
          async () => (await completed()) >= bodies.length * 0.3,
          o.drainTimeoutMs,
          "30 % of the deliveries",
          failIfStalled,
        );
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
      failIfStalled();
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
        failIfStalled,
      );
    } catch (err) {
      // A run that stalled or ran out of time is a failed scenario: where it stood, then the next one.
      stopPosting = true;
      abandon();
      const s = await snapshot();
      const message = err instanceof Error ? err.message : String(err);
      o.log(`[chaos] ${scenario} FAILED: ${message}\n[chaos] at the end: ${describeState(s)}`);
      const result: ScenarioResult = {
        scenario,
        workers: o.workers,
        messages: o.messages,
        deliveries: bodies.length,
        drainMs: Date.now() - started,
        messagesPerSecond: 0,
        refusedPosts: refused,
        problems: [`${message.split("\n")[0]!.slice(0, 400)}`],
      };
      o.log(`[chaos] ${JSON.stringify(result)}`);
      return result;
    } finally {
      clearTimeout(progressTimer);
    }
    const drainMs = Date.now() - started;
    o.log(
      `[chaos] ${scenario} drained in ${(drainMs / 1000).toFixed(1)} s; CPU s per 1,000 messages: ${cpuPerThousand(cpuAtStart, cpuSeconds(procs), o.messages)}; failed attempts: ${formatFailures(attemptFailures)}; redis: ${await redisCommandStats(admin)}`,
    );

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
    clearTimeout(progressTimer);
    stopPosting = true;
    await killAll(procs);
    await Promise.allSettled(conns.map((c) => c.quit()));
    await db?.close().catch(() => undefined);
    await redisServer.destroy();
    await ferret.stop();
  }
}
