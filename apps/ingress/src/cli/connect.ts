/**
 * echo "$TOKEN" | pnpm --filter @linkojob/ingress cli:connect --user-id u1 --company-name "Atlas RH" \
 *   --phone-number-id 1234 --waba-id 5678 --whatsapp-number +212612345678
 *
 * Connects a number set up outside Embedded Signup, with the same checks as the admin endpoint.
 * Prints the stored client (never its token) as JSON. Exit codes: 0 connected, 1 refused (the code
 * says why, e.g. NUMBER_TAKEN), 2 bad usage or environment.
 */
import { readFile } from "node:fs/promises";
import { EnvError, redisTargetOf } from "@linkojob/config";
import { Database } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { vaultFromEnv } from "@linkojob/vault";
import { GraphClient } from "@linkojob/whatsapp";
import { loadConnectEnv } from "./env.js";
import { OnboardingError, UsageError, connectCommand } from "./connect.command.js";

let env;
try {
  env = loadConnectEnv();
} catch (err) {
  if (!(err instanceof EnvError)) throw err;
  console.error(err.message);
  process.exit(2);
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    process.stderr.write("access token (input hidden is not supported; paste and press Ctrl-D): ");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const db = await Database.connect(env.MONGODB_URI, { maxPoolSize: 2 });
const redis = createRedis(redisTargetOf(env), { connectionName: "cli-connect" });
const graph = new GraphClient({ baseUrl: env.META_GRAPH_URL, version: env.META_API_VERSION, connections: 2 });
try {
  const result = await connectCommand(process.argv.slice(2), {
    db,
    redis,
    events: new DashboardEvents(redis),
    graph,
    vault: vaultFromEnv(env),
    app: { appId: env.META_APP_ID, appSecret: env.META_APP_SECRET },
    keyPrefix: env.QUEUE_PREFIX,
    readStdin,
    readFile: (path) => readFile(path, "utf8"),
  });
  console.log(
    JSON.stringify(
      { success: true, reconnected: result.reconnected, registered: result.registered, client: result.client },
      null,
      2,
    ),
  );
} catch (err) {
  if (err instanceof UsageError) {
    console.error(err.message);
    process.exitCode = 2;
  } else if (err instanceof OnboardingError) {
    console.error(
      JSON.stringify(
        { success: false, error: { code: err.code, message: err.message, details: err.details ?? null } },
        null,
        2,
      ),
    );
    process.exitCode = 1;
  } else {
    throw err;
  }
} finally {
  await graph.close();
  await redis.quit().catch(() => undefined);
  await db.close();
}
