import { applyAccountUpdate } from "@linkojob/db";
import type { AccountEventHandler } from "../routing/delivery-processor";
import type { ClientAnnouncer } from "./client-announcer";

/**
 * `account_update` webhooks change the connection of the WABA's clients (partner removed, account
 * restricted, disabled, reconnected…). Inbound messages keep being stored whatever the status: only
 * sends are held.
 */
export const accountUpdateHandler =
  (announcer: ClientAnnouncer): AccountEventHandler =>
  async (event, ctx) => {
    const result = await applyAccountUpdate(ctx.db, event.wabaId, event.value, event.time ?? new Date());
    if (result.changes.length) {
      ctx.logger.info({ wabaId: event.wabaId, event: result.event, action: result.action, clients: result.changes.length }, "account_update applied");
    }
    await announcer.announce(result.changes);
  };
