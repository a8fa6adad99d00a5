import { z } from "zod";
import { isTimeZone, minutesOfHhMm, type QuietHours } from "./quiet-hours.js";

/** A tenant's sending policy: quiet hours (null: off) in the candidate's zone, else `timeZone`. */
export interface SendingPolicy {
  quietHours: QuietHours | null;
  /** The tenant's IANA zone: used for candidates whose country is unknown. */
  timeZone: string;
}

/** The default zone of this business (Morocco; its Ramadan switch to GMT comes from tzdata). */
export const DEFAULT_TIME_ZONE = "Africa/Casablanca";

/**
 * The deployment's policy for a tenant that set none: 21:00–09:00 in the candidate's zone (what
 * SENDING_DEFAULT_QUIET_HOURS gives by default in every process's env.ts).
 */
export const DEFAULT_SENDING_POLICY: SendingPolicy = {
  quietHours: { start: "21:00", end: "09:00" },
  timeZone: DEFAULT_TIME_ZONE,
};

/**
 * What a component built without a configured default applies (tests building the apps in
 * process): no quiet hours unless the tenant sets them. Processes started from main.ts get
 * DEFAULT_SENDING_POLICY through their env.
 */
export const UNCONFIGURED_SENDING_POLICY: SendingPolicy = { quietHours: null, timeZone: DEFAULT_TIME_ZONE };

const hhMm = z
  .string()
  .refine((v) => minutesOfHhMm(v) !== null, { message: 'must be a 24-hour time "HH:MM" (00:00 to 23:59)' });

export const quietHoursSchema = z
  .strictObject({ start: hhMm, end: hhMm })
  .refine((q) => q.start !== q.end, { message: "start and end must differ (use null to turn quiet hours off)" });

export const timeZoneSchema = z
  .string()
  .refine(isTimeZone, { message: "must be an IANA time zone name such as Africa/Casablanca or Europe/Paris" });

/** Body of PUT /api/clients/:clientId/sending-policy. */
export const sendingPolicyUpdateSchema = z.strictObject({
  quietHours: quietHoursSchema.nullable().describe('daily quiet period, local times "HH:MM"; null turns it off'),
  timeZone: timeZoneSchema
    .optional()
    .describe("the tenant's IANA zone, for candidates whose country is unknown (default Africa/Casablanca)"),
});
export type SendingPolicyUpdate = z.infer<typeof sendingPolicyUpdateSchema>;

/** Why a send is scheduled rather than sent now. */
export type ScheduleReason = "MESSAGING_LIMIT" | "QUIET_HOURS";

/** Why marketing first contacts from a number are paused. */
export const QUALITY_PAUSE_REASON = "QUALITY_PAUSED";

/** Ratings and events that pause marketing first contacts (Meta's quality RED, a FLAGGED number). */
export const PAUSING_QUALITY = new Set(["RED", "FLAGGED", "LOW"]);
/** Events and ratings that lift the pause. */
export const LIFTING_QUALITY = new Set(["GREEN", "YELLOW", "UNFLAGGED", "HIGH", "MEDIUM"]);

/**
 * SENDING_DEFAULT_QUIET_HOURS: the quiet hours of tenants that set none, `HH:MM-HH:MM` (default
 * 21:00-09:00) or `off`.
 */
export const defaultQuietHoursVar = z
  .string()
  .default("21:00-09:00")
  .transform((v, ctx): QuietHours | null => {
    if (v.trim().toLowerCase() === "off") return null;
    const [start = "", end = ""] = v.split("-").map((x) => x.trim());
    if (minutesOfHhMm(start) === null || minutesOfHhMm(end) === null || start === end) {
      ctx.addIssue({ code: "custom", message: 'must be "HH:MM-HH:MM" (e.g. 21:00-09:00) or "off"' });
      return z.NEVER;
    }
    return { start, end };
  });

/** SENDING_DEFAULT_TIME_ZONE: the zone of tenants that set none (default Africa/Casablanca). */
export const defaultTimeZoneVar = timeZoneSchema.default(DEFAULT_TIME_ZONE);
