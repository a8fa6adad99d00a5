import type { AccountEventHandler } from "../routing/delivery-processor.js";
import type { ClientStatusAnnouncer } from "@linkojob/outbound";

/**
 * `account_update` webhooks change the connection of the WABA's clients (partner removed, account
 * restricted, disabled, reconnected…). Inbound messages keep being stored whatever the status: only
 * sends are held.
 */
export const accountUpdateHandler =
  (announcer: ClientStatusAnnouncer): AccountEventHandler =>
  async (event, ctx) => {
    // Applied to the WABA's clients and each change announced, by the one module that does both.
    const result = await announcer.applyAccountUpdate(event.wabaId, event.value, event.time ?? new Date());
    if (result.changes.length) {
      ctx.logger.info(
        { wabaId: event.wabaId, event: result.event, action: result.action, clients: result.changes.length },
        "account_update applied",
      );
    }
  };
