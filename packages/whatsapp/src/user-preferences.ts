import { z } from "zod";

const unixSeconds = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform(Number);

/**
 * One element of a `user_preferences` webhook: a WhatsApp user stopped or resumed marketing
 * messages from the business (Meta's "marketing messages" setting). `wa_id` may be absent for a
 * user who hides their number (then `user_id`).
 */
export const userPreferenceSchema = z.looseObject({
  wa_id: z.string().min(1).optional(),
  user_id: z.string().min(1).optional(),
  detail: z.string().optional(),
  category: z.string(),
  value: z.string(),
  timestamp: unixSeconds,
});
export type UserPreference = z.infer<typeof userPreferenceSchema>;

/**
 * `user_preferences` value: `{ messaging_product, metadata: { display_phone_number, phone_number_id },
 * contacts[], user_preferences[] }`. Every element is read (pywa reads only the first).
 */
export const userPreferencesValueSchema = z.looseObject({
  metadata: z.looseObject({ phone_number_id: z.string().optional() }).optional(),
  user_preferences: z.array(userPreferenceSchema),
});
export type UserPreferencesValue = z.infer<typeof userPreferencesValueSchema>;
