import type { ClientDoc, Database } from "@linkojob/db";
import { syncTemplates } from "@linkojob/outbound";
import type { TokenVault } from "@linkojob/vault";
import type { GraphClient } from "@linkojob/whatsapp";

/**
 * The onboarding flow's TemplateSyncHook (onboarding.service.ts): after a connect, sync the WABA's
 * templates so the first send finds them. Errors propagate; the onboarding service logs them and
 * never fails the connection over them.
 */
export function createTemplateSyncHook(db: Database, graph: GraphClient, vault: TokenVault) {
  return {
    async syncTemplatesForClient(client: { clientId: string }): Promise<void> {
      const doc = await db.clients.findById(client.clientId).lean<ClientDoc>();
      if (!doc?.accessToken) return;
      await syncTemplates(
        graph,
        db.forTenant(client.clientId).templates,
        vault.decrypt(doc.accessToken, doc._id.toHexString()),
      );
    },
  };
}
