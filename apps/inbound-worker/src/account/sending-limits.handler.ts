import type { Database } from "@linkojob/db";
import {
  ProtectionState,
  applyCapabilityUpdate,
  applyQualityUpdate,
  type ClientStatusAnnouncer,
} from "@linkojob/outbound";
import type { RedisClient } from "@linkojob/queues";
import type { AccountEventHandler } from "../routing/delivery-processor.js";

/**
 * `business_capability_update` (the portfolio's messaging limit) and `phone_number_quality_update`
 * (the 2026 shape: `event`, the portfolio's limit; FLAGGED pauses a number's marketing first
 * contacts): written where the send path reads them (@linkojob/outbound sending-policy).
 */
export function sendingLimitHandlers(deps: {
  db: Database;
  redis: RedisClient;
  prefix: string;
  announcer: ClientStatusAnnouncer;
}): Record<string, AccountEventHandler> {
  const state = new ProtectionState(deps.redis, deps.prefix, deps.db);
  return {
    business_capability_update: async (event, ctx) => {
      const limit = await applyCapabilityUpdate(state, event.wabaId, event.value);
      if (limit !== null) ctx.logger.info({ wabaId: event.wabaId, limit }, "portfolio messaging limit updated");
    },
    phone_number_quality_update: async (event, ctx) => {
      const result = await applyQualityUpdate(
        { db: deps.db, state, announcer: deps.announcer },
        event.wabaId,
        event.value,
        event.time ?? new Date(),
      );
      if (result.changed.length || result.limit !== null)
        ctx.logger.info(
          { wabaId: event.wabaId, event: result.event, limit: result.limit, changed: result.changed.length },
          "phone number quality update applied",
        );
    },
  };
}
