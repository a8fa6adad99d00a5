import pino from "pino";
import { EnvError, logOptions, onShutdownSignal } from "@linkojob/config";
import { loadSimEnv } from "./env.js";
import { MetaSimulator } from "@linkojob/meta-simulator";

/** The simulator as a process: for the demo, local development and benchmarks (tests create it in-process). */

let env;
try {
  env = loadSimEnv();
} catch (err) {
  if (!(err instanceof EnvError)) throw err;
  console.error(err.message);
  process.exit(1);
}
const logger = pino({ level: env.LOG_LEVEL, ...logOptions });

const sim = await MetaSimulator.create({
  appSecret: env.META_APP_SECRET,
  appId: env.META_APP_ID,
  ...(env.WEBHOOK_URL ? { webhookUrl: env.WEBHOOK_URL } : {}),
  enforceWindow: env.SIM_ENFORCE_WINDOW,
  enforceTemplateParams: env.SIM_ENFORCE_TEMPLATE_PARAMS,
  // Fastify's per-request lines only when debugging (SimulatorOptions takes a boolean for now).
  logger: env.LOG_LEVEL === "debug" || env.LOG_LEVEL === "trace",
});
sim.webhooks.configure({
  encoding: env.WEBHOOK_ENCODING,
  retry:
    env.WEBHOOK_RETRIES > 0 ? { attempts: env.WEBHOOK_RETRIES + 1, initialDelayMs: env.WEBHOOK_RETRY_DELAY_MS } : false,
});
sim.webhooks.onDelivery((d) => {
  const fields = {
    url: d.url,
    status: d.status,
    attempts: d.attempts,
    bytes: Buffer.byteLength(d.body),
    ...(d.error ? { error: d.error } : {}),
  };
  if (d.status === 200) logger.debug(fields, "webhook delivered");
  else logger.warn(fields, "webhook not acknowledged");
});

// /health and /ready like every HTTP process of the project. The simulator depends on nothing, so it
// is ready once it listens and until it starts shutting down.
let closing = false;
sim.app.get("/health", () => ({ status: "ok" }));
sim.app.get("/ready", async (_req, reply) =>
  closing ? reply.code(503).send({ status: "not_ready", checks: { closing: true } }) : { status: "ready", checks: {} },
);

const url = await sim.listen(env.PORT, env.HOST);
logger.info(
  {
    url,
    webhookUrl: env.WEBHOOK_URL ?? null,
    retries: env.WEBHOOK_RETRIES,
    enforceWindow: env.SIM_ENFORCE_WINDOW,
    enforceTemplateParams: env.SIM_ENFORCE_TEMPLATE_PARAMS,
  },
  "Meta simulator listening",
);

onShutdownSignal(
  logger,
  async () => {
    closing = true;
    sim.webhooks.close(); // stop waiting between retries, so deliveries in flight finish now
    await sim.close(); // stops intake and waits for requests in flight
  },
  { timeoutMs: 10_000 },
);
