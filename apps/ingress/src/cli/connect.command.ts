import { parseArgs } from "node:util";
import type { RedisClient } from "@linkojob/queues";
import type { Database } from "@linkojob/db";
import type { DashboardEvents } from "@linkojob/events";
import type { TokenVault } from "@linkojob/vault";
import type { AppCredentials, GraphClient } from "@linkojob/whatsapp";
import { ClientStatusAnnouncer, SendState } from "@linkojob/outbound";
import { OnboardingError } from "../onboarding/onboarding-error.js";
import { manualConnectBody } from "../onboarding/onboarding.routes.js";
import { OnboardingService, type ConnectResult } from "../onboarding/onboarding.service.js";

export interface ConnectCommandDeps {
  db: Database;
  redis: RedisClient;
  events: DashboardEvents;
  graph: GraphClient;
  vault: TokenVault;
  app: AppCredentials;
  keyPrefix: string;
  /** Where the token is read from when --access-token-file is not given (the process's stdin). */
  readStdin: () => Promise<string>;
  readFile: (path: string) => Promise<string>;
}

export const CONNECT_USAGE = `usage: cli:connect --user-id ID --company-name NAME --phone-number-id ID --waba-id ID --whatsapp-number NUMBER
                   [--access-token-file PATH]   (default: the token is read from stdin)
The token is never taken from the command line, where shell history and ps would keep it.`;

export class UsageError extends Error {}

/**
 * The manual connection from the command line: the same input, checks and storage as
 * POST /api/admin/whatsapp/connect (token checked with debug_token, number checked against the WABA,
 * subscription, registration when needed, encrypted storage, announcement).
 */
export async function connectCommand(argv: string[], deps: ConnectCommandDeps): Promise<ConnectResult> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        "user-id": { type: "string" },
        "company-name": { type: "string" },
        "phone-number-id": { type: "string" },
        "waba-id": { type: "string" },
        "whatsapp-number": { type: "string" },
        "access-token-file": { type: "string" },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${CONNECT_USAGE}`);
  }
  const file = values["access-token-file"];
  const accessToken = (typeof file === "string" ? await deps.readFile(file) : await deps.readStdin()).trim();
  const parsed = manualConnectBody.safeParse({
    userId: values["user-id"],
    companyName: values["company-name"],
    phoneNumberId: values["phone-number-id"],
    wabaId: values["waba-id"],
    whatsappNumber: values["whatsapp-number"],
    accessToken,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  - ${i.path.join(".") || "input"}: ${i.message}`).join("\n");
    throw new UsageError(`invalid input:\n${problems}\n${CONNECT_USAGE}`);
  }
  const service = new OnboardingService({
    db: deps.db,
    graph: deps.graph,
    vault: deps.vault,
    app: deps.app,
    announcer: new ClientStatusAnnouncer({
      db: deps.db,
      events: deps.events,
      publisher: deps.redis,
      sendState: new SendState({ redis: deps.redis, prefix: deps.keyPrefix, db: deps.db }),
    }),
    redis: deps.redis,
    keyPrefix: deps.keyPrefix,
  });
  return service.connectWithToken(parsed.data);
}

export { OnboardingError };
