/**
 * Quiet hours: the local times at which a business-initiated message (a first contact, a template to
 * a closed window) must not reach a candidate. All arithmetic is in the candidate's IANA zone through
 * Node's ICU (Intl), never a fixed offset: Morocco's switch to GMT during Ramadan, and every DST
 * change, come from tzdata.
 */

/** A daily quiet period, local wall-clock times `HH:MM` (24 h). `start` after `end` crosses midnight. */
export interface QuietHours {
  start: string;
  end: string;
}

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Minutes after local midnight of an `HH:MM` time, or null when it is not one. */
export function minutesOfHhMm(value: string): number | null {
  const m = HH_MM.exec(value);
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

/** Whether `zone` is an IANA time zone name Node's ICU knows (`Africa/Casablanca`, `UTC`…). */
export function isTimeZone(zone: string): boolean {
  if (!zone || zone.length > 64) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterOf(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", hour: "2-digit", minute: "2-digit" });
    formatters.set(zone, f);
  }
  return f;
}

/** The local wall-clock minute of the day (0–1439) of `at` in `zone`. */
export function localMinuteOfDay(at: Date | number, zone: string): number {
  let h = 0;
  let m = 0;
  for (const p of formatterOf(zone).formatToParts(at)) {
    if (p.type === "hour") h = Number(p.value) % 24;
    else if (p.type === "minute") m = Number(p.value);
  }
  return h * 60 + m;
}

/** Whether the local minute `minute` is inside [start, end) (crossing midnight when start > end). */
function insideMinutes(minute: number, start: number, end: number): boolean {
  if (start === end) return false;
  return start < end ? minute >= start && minute < end : minute >= start || minute < end;
}

/** Whether `at` falls in the quiet hours in `zone` (null quiet hours: never). */
export function inQuietHours(at: Date | number, quiet: QuietHours | null, zone: string): boolean {
  if (!quiet) return false;
  const start = minutesOfHhMm(quiet.start);
  const end = minutesOfHhMm(quiet.end);
  if (start === null || end === null) throw new Error(`quiet hours are not HH:MM: ${quiet.start}–${quiet.end}`);
  return insideMinutes(localMinuteOfDay(at, zone), start, end);
}

const MINUTE = 60_000;

/**
 * The first whole minute at or after `at` outside the quiet hours in `zone`: `at` itself when it
 * is not in them. The wall-clock distance to the end is a guess that a DST change or Ramadan's
 * switch can miss by an hour; the exact minute is then found by bisection between `at` (quiet) and
 * the first minute found outside (the quiet period is one interval from `at` to its end).
 */
export function quietHoursEnd(at: Date | number, quiet: QuietHours | null, zone: string): number {
  const t0 = typeof at === "number" ? at : at.getTime();
  if (!inQuietHours(t0, quiet, zone)) return t0;
  const end = minutesOfHhMm(quiet!.end)!;
  let lo = Math.floor(t0 / MINUTE) * MINUTE; // quiet
  let hi = lo;
  for (let i = 0; i < 4 && inQuietHours(hi, quiet, zone); i++) {
    const wall = (end - localMinuteOfDay(hi, zone) + 1440) % 1440 || 1440;
    hi += wall * MINUTE;
  }
  while (inQuietHours(hi, quiet, zone)) hi += 60 * MINUTE; // never more than a DST hour or so
  while (hi - lo > MINUTE) {
    const mid = lo + Math.floor((hi - lo) / MINUTE / 2) * MINUTE;
    if (inQuietHours(mid, quiet, zone)) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * The first minute at or after `at` outside the quiet hours of every zone in `zones` (a country
 * that spans several zones: allowed only where it is allowed everywhere). When no such minute comes
 * within two days (zones too far apart for the quiet period), the first zone alone decides.
 */
export function nextAllowedAt(at: Date | number, quiet: QuietHours | null, zones: readonly string[]): number {
  const t0 = typeof at === "number" ? at : at.getTime();
  if (!quiet || zones.length === 0) return t0;
  let t = t0;
  for (let round = 0; round < zones.length * 3; round++) {
    const blocking = zones.find((z) => inQuietHours(t, quiet, z));
    if (!blocking) return t;
    t = quietHoursEnd(t, quiet, blocking);
    if (t - t0 > 2 * 86_400_000) break;
  }
  return quietHoursEnd(t0, quiet, zones[0]!);
}
