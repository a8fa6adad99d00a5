/**
 * Flows data-exchange benchmark (a script, not a test): what an `INIT` costs at the ingress's
 * `POST /flows/data-exchange/:phoneNumberId` next to a `ping` of the same run (same signature check,
 * RSA-OAEP and AES-GCM work, same client and key reads; `INIT` adds the flow-token lookup among the
 * tenant's messages and the interview slots' read), as the tenant's stored messages grow.
 *
 *   pnpm --filter @linkojob/e2e bench:flow-exchange [--messages 1000,20000] [--requests 200]
 *
 * For each tenant size: the messages are inserted (one in fifty a flow message with its token), then
 * `--requests` pings and as many INITs go one at a time, interleaved, through the simulator's flow
 * client (encrypt, sign, POST, decrypt); p50 / p99 of each and the INIT/ping ratio are printed.
 * Redis and the MongoDB-protocol server are REDIS_URL / MONGODB_URI when set, else a redis-server and
 * a FerretDB of the bench's own. Everything listens on 127.0.0.1.
 */
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { Types } from "mongoose";
import { signJwt } from "@linkojob/auth";
import { Database } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { MetaSimulator, callFlowEndpoint } from "@linkojob/meta-simulator";
import { createRedis } from "@linkojob/queues";
import { startFerretDb, startRedisServer } from "@linkojob/testing/services";
import { TokenVault } from "@linkojob/vault";
import { GraphClient } from "@linkojob/whatsapp";
import { buildApp } from "@linkojob/ingress";

const { values: args } = parseArgs({
  options: {
    messages: { type: "string", default: "1000,20000" },
    requests: { type: "string", default: "200" },
  },
});
const sizes = args.messages.split(",").map((n) => Math.min(500_000, Math.max(0, Number(n))));
const requests = Math.min(2_000, Math.max(10, Number(args.requests)));

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const jwtSecret = randomBytes(24).toString("hex");
const appSecret = randomBytes(16).toString("hex");
const tokenKey = randomBytes(32).toString("hex");
const prefix = `bench-flows-${randomBytes(3).toString("hex")}`;

const ownMongo = process.env.MONGODB_URI ? null : await startFerretDb();
const ownRedis = process.env.REDIS_URL ? null : await startRedisServer();
const mongoUrl = process.env.MONGODB_URI ?? `${ownMongo!.url}/bench_flow_exchange`;
const redisUrl = process.env.REDIS_URL ?? ownRedis!.url;
const db = await Database.connect(mongoUrl, { maxPoolSize: 4 });
const redis = createRedis(redisUrl, { failFast: true });
const eventsRedis = createRedis(redisUrl);

const sim = await MetaSimulator.create({ appSecret });
await sim.listen();
const graph = new GraphClient({ baseUrl: sim.url, version: "v26.0" });
const vault = new TokenVault([tokenKey]);
const app = await buildApp({
  config: { appSecret, verifyToken: "bench-verify", jwtSecret, queuePrefix: prefix },
  redis,
  db,
  events: new DashboardEvents(eventsRedis),
  onboarding: {
    config: {
      appId: "bench-app",
      appSecret,
      apiVersion: "v26.0",
      baseUrl: "https://gateway.bench",
      dashboardUrl: "https://gateway.bench/",
      dialogUrl: sim.url,
      stateSecret: jwtSecret,
      keyPrefix: prefix,
      checkIntervalSeconds: 0,
    },
    graph,
    vault,
  },
});
const ingressUrl = await app.listen({ port: 0, host: "127.0.0.1" });

const client = await db.clients.create({
  userId: "bench-user",
  companyName: "Bench",
  phoneNumberId: "900100",
  wabaId: "bench-waba",
  whatsappNumber: "212520000000",
  status: "active",
  accessToken: vault.encrypt("bench-token"),
});
const clientId = client._id.toHexString();
const jwt = await signJwt(jwtSecret, { sub: "bench-user", role: "recruiter" }, "1h");
const api = async (method: "POST" | "PUT", path: string, body?: unknown) => {
  const res = await app.inject({
    method,
    url: path,
    headers: { authorization: `Bearer ${jwt}` },
    ...(body ? { payload: body } : {}),
  });
  if (res.statusCode >= 300) throw new Error(`${path}: ${res.statusCode} ${res.body}`);
};
await api("POST", `/api/clients/${clientId}/flows/keys`);
await api("PUT", `/api/clients/${clientId}/flows/interview-slots`, {
  slots: Array.from({ length: 10 }, (_, i) => ({
    id: `slot-${i}`,
    title: `Créneau ${i + 1}`,
    startsAt: new Date(Date.now() + (i + 1) * 3_600_000).toISOString(),
  })),
});

const endpointUrl = `${ingressUrl}/flows/data-exchange/${client.phoneNumberId}`;
const call = async (payload: Parameters<typeof callFlowEndpoint>[1]["payload"]) => {
  const t0 = performance.now();
  const res = await callFlowEndpoint(sim, { endpointUrl, phoneNumberId: client.phoneNumberId, payload });
  if (res.status !== 200) throw new Error(`${payload.action}: ${res.status} ${res.text}`);
  return performance.now() - t0;
};

let inserted = 0;
let lastToken = "";
console.log(
  `flow data exchange, ${requests} requests of each kind per size (load average ${loadavg()[0]!.toFixed(1)})`,
);
console.log("messages | ping p50 / p99 ms | INIT p50 / p99 ms | INIT/ping p50 | INIT/ping p99");
for (const size of sizes) {
  while (inserted < size) {
    const batch = Array.from({ length: Math.min(1_000, size - inserted) }, () => {
      const n = inserted++;
      const flow = n % 50 === 0;
      const token = `lj1.1234567.INIT.bench${n}`;
      if (flow) lastToken = token;
      return {
        clientId: client._id,
        conversationId: new Types.ObjectId(),
        dedupeKey: `out:${new Types.ObjectId().toHexString()}`,
        direction: "outbound",
        type: flow ? "interactive" : "text",
        text: flow ? null : "Bonjour, votre candidature est bien reçue.",
        timestamp: new Date(),
        receivedAt: new Date(),
        status: "delivered",
        statusRank: 4,
        // As the outbound messages' create stores a flow message: its token also top-level.
        ...(flow ? { flowToken: token } : {}),
        request: flow
          ? { interactive: { type: "flow", flowToken: token, action: "data_exchange" } }
          : { message: "Bonjour" },
      };
    });
    await db.messages.collection.insertMany(batch, { ordered: false });
  }
  // Warm-up (key parse, connections), then interleaved.
  for (let i = 0; i < 10; i++) {
    await call({ action: "ping" });
    await call({ action: "INIT", flow_token: lastToken });
  }
  const ping: number[] = [];
  const init: number[] = [];
  for (let i = 0; i < requests; i++) {
    ping.push(await call({ action: "ping" }));
    init.push(await call({ action: "INIT", flow_token: lastToken }));
  }
  ping.sort((a, b) => a - b);
  init.sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(2);
  console.log(
    `${size} | ${f(pct(ping, 50))} / ${f(pct(ping, 99))} | ${f(pct(init, 50))} / ${f(pct(init, 99))} | ${(pct(init, 50) / pct(ping, 50)).toFixed(2)}× | ${(pct(init, 99) / pct(ping, 99)).toFixed(2)}×`,
  );
}

await app.close();
await sim.close();
await graph.close();
redis.disconnect();
eventsRedis.disconnect();
await db.connection.dropDatabase().catch(() => undefined);
await db.close();
await ownMongo?.stop();
await ownRedis?.destroy();
