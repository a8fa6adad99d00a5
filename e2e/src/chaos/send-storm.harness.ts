/**
 * The chaos run's `send-storm` scenario: the outbound path as processes (the ingress serving the send
 * API and the status webhooks, N inbound workers applying the statuses, N outbound workers sending),
 * the Meta simulator in this process (it records every send it accepted, with our message id in
 * `biz_opaque_callback_data`), answering a share of the sends with transient errors (503 131016,
 * 429 130429, 503 131057), losing a few answers after accepting (the caller cannot know), and adding
 * latency so that calls are in flight. N first-contact sends to `candidates` candidates per tenant go
 * through the REST API (concurrent
 * callers, each with an Idempotency-Key and posted again on any non-202); once 30 % of them reached
 * Meta, one outbound worker is SIGKILLed (its calls in flight cut between Meta's acceptance and the
 * write that records it) and a new one started; the last 30 % of the sends are posted once the kill
 * has happened.
 *
 * Exact checks: every accepted send reached Meta exactly once, or, never accepted, failed after its
 * attempts all met transient errors (reported, the only dead letter that should be); every message
 * ends final in MongoDB (recorded sent with the wamid Meta gave it, or `failed` for those); no
 * message Meta accepted is failed; nothing left in the outbound queue, the webhook queue or the
 * ingress stream once every status webhook was posted; no webhook dead letter; no failed job but
 * those sends'. Reported, not failed: messages whose last status is not `read` (seen: 3 of 200 left
 * `delivered` with two inbound workers; the likely cause is FerretDB v1 losing one of two concurrent
 * updates of a document, `delivered` and `read` applied at once, which MongoDB does not).
 */
import { randomBytes } from "node:crypto";
import { request } from "undici";
import { Database } from "@linkojob/db";
import { syncTemplates } from "@linkojob/outbound";
import { MetaSimulator, messagingState, simTemplate } from "@linkojob/meta-simulator";
import { OUTBOUND_QUEUE, WEBHOOK_QUEUE, createRedis, ingressStreamKey, type RedisClient } from "@linkojob/queues";
import { FIRST_CONTACT_TEMPLATE } from "@linkojob/testing/fixtures";
import {
  TEST_SECRETS,
  describeOutput,
  freePort,
  killAll,
  startFerretDb,
  startNodeProcess,
  startRedisServer,
  tokenFor,
  waitForReady,
  type NodeProcess,
} from "@linkojob/testing/services";
import { TokenVault } from "@linkojob/vault";
import { GraphClient } from "@linkojob/whatsapp";
import { REPO_ROOT, WORKER_MAINS, queueCounts, startWorkerProcess } from "../stack/multi-process.harness.js";
import { INGRESS_MAIN, storesEnv, until, type ChaosOptions, type ScenarioResult } from "./chaos.harness.js";

/** Transient refusals of the storm: Meta's 503 service unavailable and maintenance, 429 throughput. */
export const STORM_CODES = [131016, 130429, 131057];
/** Settled: Meta accepted it (its wamid recorded) or it failed. */
const FINAL = ["sent", "delivered", "read", "failed"];

export async function runSendStorm(o: ChaosOptions): Promise<ScenarioResult> {
  const prefix = `storm${randomBytes(3).toString("hex")}`;
  const ferret = await startFerretDb(o.pgMaxConnections ? { pgMaxConnections: o.pgMaxConnections } : {});
  const redisServer = await startRedisServer({ appendonly: true });
  const mongoUrl = `${ferret.url}/chaos`;
  const procs: NodeProcess[] = [];
  const conns: RedisClient[] = [];
  let db: Database | null = null;
  let sim: MetaSimulator | null = null;
  let graph: GraphClient | null = null;
  const stores = storesEnv(mongoUrl, redisServer.url, prefix);
  try {
    db = await Database.connect(mongoUrl, { maxPoolSize: 4 });
    const port = await freePort();
    const ingressUrl = `http://127.0.0.1:${port}`;
    sim = await MetaSimulator.create({ appSecret: TEST_SECRETS.appSecret, webhookUrl: `${ingressUrl}/webhook` });
    await sim.listen();
    const state = messagingState(sim.state);
    // First contacts to many candidates: Meta's pair rule is not what this run is about.
    state.limits.pairBurst = 1_000;
    state.limits.pairIntervalMs = 1;
    const vault = new TokenVault([TEST_SECRETS.tokenKey]);
    graph = new GraphClient({ baseUrl: sim.url, version: "v21.0", connections: 4 });

    // Tenants: a connected client each, its number known to the simulator, its templates synced.
    const tenants: Array<{ id: string; jwt: string }> = [];
    for (let t = 0; t < o.tenants; t++) {
      const stamp = `${t}${Date.now() % 1_000_000}`;
      const token = `storm-token-${prefix}-${t}`;
      const c = await db.clients.create({
        userId: `storm-${prefix}-${t}`,
        companyName: `Storm ${t}`,
        phoneNumberId: `71${stamp}`,
        wabaId: `81${stamp}`,
        whatsappNumber: `2125228${String(t).padStart(5, "0")}`,
        status: "active",
        accessToken: vault.encrypt(token),
      });
      state.numbers.set(c.phoneNumberId, c.wabaId);
      state.templates.set(c.wabaId, [simTemplate({ ...FIRST_CONTACT_TEMPLATE, language: "fr" })]);
      await syncTemplates(graph, db.forTenant(c._id).templates, token);
      tenants.push({ id: c._id.toHexString(), jwt: await tokenFor(c.userId, "recruiter") });
    }

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
        META_GRAPH_URL: sim.url,
      },
    });
    procs.push(ingress);
    await waitForReady(ingress, `${ingressUrl}/ready`);
    const inboundEnv = {
      ...stores,
      TOKEN_ENCRYPTION_KEY: TEST_SECRETS.tokenKey,
      INBOUND_CONCURRENCY: String(o.concurrency),
      META_GRAPH_URL: sim.url,
    };
    for (let n = 1; n <= o.workers; n++)
      procs.push(await startWorkerProcess(`inbound-${n}`, WORKER_MAINS.inbound, inboundEnv));
    const outboundEnv = {
      ...stores,
      TOKEN_ENCRYPTION_KEY: TEST_SECRETS.tokenKey,
      META_GRAPH_URL: sim.url,
      OUTBOUND_CONCURRENCY: String(o.concurrency),
      OUTBOUND_RETRY_BASE_MS: "250",
      // An unanswered send (a lost answer, a killed worker) waits this long for a status webhook naming
      // it before it is sent again; production's default is 120 s.
      OUTBOUND_UNCERTAIN_GRACE_MS: String(o.uncertainGraceMs),
      OUTBOUND_SEND_TIMEOUT_MS: "5000",
      OUTBOUND_RECIPIENT_INTERVAL_MS: "100",
      OUTBOUND_RECIPIENT_BURST: "100",
      TEMPLATE_SYNC_INTERVAL_MS: "0",
    };
    const outbound: NodeProcess[] = [];
    let started = 0;
    const startOutbound = async () => {
      const w = await startWorkerProcess(`outbound-${++started}`, WORKER_MAINS.outbound, outboundEnv);
      procs.push(w);
      return w;
    };
    for (let n = 1; n <= o.workers; n++) outbound.push(await startOutbound());

    // The storm, once every process is up.
    state.faults.storm = { rate: o.stormRate, codes: STORM_CODES };
    state.faults.loseAnswerRate = o.loseAnswerRate;
    state.faults.latencyMs = 30;

    const admin = createRedis(redisServer.url);
    admin.on("error", () => undefined);
    conns.push(admin);
    const accepted: string[] = [];
    let refused = 0;
    let next = 0;
    let faultBegun!: () => void;
    const fault = new Promise<void>((resolve) => (faultBegun = resolve));
    const held = Math.floor(o.messages * 0.7);
    const t0 = Date.now();
    const posting = Promise.all(
      Array.from({ length: o.posters }, async () => {
        for (let i = next++; i < o.messages; i = next++) {
          if (i >= held) await fault;
          const tenant = tenants[i % tenants.length]!;
          for (;;) {
            const res = await request(`${ingressUrl}/api/messages/send`, {
              method: "POST",
              headers: {
                authorization: `Bearer ${tenant.jwt}`,
                "content-type": "application/json",
                "idempotency-key": `${prefix}-${i}`,
              },
              body: JSON.stringify({
                clientId: tenant.id,
                // `candidates` per tenant, each written to several times (FerretDB v1 finds a
                // conversation by scanning its tenant's: thousands of first contacts grow quadratic).
                candidatePhone: `2127${String(i % tenants.length).padStart(2, "0")}${String(Math.floor(i / tenants.length) % o.candidates).padStart(6, "0")}`,
                candidateName: `Candidat ${i % o.candidates}`,
                jobTitle: "Agent",
              }),
            }).then(
              async (r): Promise<{ status: number; body: { messageId?: string } }> => ({
                status: r.statusCode,
                body: (await r.body.json()) as { messageId?: string },
              }),
              () => ({ status: 0, body: { messageId: undefined } }),
            );
            if (res.status === 202 && res.body.messageId) {
              accepted.push(res.body.messageId);
              break;
            }
            refused++;
            await new Promise((r) => setTimeout(r, 250));
          }
        }
      }),
    );

    await until(
      () => Promise.resolve(state.accepted.length >= o.messages * 0.3),
      o.drainTimeoutMs,
      "30 % of the sends at Meta",
    );
    o.log(`[chaos] send-storm: outbound worker SIGKILLed at ${state.accepted.length} sends accepted by Meta`);
    setTimeout(faultBegun, 500);
    outbound[0]!.child.kill("SIGKILL");
    await outbound[0]!.exited;
    // The crash window: messages the killed worker left `sending` with no wamid recorded, and among
    // them those Meta had accepted (only a status webhook naming our id can now tell the retry so).
    const leftSending = await db.messages
      .find({ direction: "outbound", status: "sending", wamid: null }, { _id: 1 })
      .lean<Array<{ _id: { toHexString(): string } }>>();
    const acceptedIds = new Set(state.accepted.map((m) => m.bizOpaque));
    const unrecorded = leftSending.filter((m) => acceptedIds.has(m._id.toHexString())).length;
    outbound[0] = await startOutbound();
    await posting;

    const notFinal = () => db!.messages.countDocuments({ direction: "outbound", status: { $nin: FINAL } });
    await until(
      async () => {
        const [out, hooks, streamLen] = await Promise.all([
          queueCounts(admin, prefix, OUTBOUND_QUEUE),
          queueCounts(admin, prefix, WEBHOOK_QUEUE),
          admin.xlen(ingressStreamKey(prefix)),
        ]);
        const busy = (c: typeof out) => c.waiting + c.active + c.delayed + c.prioritized;
        // The simulator's status webhooks all posted, and applied. The count of unfinished messages
        // only once the queues are idle: on the stand-in it reads every outbound message, and asked
        // ten times a second it was most of the database's work of a 5,000-send run.
        if (busy(out) + busy(hooks) + streamLen + state.inFlight.size > 0) return false;
        return (await notFinal()) === 0;
      },
      o.drainTimeoutMs,
      "the drain",
    ).catch(async (err: Error) => {
      const out = await queueCounts(admin, prefix, OUTBOUND_QUEUE);
      const byStatus = await db!.messages.aggregate<{ _id: string; n: number }>([
        { $match: { direction: "outbound" } },
        { $group: { _id: "$status", n: { $sum: 1 } } },
      ]);
      throw new Error(
        `${err.message} (outbound queue ${JSON.stringify(out)}, messages ${JSON.stringify(byStatus)})\n${procs.map(describeOutput).join("\n")}`,
      );
    });
    const drainMs = Date.now() - t0;

    // The checks.
    const problems: string[] = [];
    const atMeta = new Map<string, number>();
    for (const m of state.accepted) if (m.bizOpaque) atMeta.set(m.bizOpaque, (atMeta.get(m.bizOpaque) ?? 0) + 1);
    const ids = new Set(accepted);
    if (ids.size !== o.messages) problems.push(`${ids.size} sends accepted by the API, ${o.messages} posted`);
    const twice = [...atMeta.values()].filter((n) => n > 1).length;
    if (twice) problems.push(`${twice} sends reached Meta more than once`);
    const strangers = [...atMeta.keys()].filter((id) => !ids.has(id)).length;
    if (strangers) problems.push(`${strangers} sends at Meta that the API never accepted`);
    const stored = await db.messages
      .find({ direction: "outbound" }, { _id: 1, status: 1, reasonCode: 1, wamid: 1 })
      .lean<
        Array<{ _id: { toHexString(): string }; status: string; reasonCode?: string | null; wamid?: string | null }>
      >();
    const wamidAtMeta = new Map(state.accepted.map((m) => [m.bizOpaque, m.wamid]));
    if (stored.length !== ids.size) problems.push(`${stored.length} messages stored, ${ids.size} accepted`);
    let gaveUp = 0;
    let lost = 0;
    let wrong = 0;
    let behind = 0;
    for (const m of stored) {
      const id = m._id.toHexString();
      const sends = atMeta.get(id) ?? 0;
      if (sends === 1 && m.status !== "failed" && m.wamid === wamidAtMeta.get(id)) {
        // Meta's sent, delivered and read statuses were all applied, unless the stand-in lost one.
        if (m.status !== "read") behind++;
        continue;
      }
      if (m.status === "failed" && sends === 0 && STORM_CODES.map(String).includes(m.reasonCode ?? "")) {
        gaveUp++;
        continue;
      }
      if (sends === 0) lost++;
      else wrong++;
    }
    if (lost) problems.push(`${lost} accepted sends never reached Meta and did not fail on Meta's errors`);
    if (wrong) problems.push(`${wrong} messages sent to Meta once but not recorded sent with Meta's wamid`);
    const outFailed = (await queueCounts(admin, prefix, OUTBOUND_QUEUE)).failed;
    if (outFailed !== gaveUp) problems.push(`${outFailed} failed send jobs, ${gaveUp} sends that gave up`);
    const hookFailed = (await queueCounts(admin, prefix, WEBHOOK_QUEUE)).failed;
    if (hookFailed) problems.push(`${hookFailed} failed webhook jobs`);
    const deadLetters = await db.webhookEvents.countDocuments({ kind: "dead_letter" });
    if (deadLetters) problems.push(`${deadLetters} dead letters`);
    const storm = state.rejected.filter((r) => r.cause === "storm").length;
    const lostAnswers = state.accepted.filter((m) => m.answerLost).length;
    o.log(
      `[chaos] send-storm: ${storm} sends refused by the storm, ${lostAnswers} answers lost, ${gaveUp} gave up after transient errors only; at the kill ${leftSending.length} left sending, ${unrecorded} of them accepted by Meta unrecorded`,
    );
    const result: ScenarioResult = {
      scenario: "send-storm",
      workers: o.workers,
      messages: o.messages,
      deliveries: o.messages + refused,
      drainMs,
      messagesPerSecond: Math.round((o.messages / drainMs) * 10_000) / 10,
      refusedPosts: refused,
      problems,
      detail: {
        stormRefusals: storm,
        lostAnswers,
        gaveUp,
        sendingAtKill: leftSending.length,
        acceptedUnrecordedAtKill: unrecorded,
        statusBehindRead: behind,
      },
    };
    o.log(`[chaos] ${JSON.stringify(result)}`);
    return result;
  } finally {
    await killAll(procs);
    await Promise.allSettled(conns.map((c) => c.quit()));
    await graph?.close();
    await sim?.close();
    await db?.close().catch(() => undefined);
    await redisServer.destroy();
    await ferret.stop();
  }
}
