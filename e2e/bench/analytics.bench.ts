/**
 * pnpm --filter @linkojob/e2e bench:analytics [--messages 1000000] [--tenants 50] [--calls 100] [--skip-seed]
 *
 * Seeds N stored messages across T tenants (first-contact templates with statuses and Meta's pricing,
 * replies, recruiters' answers, opt-outs, failures: @linkojob/testing's analyticsSeed) with bulk
 * inserts on a FerretDB of its own over PostgreSQL (or MONGODB_URI), counts them with the analytics
 * rebuild (cli:rebuild-analytics's code path), then calls each analytics endpoint of the ingress
 * (app.inject, a recruiter's JWT, a 90-day period, tenants in turn) and reports p50 / p99 and
 * MongoDB requests per call (the driver's command monitoring), next to a baseline measured in the
 * same run: a plain find of one message by _id. Also the live projector's requests per message.
 * `--skip-seed` with MONGODB_URI reuses a database seeded before (its counters included).
 */
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { Types } from "mongoose";
import { Database } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { buildApp } from "@linkojob/ingress";
import { createRedis } from "@linkojob/queues";
import { analyticsSeed } from "@linkojob/testing/analytics-seed";
import {
  CommandCounter,
  startFerretDb,
  startRedisServer,
  testIngressConfig,
  tokenFor,
} from "@linkojob/testing/services";

const { values: args } = parseArgs({
  options: {
    messages: { type: "string", default: "1000000" },
    tenants: { type: "string", default: "50" },
    calls: { type: "string", default: "100" },
    "skip-seed": { type: "boolean", default: false },
  },
});
const target = Math.max(1_000, Number(args.messages));
const tenantCount = Math.max(1, Number(args.tenants));
const calls = Math.max(10, Number(args.calls));
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const ms = (n: number) => Math.round(n * 10) / 10;
const log = (line: string) => console.log(`[bench:analytics] ${line}`);

const ownMongo = process.env.MONGODB_URI ? null : await startFerretDb();
const ownRedis = process.env.REDIS_URL ? null : await startRedisServer();
const mongoUrl = process.env.MONGODB_URI ?? `${ownMongo!.url}/bench_analytics`;
const redisUrl = process.env.REDIS_URL ?? ownRedis!.url;
log(
  `database ${ownMongo ? `FerretDB (${ownMongo.backend})` : "MONGODB_URI"}; ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)}`,
);
const db = await Database.connect(mongoUrl, { maxPoolSize: 4 });

// --- Seed -------------------------------------------------------------------------------------
interface Tenant {
  clientId: Types.ObjectId;
  userId: string;
}
const tenants: Tenant[] = [];
if (args["skip-seed"]) {
  for (const c of await db.clients.find({ userId: /^bench-analytics-/ }, { _id: 1, userId: 1 }).lean())
    tenants.push({ clientId: c._id, userId: String(c.userId) });
  log(`reusing ${tenants.length} tenants, ${await db.messages.estimatedDocumentCount()} messages`);
} else {
  const perTenant = Math.ceil(target / tenantCount);
  const started = performance.now();
  let inserted = 0;
  for (let t = 0; t < tenantCount; t++) {
    const userId = `bench-analytics-${t}`;
    const client = await db.clients.create({
      userId,
      companyName: t % 2 ? `Atlas ${t}` : `شركة ${t}`,
      phoneNumberId: `7${String(t).padStart(5, "0")}${randomBytes(2).toString("hex")}`,
      wabaId: `bench-waba-${t}`,
      whatsappNumber: "212520000000",
      status: "active",
    });
    tenants.push({ clientId: client._id, userId });
    let mine = 0;
    let offset = 0;
    for (let chunk = 0; mine < perTenant; chunk++) {
      const conversations = Math.min(1_000, Math.ceil((perTenant - mine) / 2.5));
      const seed = analyticsSeed({
        clientId: client._id,
        conversations,
        offset,
        start: new Date("2026-08-01T00:00:00Z"),
        days: 120,
        seed: t * 10_000 + chunk + 1,
      });
      const messages = seed.messages.slice(0, perTenant - mine);
      const kept = new Set(messages.map((m) => String(m.conversationId)));
      await db.conversations.collection.insertMany(
        seed.conversations.filter((c) => kept.has(String(c._id))),
        { ordered: false },
      );
      for (let i = 0; i < messages.length; i += 1_000)
        await db.messages.collection.insertMany(messages.slice(i, i + 1_000), { ordered: false });
      mine += messages.length;
      offset += conversations;
    }
    inserted += mine;
    if (t % 5 === 4 || t === tenantCount - 1)
      log(
        `seeded ${inserted} messages (${tenants.length} tenants), ${Math.round(inserted / ((performance.now() - started) / 1000))} messages/s`,
      );
  }
  const seedSeconds = (performance.now() - started) / 1000;
  log(
    `seed: ${inserted} messages in ${seedSeconds.toFixed(0)} s (${Math.round(inserted / seedSeconds)}/s, bulk inserts of 1,000)`,
  );

  // Counters: the rebuild (the backfill's code path), tenant by tenant.
  const rebuildStart = performance.now();
  let events = 0;
  let docs = 0;
  for (const t of tenants) {
    const r = await db.analytics().rebuild(t.clientId);
    events += r.events;
    docs += r.documents;
  }
  const rebuildSeconds = (performance.now() - rebuildStart) / 1000;
  log(
    `rebuild: ${events} events into ${docs} counter documents in ${rebuildSeconds.toFixed(0)} s (${Math.round(inserted / rebuildSeconds)} messages/s)`,
  );
}

// --- Calls ------------------------------------------------------------------------------------
const apiDb = await Database.connect(mongoUrl, { monitorCommands: true, maxPoolSize: 4 });
const counter = new CommandCounter(apiDb.connection);
const redis = createRedis(redisUrl, { failFast: true });
const eventsRedis = createRedis(redisUrl);
const app = await buildApp({
  config: testIngressConfig(`bench-analytics-${randomBytes(3).toString("hex")}`),
  redis,
  db: apiDb,
  events: new DashboardEvents(eventsRedis),
});
await app.ready();
const jwts = await Promise.all(tenants.map((t) => tokenFor(t.userId, "recruiter")));
const period = "from=2026-09-01&to=2026-11-29";

async function measure(name: string, call: (i: number) => Promise<void>) {
  for (let i = 0; i < 5; i++) await call(i); // warm-up
  counter.reset();
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await call(i);
    times.push(performance.now() - t0);
  }
  const requests = counter.total / calls;
  times.sort((a, b) => a - b);
  return { name, p50: pct(times, 50), p99: pct(times, 99), requests };
}

const someIds = (
  await apiDb.messages.collection
    .find({}, { projection: { _id: 1 } })
    .limit(calls + 5)
    .toArray()
).map((m) => m._id);
const results = [
  await measure("baseline: messages.findOne by _id", async (i) => {
    await apiDb.messages.collection.findOne({ _id: someIds[i % someIds.length] });
  }),
];
for (const route of ["templates", "costs", "reply-hours", "response-times", "summary"]) {
  results.push(
    await measure(`GET /api/analytics/${route}`, async (i) => {
      const res = await app.inject({
        method: "GET",
        url: `/api/analytics/${route}?${period}`,
        headers: { authorization: `Bearer ${jwts[i % jwts.length]}` },
      });
      if (res.statusCode !== 200) throw new Error(`${route}: ${res.statusCode} ${res.body}`);
    }),
  );
}
results.push(
  await measure("GET /api/analytics/costs (text/csv)", async (i) => {
    const res = await app.inject({
      method: "GET",
      url: `/api/analytics/costs?${period}`,
      headers: { authorization: `Bearer ${jwts[i % jwts.length]}`, accept: "text/csv" },
    });
    if (res.statusCode !== 200) throw new Error(`csv: ${res.statusCode}`);
  }),
);
const base = results[0]!;
console.log("\n| call | p50 ms | p99 ms | p50 / baseline | p99 / baseline | MongoDB requests per call |");
console.log("|---|---|---|---|---|---|");
for (const r of results)
  console.log(
    `| ${r.name} | ${ms(r.p50)} | ${ms(r.p99)} | ${(r.p50 / base.p50).toFixed(1)} | ${(r.p99 / base.p99).toFixed(1)} | ${r.requests.toFixed(2)} |`,
  );

// The live projector: MongoDB requests per message for a batch of 200 stored messages, counted the
// first time (the tenant's counters emptied first), then again (a redelivered batch: every event a no-op).
const projDb = await Database.connect(mongoUrl, { monitorCommands: true, maxPoolSize: 4 });
const projCounter = new CommandCounter(projDb.connection);
const live = projDb.analytics();
const sample = await projDb.messages.collection
  .find({ clientId: tenants[0]!.clientId }, { projection: { _id: 1, clientId: 1 } })
  .limit(200)
  .toArray();
const refs = sample.map((m) => ({ clientId: m.clientId as Types.ObjectId, messageId: m._id }));
await projDb.analyticsCounters.collection.deleteMany({ clientId: tenants[0]!.clientId });
for (const pass of ["first time", "again (no-ops)"]) {
  projCounter.reset();
  const tp = performance.now();
  const added = await live.project(refs);
  console.log(
    `live projector, ${refs.length} stored messages counted ${pass}: ${added} events, ${(projCounter.total / refs.length).toFixed(2)} MongoDB requests per message, ${ms(performance.now() - tp)} ms for the batch; ${JSON.stringify(projCounter.byCommand())}`,
  );
}
console.log(`load average at the end ${loadavg()[0]!.toFixed(1)} (${cpus().length} cores)`);

await app.close();
redis.disconnect();
eventsRedis.disconnect();
await projDb.close();
await apiDb.close();
if (ownMongo) await db.connection.dropDatabase().catch(() => undefined);
await db.close();
await ownMongo?.stop();
await ownRedis?.destroy();
