import type { SimState } from "../state.js";
import { messagingState } from "./messaging-state.js";

/**
 * The users who stopped marketing messages from a business (WhatsApp's "marketing messages"
 * setting, announced by a `user_preferences` webhook). Meta then accepts a marketing template to
 * them and fails it with 131050 in a `failed` status; utility and authentication templates and
 * free-form messages still go.
 */
export interface MarketingPreferences {
  /** `wabaId|recipient` (the wa_id, or the user id of a user who hides the number). */
  stopped: Set<string>;
}

export const MARKETING_PREFERENCES_AREA = "marketing-preferences";

export const marketingPreferences = (state: SimState): MarketingPreferences =>
  state.area(MARKETING_PREFERENCES_AREA, () => ({ stopped: new Set<string>() }));

/** Records a user's stop or resume of a business's marketing messages. */
export function setMarketingPreference(state: SimState, wabaId: string, recipients: string[], stopped: boolean): void {
  const prefs = marketingPreferences(state);
  for (const r of recipients) {
    if (stopped) prefs.stopped.add(`${wabaId}|${r}`);
    else prefs.stopped.delete(`${wabaId}|${r}`);
  }
}

/**
 * Whether Meta would fail this send with 131050: a MARKETING template (by the WABA's template of
 * that name and language) to a user who stopped the business's marketing messages.
 */
export function marketingStopped(
  state: SimState,
  phoneNumberId: string,
  recipients: Array<string | undefined>,
  template: { name?: unknown; language?: { code?: unknown } } | undefined,
): boolean {
  const st = messagingState(state);
  const waba = st.numbers.get(phoneNumberId);
  if (!waba || !template) return false;
  const stopped = marketingPreferences(state).stopped;
  if (!recipients.some((r) => r && stopped.has(`${waba}|${r}`))) return false;
  const t = st.templates.get(waba)?.find((x) => x.name === template.name && x.language === template.language?.code);
  return t?.category?.toUpperCase() === "MARKETING";
}
