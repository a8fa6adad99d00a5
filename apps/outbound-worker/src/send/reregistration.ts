import { randomInt } from "node:crypto";
import type { Logger } from "pino";
import type { ClientDoc, Database } from "@linkojob/db";
import type { RedisClient } from "@linkojob/queues";
import type { TokenVault } from "@linkojob/vault";
import { registerPhoneNumber, type GraphClient } from "@linkojob/whatsapp";
import { clientAccessToken } from "./token-access.js";

export interface ReregistrationDeps {
  db: Database;
  redis: RedisClient;
  graph: GraphClient;
  vault: TokenVault;
  logger: Logger;
  /** Key prefix (the deployment's queue prefix). */
  prefix: string;
  /** One attempt per number within this period. Default 24 h. */
  windowMs?: number;
}

/**
 * Meta's 133010 (number not registered): ONE `POST /{phone-number-id}/register` per number and
 * period, whichever worker or message meets the error first (a Redis SET NX), with the number's
 * two-step PIN kept at onboarding (encrypted, bound to the client); a number without one gets a new
 * PIN, stored before the call. Returns whether Meta registered it; any failure is logged and false
 * (the caller then pauses the tenant's sends).
 */
export async function reregisterOnce(deps: ReregistrationDeps, client: ClientDoc): Promise<boolean> {
  const key = `${deps.prefix}:outbound:reregister:${client.phoneNumberId}`;
  if ((await deps.redis.set(key, String(Date.now()), "PX", deps.windowMs ?? 86_400_000, "NX")) !== "OK") return false;
  const clientKey = client._id.toHexString();
  try {
    let pin: string;
    if (client.registrationPin) {
      pin = deps.vault.decrypt(client.registrationPin, clientKey);
    } else {
      pin = String(randomInt(0, 1_000_000)).padStart(6, "0");
      await deps.db.clients.updateOne(
        { _id: client._id, registrationPin: null },
        { $set: { registrationPin: deps.vault.encrypt(pin, clientKey) } },
      );
    }
    const ok = await registerPhoneNumber(deps.graph, clientAccessToken(deps.vault, client), client.phoneNumberId, pin);
    deps.logger.info(
      { clientId: clientKey, phoneNumberId: client.phoneNumberId, ok },
      "133010: number registered again",
    );
    return ok;
  } catch (err) {
    deps.logger.warn({ clientId: clientKey, err: (err as Error).message }, "133010: re-registration failed");
    return false;
  }
}
