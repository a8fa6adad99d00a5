/**
 * Campaign benchmark (a script, not a test): a campaign of `--recipients` first contacts (default
 * 10,000) against a portfolio messaging limit of `--limit` (default 2,000), end to end on real parts —
 * the ingress (buildApp, listening) over HTTP → Redis/BullMQ → the outbound worker → the Meta
 * simulator over HTTP, enforcing the portfolio's limit as Meta does (a send over it fails) — with
 * another tenant's replies beside it.
 *
 *   pnpm --filter @linkojob/e2e bench:campaign [--recipients 10000] [--limit 2000] [--opted-out 100]
 *        [--replies 40] [--reply-rate 4] [--concurrency 32] [--mps 80] [--statuses sent|all|off]
 *        [--expansion-slice 50] [--expansion-idle-ratio 2] [--give-way-ms 100]
 *
 * `--expansion-slice 500 --expansion-idle-ratio 0 --give-way-ms 0` is the expansion as it was before
 * it was paced (a chunk at once, no pause) and a campaign lane that never gives way to replies: the
 * "before" of the fairness figures. `--statuses`: Meta's status webhooks; `sent` (default) as Meta
 * always sends it, which the worker's rule for an unanswered send relies on.
 *
 * Printed, all from this one run:
 * - acceptance: how long POST /api/campaigns took to answer 202 for the whole campaign, and how long
 *   the outbound worker's expansion took after it (until GET shows `expansion.state: accepted`);
 * - the limit: distinct campaign recipients that reached the simulator (must be exactly `--limit`),
 *   sends the simulator failed for the limit (must be 0), sends to opted-out candidates (must be 0),
 *   and the scheduled rest: how many, and the earliest one's time after the first send went (must be
 *   at least 24 h);
 * - fairness: another tenant's replies (a text inside the window its candidates opened), `--replies`
 *   at `--reply-rate` per second, latency from the API call to the simulator, p50/p99 — first alone
 *   (the baseline), then while the campaign is accepted and sent — and their ratio; where the time
 *   went: the API's part (call → 202), the process's event-loop delay, Redis's PING latency and the
 *   Redis time per command meanwhile; the worker's warnings by message (an unanswered send shows).
 *
 * Redis and the MongoDB-protocol server are REDIS_URL / MONGODB_URI when set, else a redis-server and
 * a FerretDB of the bench's own. Everything listens on 127.0.0.1.
 */
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import pino from "pino";
import { request } from "undici";
import { Types } from "mongoose";
import { signJwt } from "@linkojob/auth";
import { Database } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { createRedis, outboundJobId } from "@linkojob/queues";
import { TokenVault } from "@linkojob/vault";
import { GraphClient } from "@linkojob/whatsapp";
import { DEFAULT_EXPANSION_PACING, campaignMessageId } from "@linkojob/outbound";
import {
  MetaSimulator,
  messagingState,
  portfolioState,
  simTemplate,
  textMessageDelivery,
} from "@linkojob/meta-simulator";
// The services entry point: @linkojob/testing's index also loads vitest helpers, which throw outside Vitest.
import { startFerretDb, startRedisServer } from "@linkojob/testing/services";
import { buildApp } from "@linkojob/ingress";
import { InboundWorker } from "@linkojob/inbound-worker";
import { OutboundWorker } from "@linkojob/outbound-worker";

const { values: args } = parseArgs({
  options: {
    recipients: { type: "string", default: "10000" },
    limit: { type: "string", default: "2000" },
    "opted-out": { type: "string", default: "100" },
    replies: { type: "string", default: "40" },
    "reply-rate": { type: "string", default: "4" },
    concurrency: { type: "string", default: "32" },
    mps: { type: "string", default: "80" },
    "expansion-slice": { type: "string", default: String(DEFAULT_EXPANSION_PACING.sliceSize) },
    "expansion-idle-ratio": { type: "string", default: String(DEFAULT_EXPANSION_PACING.idleRatio) },
    statuses: { type: "string", default: "sent" },
    "give-way-ms": { type: "string", default: "100" },
  },
});
const recipients = Math.min(10_000, Math.max(1, Number(args.recipients)));
const limit = Math.max(1, Number(args.limit));
const optedOut = Math.min(recipients, Math.max(0, Number(args["opted-out"])));
const replies = Math.max(1, Number(args.replies));
const replyRate = Math.max(0.1, Number(args["reply-rate"]));
const concurrency = Math.max(1, Number(args.concurrency));
const mps = Math.max(1, Number(args.mps));
const expansionPacing = {
  sliceSize: Math.max(1, Number(args["expansion-slice"])),
  idleRatio: Math.max(0, Number(args["expansion-idle-ratio"])),
};
/** Meta's status webhooks: `sent` only (the ambiguous-send rule relies on it), `all` (delivered and read too), or `off`. */
const statuses = String(args.statuses);
const campaignGiveWayMs = Math.max(0, Number(args["give-way-ms"]));
const DAY = 86_400_000;

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jwtSecret = randomBytes(24).toString("hex");
const appSecret = randomBytes(16).toString("hex");
const prefix = `bench-camp-${randomBytes(3).toString("hex")}`;

const ownMongo = process.env.MONGODB_URI ? null : await startFerretDb({ pgMaxConnections: 50 });
const ownRedis = process.env.REDIS_URL ? null : await startRedisServer();
const mongoUrl = process.env.MONGODB_URI ?? `${ownMongo!.url}/bench_campaign`;
const redisUrl = process.env.REDIS_URL ?? ownRedis!.url;
// Warnings counted by message (no record printed: a message names no candidate), e.g. a send that got
// no answer and waited for its status webhook before any resend.
const warnings: Record<string, number> = {};
const logger = pino(
  { level: "warn" },
  {
    write: (line: string) => {
      const msg = (JSON.parse(line) as { msg?: string }).msg ?? "";
      warnings[msg] = (warnings[msg] ?? 0) + 1;
    },
  },
);
const vault = new TokenVault([randomBytes(32).toString("hex")]);
const db = await Database.connect(mongoUrl, { maxPoolSize: 15 });
const apiDb = await Database.connect(mongoUrl, { maxPoolSize: 15 });
const inboundDb = await Database.connect(mongoUrl, { maxPoolSize: 15 });
const conns = [
  createRedis(redisUrl, { failFast: true }),
  createRedis(redisUrl),
  createRedis(redisUrl),
  createRedis(redisUrl, { autoPipelining: false }),
  createRedis(redisUrl),
  createRedis(redisUrl, { autoPipelining: false }),
  createRedis(redisUrl, { autoPipelining: false }),
  createRedis(redisUrl),
];
const probeRedis = createRedis(redisUrl, { autoPipelining: false });
/** Redis's `INFO commandstats`: microseconds spent per command. */
const commandStats = (info: string) =>
  new Map(
    [...info.matchAll(/^cmdstat_([^:]+):calls=\d+,usec=(\d+)/gm)].map((m): [string, number] => [m[1]!, Number(m[2])]),
  );
const [ingressRedis, queueRedis, cmdRedis, subRedis, eventsRedis, pumpRedis, sub2Redis, inQueueRedis] = conns as [
  (typeof conns)[0],
  (typeof conns)[0],
  (typeof conns)[0],
  (typeof conns)[0],
  (typeof conns)[0],
  (typeof conns)[0],
  (typeof conns)[0],
  (typeof conns)[0],
];

const app = await buildApp({
  config: { appSecret, verifyToken: "bench-verify-token", jwtSecret, queuePrefix: prefix },
  redis: ingressRedis,
  db: apiDb,
  events: new DashboardEvents(eventsRedis),
});
const ingressUrl = await app.listen({ port: 0, host: "127.0.0.1" });
const sim = await MetaSimulator.create({ appSecret, webhookUrl: `${ingressUrl}/webhook` });
await sim.listen();
const simState = messagingState(sim.state);
// Meta's `sent` status follows every accepted send: the worker's rule for a send whose answer was lost relies on it.
Object.assign(simState.statusFlow, {
  enabled: statuses !== "off",
  delivered: statuses === "all",
  read: statuses === "all",
});
simState.limits.defaultMps = mps;
const graph = new GraphClient({ baseUrl: sim.url, version: "v26.0", connections: Math.max(16, concurrency) });
const worker = new OutboundWorker({
  db,
  queueRedis,
  redis: cmdRedis,
  subscriberRedis: subRedis,
  graph,
  vault,
  events: new DashboardEvents(eventsRedis),
  logger,
  prefix,
  concurrency,
  templateSyncIntervalMs: 0,
  expansionPacing,
  campaignGiveWayMs,
});
// The inbound worker stores the other tenant's candidates' messages: their windows open for the replies.
const inbound = new InboundWorker({
  db: inboundDb,
  queueRedis: inQueueRedis,
  pumpRedis,
  subscriberRedis: sub2Redis,
  events: new DashboardEvents(eventsRedis),
  logger,
  prefix,
  concurrency: 8,
  onStatus: worker.statusHook,
  upkeep: false,
});

async function tenant(i: number) {
  const wabaId = `bcw${i}`;
  const c = await db.clients.create({
    userId: `bench-camp-user-${i}`,
    companyName: `Bench ${i}`,
    phoneNumberId: `8${String(i).padStart(6, "0")}`,
    wabaId,
    whatsappNumber: `2125300${String(i).padStart(5, "0")}`,
    status: "active",
    throughputMps: mps,
    accessToken: vault.encrypt(`bench-token-${i}`),
  });
  simState.numbers.set(c.phoneNumberId, wabaId);
  simState.templates.set(wabaId, [
    simTemplate({ name: "application_received", language: "fr", body: "Bonjour {{1}}, candidature {{2}} reçue." }),
  ]);
  await worker.syncTemplates(c._id.toHexString());
  return {
    id: c._id.toHexString(),
    wabaId,
    phoneNumberId: c.phoneNumberId,
    jwt: await signJwt(jwtSecret, { sub: String(c.userId), role: "recruiter" }, "2h"),
  };
}

await worker.start();
await inbound.start();
const recruiter = await tenant(0);
const other = await tenant(1);
// The portfolio's limit, known to the gateway (as the business_capability_update webhook sets it) and
// enforced by the simulator as Meta does.
await worker.gate.state.setLimit(recruiter.wabaId, limit, "business_capability_update");
const portfolio = portfolioState(sim.state);
portfolio.limits.set(recruiter.wabaId, limit);
portfolio.enforce = true;

const post = async (path: string, jwt: string, body: unknown) => {
  const res = await request(`${ingressUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
};

const phones = Array.from({ length: recipients }, (_, i) => `2126${String(10_000_000 + i)}`);
const stopped = new Set(
  phones.filter((_, i) => i % Math.max(1, Math.floor(recipients / Math.max(1, optedOut))) === 0).slice(0, optedOut),
);
console.error(`[bench] services up; ${stopped.size} candidates opt out`);
for (const p of stopped) {
  const r = await post(`/api/clients/${recruiter.id}/opt-outs`, recruiter.jwt, { candidatePhone: p, scope: "all" });
  if (r.status >= 300) throw new Error(`opt-out refused: ${JSON.stringify(r.body)}`);
}

// The other tenant's candidates write first (two sets: one for the baseline, one beside the campaign).
const writers = Array.from({ length: 2 * replies }, (_, i) => `2127${String(20_000_000 + i)}`);
for (const w of writers) {
  const res = await sim.deliver(
    textMessageDelivery(
      { wabaId: other.wabaId, phoneNumberId: other.phoneNumberId },
      { waId: w, name: "C" },
      "Bonjour",
    ),
  );
  if (res.status !== 200) throw new Error(`ingress answered ${res.status}`);
}
for (;;) {
  const n = await db.conversations.countDocuments({
    clientId: new Types.ObjectId(other.id),
    windowExpiresAt: { $gt: new Date() },
  });
  if (n >= writers.length) break;
  await sleep(200);
}
console.error("[bench] the other tenant's candidates wrote; measuring the replies alone");

/**
 * `replies` replies at `replyRate`/s to these candidates: latency API call → accepted at the simulator
 * (sorted), the API's own part (call → 202), and the process's event-loop delay meanwhile (ms).
 */
async function replyRun(to: string[]): Promise<{
  total: number[];
  api: number[];
  loopP50: number;
  loopP99: number;
  redisPing: number[];
  redisTop: Array<[string, number]>;
}> {
  const started = new Map<string, number>();
  const api: number[] = [];
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  // Redis's own latency meanwhile (a PING on a connection of its own, every 50 ms), and which commands took its time.
  const redisPing: number[] = [];
  let probing = true;
  const probe = (async () => {
    while (probing) {
      const t = performance.now();
      await probeRedis.ping();
      redisPing.push(performance.now() - t);
      await sleep(50);
    }
  })();
  const statsBefore = commandStats(await probeRedis.info("commandstats"));
  await Promise.all(
    to.map(async (phone, i) => {
      await sleep((i * 1000) / replyRate);
      const t = Date.now();
      const r = await post("/api/messages/send", other.jwt, {
        clientId: other.id,
        candidatePhone: phone,
        message: "Oui, passez demain.",
      });
      if (r.status !== 202 || r.body.kind !== "text")
        throw new Error(`reply answered ${r.status} ${JSON.stringify(r.body)}`);
      api.push(Date.now() - t);
      started.set(String(r.body.messageId), t);
    }),
  );
  for (;;) {
    const done = simState.accepted.filter((m) => m.bizOpaque && started.has(m.bizOpaque));
    if (done.length >= to.length) {
      loop.disable();
      probing = false;
      await probe;
      const statsAfter = commandStats(await probeRedis.info("commandstats"));
      const redisTop = [...statsAfter]
        .map(([cmd, usec]): [string, number] => [cmd, Math.round((usec - (statsBefore.get(cmd) ?? 0)) / 1000)])
        .sort((a, b) => b[1] - a[1])
        .slice(0, 6);
      return {
        total: done.map((m) => m.at - started.get(m.bizOpaque!)!).sort((a, b) => a - b),
        api: api.sort((a, b) => a - b),
        loopP50: +(loop.percentile(50) / 1e6).toFixed(1),
        loopP99: +(loop.percentile(99) / 1e6).toFixed(1),
        redisPing: redisPing.sort((a, b) => a - b),
        redisTop,
      };
    }
    await sleep(100);
  }
}

const aloneRun = await replyRun(writers.slice(0, replies));
const alone = aloneRun.total;
console.error(`[bench] replies alone p50 ${pct(alone, 50)} ms; starting the campaign`);

const body = {
  clientId: recruiter.id,
  templateName: "application_received",
  language: "fr",
  recipients: phones.map((p, i) => ({ candidatePhone: p, templateVars: [`Cand ${i}`, "Agent"] })),
  idempotencyKey: `bench-${prefix}`,
};
const a0 = performance.now();
const accepting = post("/api/campaigns", recruiter.jwt, body);
const besideRun = replyRun(writers.slice(replies));
const accepted = await accepting;
const acceptMs = performance.now() - a0;
if (accepted.status !== 202) throw new Error(`campaign answered ${accepted.status}: ${JSON.stringify(accepted.body)}`);
const campaignId = new Types.ObjectId(String(accepted.body.campaignId));
console.error(`[bench] campaign accepted in ${acceptMs.toFixed(0)} ms`);
// The expansion (the outbound worker deciding and queuing every recipient), timed from the request.
const expanding = (async () => {
  for (;;) {
    const view = (await request(`${ingressUrl}/api/campaigns/${campaignId.toHexString()}`, {
      headers: { authorization: `Bearer ${recruiter.jwt}` },
    }).then((r) => r.body.json())) as { expansion?: { state: string }; status: string };
    if (view.expansion?.state === "accepted" || (!view.expansion && view.status === "running"))
      return performance.now() - a0;
    await sleep(100);
  }
})();
const besideResult = await besideRun;
const beside = besideResult.total;
const expandedMs = await expanding;
console.error(`[bench] campaign expanded ${expandedMs.toFixed(0)} ms after the request`);

const ids = new Set(phones.map((_, i) => campaignMessageId(campaignId, i).toHexString()));
const campaignSends = () => simState.accepted.filter((m) => m.bizOpaque && ids.has(m.bizOpaque));
const planned = recipients - stopped.size;
const goNow = Math.min(limit, planned);
const deadline = Date.now() + 20 * 60_000;
let last = -1;
let lastChange = Date.now();
// Until the sends that may go now have gone, and 5 s more without a new one.
for (;;) {
  const n = campaignSends().length;
  if (n !== last) {
    last = n;
    lastChange = Date.now();
  }
  if ((n >= goNow && Date.now() - lastChange > 5_000) || Date.now() > deadline) break;
  if (Date.now() % 10_000 < 110) console.error(`[bench] ${n} campaign sends at the simulator`);
  await sleep(100);
}
const sends = campaignSends();
const firstAt = Math.min(...sends.map((m) => m.at));
const distinct = new Set(sends.map((m) => m.to)).size;
const toStopped = simState.accepted.filter((m) => stopped.has(m.to)).length;
// The rest: each one's job, delayed until its slot in the portfolio's moving 24 hours.
let scheduled = 0;
let earliestDue = Number.POSITIVE_INFINITY;
const sentIds = new Set(sends.map((m) => m.bizOpaque));
const counts = (await request(`${ingressUrl}/api/campaigns/${campaignId.toHexString()}`, {
  headers: { authorization: `Bearer ${recruiter.jwt}` },
}).then((r) => r.body.json())) as { counts: Record<string, number> };
for (const id of ids) {
  if (sentIds.has(id)) continue;
  const job = await worker.campaignQueue.getJob(outboundJobId(id));
  if (!job || (await job.getState()) !== "delayed") continue;
  scheduled++;
  earliestDue = Math.min(earliestDue, job.timestamp + (job.opts.delay ?? 0));
}

const result = {
  machine: { cpus: cpus().length, loadavg: loadavg().map((l) => l.toFixed(2)) },
  setup: {
    recipients,
    portfolioLimit: limit,
    optedOut: stopped.size,
    workerConcurrency: concurrency,
    mpsPerNumber: mps,
    expansionPacing,
    campaignGiveWayMs,
    statusWebhooks: statuses,
    replies,
    replyRatePerSec: replyRate,
    mongo: ownMongo ? `FerretDB (${ownMongo.backend}) of the bench` : "MONGODB_URI",
  },
  acceptance: { ms: +acceptMs.toFixed(0), under2s: acceptMs < 2_000, expandedAfterMs: +expandedMs.toFixed(0) },
  limit: {
    distinctFirstContactsAtSimulator: distinct,
    sendsAtSimulator: sends.length,
    exactlyTheLimit: distinct === goNow && sends.length === goNow,
    failedOverLimitBySimulator: portfolio.overLimit.length,
    sentToOptedOut: toStopped,
    scheduled,
    expectedScheduled: planned - goNow,
    earliestScheduledAfterFirstSendHours: +((earliestDue - firstAt) / 3_600_000).toFixed(4),
    scheduledNoEarlierThan24h: earliestDue - firstAt >= DAY,
    counts: counts.counts,
  },
  otherTenantReplies: {
    aloneP50Ms: pct(alone, 50),
    aloneP99Ms: pct(alone, 99),
    besideCampaignP50Ms: pct(beside, 50),
    besideCampaignP99Ms: pct(beside, 99),
    ratioP50: +(pct(beside, 50) / pct(alone, 50)).toFixed(2),
    ratioP99: +(pct(beside, 99) / pct(alone, 99)).toFixed(2),
    // Where the time went: the API's answer (call → 202) and the process's event-loop delay, per phase.
    apiP50Ms: { alone: pct(aloneRun.api, 50), beside: pct(besideResult.api, 50) },
    apiP99Ms: { alone: pct(aloneRun.api, 99), beside: pct(besideResult.api, 99) },
    eventLoopDelayP50Ms: { alone: aloneRun.loopP50, beside: besideResult.loopP50 },
    eventLoopDelayP99Ms: { alone: aloneRun.loopP99, beside: besideResult.loopP99 },
    redisPingP50Ms: {
      alone: +pct(aloneRun.redisPing, 50).toFixed(1),
      beside: +pct(besideResult.redisPing, 50).toFixed(1),
    },
    redisPingP99Ms: {
      alone: +pct(aloneRun.redisPing, 99).toFixed(1),
      beside: +pct(besideResult.redisPing, 99).toFixed(1),
    },
    redisMsByCommandBeside: Object.fromEntries(besideResult.redisTop),
  },
};
console.log(JSON.stringify({ ...result, workerWarnings: warnings }, null, 2));

await inbound.close();
await worker.close();
await app.close();
await sim.close();
await graph.close();
await db.connection.dropDatabase().catch(() => undefined);
await db.close();
await apiDb.close();
await inboundDb.close();
await Promise.allSettled([...conns, probeRedis].map((c) => c.quit()));
await ownMongo?.stop();
await ownRedis?.destroy();
