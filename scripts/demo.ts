/**
 * Starts the whole gateway on this machine for a demo or local development: MongoDB-protocol server
 * and Redis (given, or started here), the Meta simulator, the ingress, the workers and the realtime
 * server, plus a seeded demo recruiter. Ctrl-C stops everything.
 *
 *   MONGODB_URI / REDIS_URL   use these instead of starting FerretDB / a redis-server
 *   PG_URL                    the PostgreSQL FerretDB stores in (default postgres://postgres@127.0.0.1:5432/postgres;
 *                             the demo gets a database of its own, dropped at Ctrl-C); SQLite when none answers
 *   DEMO_PORT_BASE            ingress on it (default 3000), realtime +1, simulator +1000
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { signJwt } from "@linkojob/auth";
import { Database } from "@linkojob/db";
import { TokenVault } from "@linkojob/vault";
import { startFerretDb, startRedisServer } from "@linkojob/testing/services";

const root = new URL("..", import.meta.url).pathname;
const stateDir = join(root, ".tmp", "demo");
mkdirSync(stateDir, { recursive: true });
const base = Number(process.env.DEMO_PORT_BASE ?? 3000);
const ports = { ingress: base, realtime: base + 1, sim: base + 1000 };

interface DevSecrets {
  META_APP_SECRET: string;
  META_WEBHOOK_VERIFY_TOKEN: string;
  TOKEN_ENCRYPTION_KEY: string;
  JWT_SECRET: string;
}

/** Dev-only secrets, generated once and kept in .tmp/demo (gitignored) so tokens survive restarts. */
function devSecrets(): DevSecrets {
  const file = join(stateDir, "secrets.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as DevSecrets;
  const s: DevSecrets = {
    META_APP_SECRET: randomBytes(16).toString("hex"),
    META_WEBHOOK_VERIFY_TOKEN: randomBytes(12).toString("hex"),
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    JWT_SECRET: randomBytes(32).toString("hex"),
  };
  writeFileSync(file, JSON.stringify(s, null, 2), { mode: 0o600 });
  return s;
}

async function redisAnswers(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

const stops: Array<() => Promise<void>> = [];
const children: ChildProcess[] = [];

let stopping = false;
async function stopAll() {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill("SIGTERM");
  await Promise.all(children.filter((c) => c.exitCode === null).map((c) => new Promise((r) => c.once("exit", r))));
  for (const stop of stops.reverse()) await stop();
  process.exit(0);
}
process.on("SIGINT", () => void stopAll());
// A failure of this script must not leave the processes it started behind.
process.on("uncaughtException", (err) => {
  console.error(err);
  void stopAll();
});
process.on("unhandledRejection", (err) => {
  console.error(err);
  void stopAll();
});
process.on("SIGTERM", () => void stopAll());

let mongoUrl = process.env.MONGODB_URI;
if (!mongoUrl) {
  const f = await startFerretDb();
  console.log(`[demo]      FerretDB on ${f.backend} at ${f.url}`);
  stops.push(() => f.stop());
  mongoUrl = `${f.url}/linkojob`;
}
let redisUrl = process.env.REDIS_URL;
if (!redisUrl) {
  if (await redisAnswers("redis://127.0.0.1:6379")) redisUrl = "redis://127.0.0.1:6379";
  else {
    const r = await startRedisServer();
    stops.push(() => r.destroy());
    redisUrl = r.url;
  }
}

const secrets = devSecrets();
const env = {
  ...process.env,
  ...secrets,
  MONGODB_URI: mongoUrl,
  REDIS_URL: redisUrl,
  QUEUE_PREFIX: "lj-demo",
  META_APP_ID: "1234567890",
  META_API_VERSION: "v26.0",
  META_GRAPH_URL: `http://127.0.0.1:${ports.sim}`,
  META_DIALOG_URL: `http://127.0.0.1:${ports.sim}`,
  BASE_URL: `http://127.0.0.1:${ports.ingress}`,
  DASHBOARD_URL: `http://127.0.0.1:${ports.ingress}/inbox`,
  CORS_ORIGIN: "*",
  LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
  WEBHOOK_URL: `http://127.0.0.1:${ports.ingress}/webhook`,
};

const processes: Array<{ name: string; main: string; env?: Record<string, string> }> = [
  {
    name: "meta-sim",
    main: "apps/meta-sim/src/main.ts",
    env: { PORT: String(ports.sim), SIM_ENFORCE_WINDOW: "true", SIM_ENFORCE_TEMPLATE_PARAMS: "true" },
  },
  {
    name: "ingress",
    main: "apps/ingress/src/main.ts",
    // The inbox page at /inbox: live updates from the realtime server, candidate controls through the simulator.
    env: {
      PORT: String(ports.ingress),
      REALTIME_PUBLIC_URL: `http://127.0.0.1:${ports.realtime}`,
      DEMO_SIM_URL: `http://127.0.0.1:${ports.sim}`,
    },
  },
  { name: "inbound", main: "apps/inbound-worker/src/main.ts" },
  { name: "outbound", main: "apps/outbound-worker/src/main.ts" },
  { name: "realtime", main: "apps/realtime/src/main.ts", env: { PORT: String(ports.realtime) } },
];

const tsx = join(root, "node_modules", ".bin", "tsx");
for (const p of processes) {
  if (!existsSync(join(root, p.main))) continue;
  const child = spawn(tsx, ["--conditions=@linkojob/source", p.main], {
    cwd: root,
    env: { ...env, ...p.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const prefix = `[${p.name}]`.padEnd(11);
  for (const stream of [child.stdout, child.stderr]) {
    let buf = "";
    stream.on("data", (chunk: Buffer) => {
      buf += chunk.toString();
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const line of lines) if (line.trim()) console.log(prefix, line);
    });
  }
  child.on("exit", (code, signal) => console.log(prefix, `exited (${signal ?? code})`));
  children.push(child);
}

// Seed a demo recruiter whose number the simulator plays: connected (a vault-encrypted token the
// simulator accepts), its number and approved first-contact template known to "Meta", templates synced.
const vault = TokenVault.fromEnvValue(secrets.TOKEN_ENCRYPTION_KEY);
const db = await Database.connect(mongoUrl);
const demo = {
  userId: "demo-recruiter",
  companyName: "LinkoJob Démo SARL",
  phoneNumberId: "100000000000001",
  wabaId: "200000000000001",
  whatsappNumber: "212522000001",
  displayPhoneNumber: "+212 522-000001",
};
const client = await db.clients
  .findOneAndUpdate(
    { phoneNumberId: demo.phoneNumberId },
    { $setOnInsert: demo, $set: { accessToken: vault.encrypt("demo-access-token"), status: "active" } },
    { upsert: true, new: true },
  )
  .lean();
await db.close();

async function until(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
const put = (url: string, body: unknown) =>
  fetch(url, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const sim = `http://127.0.0.1:${ports.sim}`;
await until(`${sim}/_sim/health`);
await put(`${sim}/_sim/messaging/numbers`, { [demo.phoneNumberId]: demo.wabaId });
await put(`${sim}/_sim/messaging/templates/${demo.wabaId}`, {
  templates: [
    {
      name: "application_received",
      language: "fr",
      category: "UTILITY",
      components: [{ type: "BODY", text: "Bonjour {{1}}, votre candidature pour {{2}} est bien reçue." }],
    },
    {
      name: "interview_invitation",
      language: "fr",
      category: "UTILITY",
      components: [{ type: "BODY", text: "Bonjour {{1}}, êtes-vous disponible pour un entretien le {{2}} ?" }],
    },
  ],
});
// Ticks that visibly advance: sent → delivered → read, 0.8 s apart.
await put(`${sim}/_sim/messaging/status-flow`, { stepDelayMs: 800 });
// A second business, so that "Connect WhatsApp" has something to connect in the simulated dialog.
await fetch(`${sim}/_sim/onboarding/businesses`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ name: "Démo — second number" }),
});
const recruiterToken = await signJwt(secrets.JWT_SECRET, { sub: demo.userId, role: "recruiter" }, "12h");
const serviceToken = await signJwt(secrets.JWT_SECRET, { sub: "platform-backend", role: "service" }, "12h");
await until(`http://127.0.0.1:${ports.ingress}/ready`);
const synced = await fetch(`http://127.0.0.1:${ports.ingress}/api/templates/sync`, {
  method: "POST",
  headers: { authorization: `Bearer ${serviceToken}`, "content-type": "application/json" },
  body: JSON.stringify({ clientId: String(client._id) }),
});
if (!synced.ok) console.error("template sync failed:", synced.status, await synced.text());

console.log(`
LinkoJob WhatsApp gateway — demo running
  ingress      http://127.0.0.1:${ports.ingress}   (webhook: /webhook, API: /api/…, health: /health)
  realtime     http://127.0.0.1:${ports.realtime}   (Socket.io, websocket transport, auth.token = JWT)
  simulator    http://127.0.0.1:${ports.sim}   (Meta stand-in; control API under /_sim/)
  inbox        http://127.0.0.1:${ports.ingress}/inbox#token=${recruiterToken}
               (the recruiter's inbox: open it in a browser; the token stays in the URL fragment)
  demo client  ${client._id.toHexString()} (phone_number_id ${demo.phoneNumberId})
  recruiter JWT  ${recruiterToken}
  service JWT    ${serviceToken}

Make the simulator play a candidate:
  curl -s -X POST http://127.0.0.1:${ports.sim}/_sim/candidates/reply -H 'content-type: application/json' \\
    -d '{"phoneNumberId":"${demo.phoneNumberId}","wabaId":"${demo.wabaId}","from":"212612345678","name":"Salma","type":"text","text":"Bonjour, je suis intéressée"}'
Then read it:
  curl -s http://127.0.0.1:${ports.ingress}/api/messages/conversations -H 'authorization: Bearer ${recruiterToken.slice(0, 12)}…'
Ctrl-C stops everything.
`);
