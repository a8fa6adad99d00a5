import type { Types } from "mongoose";
import { getCountry } from "countries-and-timezones";
import { parsePhoneNumberFromString } from "libphonenumber-js";
import { STATUS_RANK } from "../messages/message.model.js";

/**
 * What the analytics counters are made of: for each stored message, the counter increments it
 * implies, each named by an event id that is the same however often and in whatever order the
 * message and its statuses are seen. The live projector and the rebuild both derive them here, from
 * the stored messages only, so the counters are a function of what is stored.
 *
 * Buckets: one counter document per tenant × UTC day × scope, the scope being one template
 * (`t:<name>:<language>`) or the whole tenant (`all`). A template's funnel (sent, delivered, read,
 * replies, opt-outs, failures) is counted in the bucket of the day the template was sent: a period's
 * figures describe the templates sent in it (a cohort), so a late reply moves the figures of the
 * day it answers. Costs count on the day of the send, replies by hour on the day of the reply,
 * recruiter response times on the day of the candidate's message.
 */

export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const WINDOW_MS = 24 * HOUR_MS;
/** The time zone of a candidate whose number names no country with one zone of its own. */
export const DEFAULT_CANDIDATE_ZONE = "Africa/Casablanca";

/**
 * Upper bounds (minutes) of the delay histograms: delivery → first reply and candidate message →
 * recruiter reply. Medians and p90 are read from them (the bound of the bucket the rank falls in,
 * interpolated linearly inside it), so they are exact to the bucket's width.
 */
export const DELAY_BUCKETS_MIN = [1, 5, 15, 30, 60, 120, 240, 480, 720, 1440, 2880, 4320, 10080] as const;
/** Index of the last bucket: longer than the longest bound. */
export const DELAY_OVERFLOW = DELAY_BUCKETS_MIN.length;

export function delayBucket(ms: number): number {
  const min = Math.max(0, ms) / 60_000;
  const i = DELAY_BUCKETS_MIN.findIndex((b) => min <= b);
  return i === -1 ? DELAY_OVERFLOW : i;
}

/** Words of a whole message that mean "stop writing to me" (compared without case, accents or punctuation). */
const OPT_OUT_WORDS = new Set([
  "stop",
  "arret",
  "arreter",
  "unsubscribe",
  "desabonner",
  "desinscrire",
  "stop svp",
  "توقف",
  "قف",
  "الغاء",
  "إلغاء",
  "ستوب",
]);

/** True when a candidate's whole message is an opt-out word ("STOP", "Arrêt", "توقف"), never a sentence that contains one. */
export function isOptOut(text: string | null | undefined): boolean {
  if (!text) return false;
  const t = text
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[.!?,;:\s]+/g, " ")
    .trim()
    .toLowerCase();
  return t.length > 0 && t.length <= 20 && OPT_OUT_WORDS.has(t);
}

const zones = new Map<string, string>();
/**
 * The candidate's time zone: the zone of the country its number belongs to when that country has
 * one (Morocco, France…; a country with several zones, such as the US, takes its first listed),
 * else Africa/Casablanca.
 */
export function candidateZone(phone: string | null | undefined): string {
  const digits = (phone ?? "").replace(/\D/g, "");
  if (!digits) return DEFAULT_CANDIDATE_ZONE;
  const cached = zones.get(digits.slice(0, 6));
  if (cached) return cached;
  const country = parsePhoneNumberFromString(`+${digits}`)?.country;
  const zone = (country && getCountry(country)?.timezones[0]) || DEFAULT_CANDIDATE_ZONE;
  if (zones.size < 10_000) zones.set(digits.slice(0, 6), zone);
  return zone;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };
/** Local weekday (0 = Monday) and hour of an instant in a zone, through Intl (daylight saving included). */
export function localWeekdayHour(at: Date, zone: string): { weekday: number; hour: number } {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: zone, weekday: "short", hour: "numeric", hourCycle: "h23" });
    formatters.set(zone, f);
  }
  const parts = f.formatToParts(at);
  const weekday = WEEKDAYS[parts.find((p) => p.type === "weekday")?.value ?? "Mon"] ?? 0;
  const hour = Number(parts.find((p) => p.type === "hour")?.value ?? 0) % 24;
  return { weekday, hour };
}

export const dayOf = (at: Date) => at.toISOString().slice(0, 10);
export const templateScope = (name: string, language: string) => `t:${name}:${language}`;
export const ALL_SCOPE = "all";
/** Centimes: costs are counted as integers, so sums never drift. */
export const centimes = (mad: number | null | undefined) => Math.round((typeof mad === "number" ? mad : 0) * 100);
/** Counter names must be plain path segments. */
const seg = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 60) || "unknown";

/** One increment of one counter document, named so that it is applied once. */
export interface CounterEvent {
  day: string;
  scope: string;
  /** Unique within its bucket (the document): a second event with this id is not counted. */
  id: string;
  inc: Record<string, number>;
}

/** The fields of a stored message the counters read. */
export interface AnalyticsMessage {
  _id: Types.ObjectId;
  clientId: Types.ObjectId;
  conversationId: Types.ObjectId;
  direction: "inbound" | "outbound";
  type: string;
  kind?: string;
  text?: string | null;
  timestamp: Date;
  status: string;
  statusRank?: number;
  statusAt?: Record<string, Date>;
  wamid?: string | null;
  error?: { code?: number } | null;
  template?: { name: string; language: string; category?: string | null } | null;
  cost?: number;
  costExpected?: number;
  costCategory?: string;
  costSource?: string;
  fallbackOf?: Types.ObjectId | null;
}

/** The projection that reads an AnalyticsMessage. */
export const ANALYTICS_MESSAGE_FIELDS = {
  _id: 1,
  clientId: 1,
  conversationId: 1,
  direction: 1,
  type: 1,
  kind: 1,
  text: 1,
  timestamp: 1,
  status: 1,
  statusRank: 1,
  statusAt: 1,
  wamid: 1,
  error: 1,
  template: 1,
  cost: 1,
  costExpected: 1,
  costCategory: 1,
  costSource: 1,
  fallbackOf: 1,
} as const;

const at = (m: AnalyticsMessage, status: string): Date | null => {
  const v = m.statusAt?.[status];
  return v ? new Date(v) : null;
};
const rankOf = (m: AnalyticsMessage) => m.statusRank ?? STATUS_RANK[m.status as keyof typeof STATUS_RANK] ?? 0;
export const isTemplate = (m: AnalyticsMessage) => m.direction === "outbound" && (m.kind ?? m.type) === "template";
/** Reached Meta: a `sent` report, a later one, or a wamid (failures after acceptance included). */
const wasSent = (m: AnalyticsMessage) =>
  Boolean(at(m, "sent") || at(m, "delivered") || at(m, "read") || rankOf(m) >= STATUS_RANK.delivered || m.wamid);
const wasDelivered = (m: AnalyticsMessage) =>
  Boolean(at(m, "delivered") || at(m, "read") || rankOf(m) >= STATUS_RANK.delivered);
const wasRead = (m: AnalyticsMessage) => Boolean(at(m, "read") || rankOf(m) >= STATUS_RANK.read);

/** Counter events of an outbound message's own life (statuses and costs). */
export function outboundEvents(m: AnalyticsMessage): CounterEvent[] {
  if (m.direction !== "outbound") return [];
  const id = m._id.toHexString();
  const day = dayOf(m.timestamp);
  const out: CounterEvent[] = [];
  const sent = wasSent(m);
  if (isTemplate(m) && m.template) {
    const scope = templateScope(m.template.name, m.template.language);
    if (sent) out.push({ day, scope, id: `${id}:sent`, inc: { sent: 1 } });
    if (wasDelivered(m)) out.push({ day, scope, id: `${id}:delivered`, inc: { delivered: 1 } });
    if (wasRead(m)) out.push({ day, scope, id: `${id}:read`, inc: { read: 1 } });
    if (m.status === "failed") {
      const code = m.error?.code !== undefined && m.error?.code !== null ? String(m.error.code) : "unknown";
      out.push({ day, scope, id: `${id}:failed`, inc: { [`failed.${seg(code)}`]: 1 } });
    }
  }
  if (sent) {
    const category = seg(m.costCategory ?? "unknown");
    const planned = centimes(m.costExpected ?? m.cost);
    out.push({
      day,
      scope: ALL_SCOPE,
      id: `${id}:planned`,
      inc: { [`planned.${category}.count`]: 1, [`planned.${category}.centimes`]: planned },
    });
    if (m.costSource === "meta") {
      out.push({
        day,
        scope: ALL_SCOPE,
        id: `${id}:billed`,
        inc: { [`billed.${category}.count`]: 1, [`billed.${category}.centimes`]: centimes(m.cost) },
      });
    }
  }
  return out;
}

/**
 * Counter events that need the conversation around a message: `before` holds the messages of its
 * conversation that precede it (newest first, as far back as the last template at least), `phone`
 * the candidate's number.
 *
 * - an inbound message: its hour × weekday in the candidate's zone; the reply to the latest template
 *   before it when it is the first inbound since that template (replied within 24 h / 72 h, delay
 *   from delivery); an opt-out word after a template; a window left unanswered (the candidate writes
 *   again more than 24 h after its previous message, with no recruiter message between);
 * - an outbound message (not an automatic fallback): the recruiter's response to the candidate's
 *   run of messages before it (delay from the run's first message; a template is no response), and
 *   that run's window closed unanswered when it came more than 24 h after the run's last message.
 */
export function conversationEvents(
  m: AnalyticsMessage,
  before: AnalyticsMessage[],
  phone: string | null | undefined,
): CounterEvent[] {
  const out: CounterEvent[] = [];
  const ts = new Date(m.timestamp).getTime();
  if (m.direction === "inbound") {
    const { weekday, hour } = localWeekdayHour(new Date(m.timestamp), candidateZone(phone));
    out.push({
      day: dayOf(m.timestamp),
      scope: ALL_SCOPE,
      id: `${m._id.toHexString()}:hour`,
      inc: { [`hours.${weekday}_${hour}`]: 1 },
    });
    // The latest template before it, and whether an inbound came in between.
    let answeredBefore = false;
    let template: AnalyticsMessage | null = null;
    for (const p of before) {
      if (isTemplate(p)) {
        template = p;
        break;
      }
      if (p.direction === "inbound") answeredBefore = true;
    }
    if (template?.template) {
      const tid = template._id.toHexString();
      const day = dayOf(template.timestamp);
      const scope = templateScope(template.template.name, template.template.language);
      if (!answeredBefore) out.push(...replyEvents(template, m));
      if (isOptOut(m.text)) out.push({ day, scope, id: `${tid}:optout`, inc: { optedOut: 1 } });
    }
    const prev = before[0];
    if (prev?.direction === "inbound" && ts - new Date(prev.timestamp).getTime() > WINDOW_MS) {
      const closed = new Date(new Date(prev.timestamp).getTime() + WINDOW_MS);
      out.push({
        day: dayOf(closed),
        scope: ALL_SCOPE,
        id: `${prev._id.toHexString()}:unanswered`,
        inc: { windowsUnanswered: 1 },
      });
    }
    return out;
  }
  if (m.fallbackOf) return out;
  // The candidate's run of messages just before this one: inbound, no recruiter message, no 24 h gap.
  const run: AnalyticsMessage[] = [];
  for (const p of before) {
    if (p.direction !== "inbound") break;
    const next = run.length ? run[run.length - 1]! : m;
    if (run.length && new Date(next.timestamp).getTime() - new Date(p.timestamp).getTime() > WINDOW_MS) break;
    run.push(p);
  }
  if (!run.length) return out;
  const first = run[run.length - 1]!;
  const last = run[0]!;
  const delay = ts - new Date(first.timestamp).getTime();
  // A template (a new contact once the window closed) is no answer to the run; its window still closed unanswered.
  if (!isTemplate(m))
    out.push({
      day: dayOf(first.timestamp),
      scope: ALL_SCOPE,
      id: `${first._id.toHexString()}:response`,
      inc: { responses: 1, [`responseDelay.${delayBucket(delay)}`]: 1 },
    });
  if (ts - new Date(last.timestamp).getTime() > WINDOW_MS) {
    const closed = new Date(new Date(last.timestamp).getTime() + WINDOW_MS);
    out.push({
      day: dayOf(closed),
      scope: ALL_SCOPE,
      id: `${last._id.toHexString()}:unanswered`,
      inc: { windowsUnanswered: 1 },
    });
  }
  return out;
}

/**
 * The first reply to a template: counted as a reply at once; its delay (and so replied within 24 h
 * / 72 h) once the template's delivery time is known, which may come after the reply (statuses are
 * unordered): whichever of the two is projected second counts it, under the same id.
 */
export function replyEvents(template: AnalyticsMessage, reply: AnalyticsMessage): CounterEvent[] {
  if (!template.template) return [];
  const tid = template._id.toHexString();
  const day = dayOf(template.timestamp);
  const scope = templateScope(template.template.name, template.template.language);
  const out: CounterEvent[] = [
    { day, scope, id: `${tid}:reply`, inc: { replied: 1 } },
    { day, scope: ALL_SCOPE, id: `${tid}:reply`, inc: { replies: 1 } },
  ];
  const delivered = at(template, "delivered") ?? at(template, "read");
  if (delivered) {
    const delay = new Date(reply.timestamp).getTime() - delivered.getTime();
    out.push({
      day,
      scope,
      id: `${tid}:replyTime`,
      inc: {
        ...(delay <= WINDOW_MS ? { replied24h: 1 } : {}),
        ...(delay <= 3 * WINDOW_MS ? { replied72h: 1 } : {}),
        [`replyDelay.${delayBucket(delay)}`]: 1,
      },
    });
  }
  return out;
}

/**
 * A template's first reply, from the messages after it (oldest first): the first inbound message
 * before any later template, or null.
 */
export function firstReplyAfter(after: AnalyticsMessage[]): AnalyticsMessage | null {
  for (const m of after) {
    if (isTemplate(m)) return null;
    if (m.direction === "inbound") return m;
  }
  return null;
}

/** Counter events of one application: counted on its first send's day; each outcome on the day it was reported. */
export function applicationEvents(a: {
  applicationId: string;
  firstSentAt: Date;
  outcomes?: Partial<Record<"interview" | "hired" | "rejected", Date>> | null;
}): CounterEvent[] {
  const id = `app:${a.applicationId}`;
  const out: CounterEvent[] = [{ day: dayOf(a.firstSentAt), scope: ALL_SCOPE, id, inc: { applications: 1 } }];
  for (const [stage, when] of Object.entries(a.outcomes ?? {})) {
    if (!when) continue;
    const field = stage === "interview" ? "interviews" : stage === "hired" ? "hires" : "rejections";
    out.push({ day: dayOf(new Date(when)), scope: ALL_SCOPE, id: `${id}:${stage}`, inc: { [field]: 1 } });
  }
  return out;
}
