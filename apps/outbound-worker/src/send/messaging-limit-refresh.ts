import type { Logger } from "pino";
import type { ClientDoc, Database } from "@linkojob/db";
import type { ProtectionState } from "@linkojob/outbound";
import type { TokenVault } from "@linkojob/vault";
import { listPhoneNumbers, type GraphClient } from "@linkojob/whatsapp";
import { clientAccessToken } from "./token-access.js";

type LimitClient = Pick<ClientDoc, "_id" | "wabaId" | "accessToken">;

/**
 * Reads each portfolio's messaging limit from the Graph field `whatsapp_business_manager_messaging_limit`
 * (on the WABA's numbers; one call per WABA) and writes it where the send path reads it. Run when a
 * client becomes active (a connection, a reconnection) and on a timer, beside the
 * `business_capability_update` webhook that announces changes. A failure is logged: the last known
 * limit stays.
 */
export async function refreshMessagingLimits(
  deps: { db: Database; graph: GraphClient; vault: TokenVault; state: ProtectionState; logger: Logger },
  clientId?: string,
): Promise<number> {
  const clients = await deps.db.clients
    .find(clientId ? { _id: clientId, status: "active" } : { status: "active" }, { _id: 1, wabaId: 1, accessToken: 1 })
    .lean<LimitClient[]>();
  const byWaba = new Map<string, LimitClient>();
  for (const c of clients) if (c.wabaId && !byWaba.has(c.wabaId)) byWaba.set(c.wabaId, c);
  let written = 0;
  for (const [wabaId, client] of byWaba) {
    try {
      const numbers = await listPhoneNumbers(deps.graph, clientAccessToken(deps.vault, client), wabaId);
      const limit = numbers.find((n) => n.messagingLimit !== null)?.messagingLimit ?? null;
      if (limit === null) continue;
      await deps.state.setLimit(wabaId, limit, "graph");
      written++;
    } catch (err) {
      deps.logger.warn(
        { wabaId, err: (err as Error).message },
        "portfolio messaging limit not read from the Graph API",
      );
    }
  }
  return written;
}
