import type { Logger } from "pino";
import type { Database } from "@linkojob/db";
import { userPreferencesValueSchema } from "@linkojob/whatsapp";
import type { OptOutRegister } from "./opt-out-register.js";

/** The fields of an `account`-kind webhook event this handler reads (apps/inbound-worker AccountEvent). */
export interface UserPreferencesEvent {
  wabaId: string;
  field: string;
  value: unknown;
}

/**
 * `user_preferences`: a candidate stopped (`stop`) or resumed (`resume`) marketing messages in
 * WhatsApp. Each element becomes a `marketing` opt-out change of the client owning the number
 * (`metadata.phone_number_id` under the WABA; every client of the WABA when Meta names no number),
 * at Meta's timestamp. Other categories are recorded in webhook_events only. Idempotent (one change
 * per user, time and value). Shaped as the inbound worker's AccountEventHandler.
 */
export function createUserPreferencesHandler(deps: { db: Database; register: OptOutRegister; logger?: Logger }) {
  return async (event: UserPreferencesEvent): Promise<void> => {
    const parsed = userPreferencesValueSchema.safeParse(event.value);
    if (!parsed.success) return;
    const phoneNumberId = parsed.data.metadata?.phone_number_id;
    const clients = await deps.db.clients
      .find({ wabaId: event.wabaId, ...(phoneNumberId ? { phoneNumberId } : {}) }, { _id: 1 })
      .lean();
    if (!clients.length) {
      deps.logger?.warn({ wabaId: event.wabaId }, "user_preferences for a number no client has; recorded only");
      return;
    }
    for (const pref of parsed.data.user_preferences) {
      if (pref.category !== "marketing_messages" || (pref.value !== "stop" && pref.value !== "resume")) continue;
      const who = pref.wa_id ?? pref.user_id;
      if (!who) continue;
      for (const client of clients) {
        await deps.register.change({
          clientId: client._id,
          candidate: { phones: pref.wa_id ? [pref.wa_id] : [], userIds: pref.user_id ? [pref.user_id] : [] },
          action: pref.value === "stop" ? "opt_out" : "resume",
          scope: "marketing",
          source: "meta_user_preferences",
          at: new Date(pref.timestamp * 1000),
          dedupeKey: `preferences:${who}:${pref.timestamp}:${pref.value}`,
          reason: pref.detail ?? null,
        });
      }
    }
  };
}
