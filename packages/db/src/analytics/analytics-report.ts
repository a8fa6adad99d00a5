import { DAY_MS, DELAY_BUCKETS_MIN, DELAY_OVERFLOW } from "./analytics-events.js";
import type { AnalyticsCounterDoc } from "./analytics.model.js";

export type Granularity = "day" | "week" | "month";

type Counts = Record<string, unknown>;
const num = (v: unknown) => (typeof v === "number" ? v : 0);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === "object" ? (v as Record<string, unknown>) : {});
const mad = (centimes: number) => Math.round(centimes) / 100;
const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 10_000) / 10_000 : null);
const perUnit = (centimes: number, n: number) => (n > 0 ? Math.round(centimes / n) / 100 : null);

/** The period a day belongs to: the day, its ISO week's Monday, or its month. */
export function periodOf(day: string, g: Granularity): string {
  if (g === "day") return day;
  if (g === "month") return day.slice(0, 7);
  const d = new Date(`${day}T00:00:00Z`);
  const monday = new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * DAY_MS);
  return monday.toISOString().slice(0, 10);
}

/** A histogram's counts added together. */
function addHistogram(into: number[], h: unknown) {
  for (const [k, v] of Object.entries(obj(h))) {
    const i = Number(k);
    if (Number.isInteger(i) && i >= 0 && i <= DELAY_OVERFLOW) into[i] = (into[i] ?? 0) + num(v);
  }
}

/**
 * The q-quantile (0.5, 0.9) of a delay histogram, in minutes: the rank's bucket, interpolated
 * linearly between its bounds. Null with no sample; the last bound when the rank falls past it.
 */
export function histogramQuantile(h: number[], q: number): number | null {
  const total = h.reduce((a, b) => a + (b ?? 0), 0);
  if (!total) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i <= DELAY_OVERFLOW; i++) {
    const n = h[i] ?? 0;
    if (n && seen + n >= rank) {
      if (i === DELAY_OVERFLOW) return DELAY_BUCKETS_MIN[DELAY_OVERFLOW - 1]!;
      const lo = i === 0 ? 0 : DELAY_BUCKETS_MIN[i - 1]!;
      const hi = DELAY_BUCKETS_MIN[i]!;
      return Math.round((lo + ((rank - seen) / n) * (hi - lo)) * 10) / 10;
    }
    seen += n;
  }
  return DELAY_BUCKETS_MIN[DELAY_OVERFLOW - 1]!;
}

const histogramJson = (h: number[]) =>
  Array.from({ length: DELAY_OVERFLOW + 1 }, (_, i) => ({
    upToMinutes: i < DELAY_OVERFLOW ? DELAY_BUCKETS_MIN[i]! : null,
    count: h[i] ?? 0,
  }));

export interface TemplateFigures {
  name: string;
  language: string;
  sent: number;
  delivered: number;
  read: number;
  replied: number;
  replied24h: number;
  replied72h: number;
  failed: Record<string, number>;
  optedOut: number;
  /** replied24h / delivered (null when nothing was delivered). */
  replyRate: number | null;
  /** Delivery → first reply, minutes (from the histogram). */
  replyTime: { medianMinutes: number | null; p90Minutes: number | null };
  replyTimeHistogram: Array<{ upToMinutes: number | null; count: number }>;
}

/** Templates sent in the period, by name and language (a cohort: their later replies included). */
export function templateFigures(docs: AnalyticsCounterDoc[]): TemplateFigures[] {
  const by = new Map<
    string,
    { name: string; language: string; c: Counts; failed: Record<string, number>; hist: number[] }
  >();
  for (const d of docs) {
    if (!d.scope.startsWith("t:")) continue;
    const [, name = "", language = ""] = /^t:(.*):([^:]*)$/.exec(d.scope) ?? [];
    const t = by.get(d.scope) ?? { name, language, c: {}, failed: {}, hist: [] };
    const c = obj(d.c);
    for (const k of ["sent", "delivered", "read", "replied", "replied24h", "replied72h", "optedOut"])
      t.c[k] = num(t.c[k]) + num(c[k]);
    for (const [code, n] of Object.entries(obj(c.failed))) t.failed[code] = (t.failed[code] ?? 0) + num(n);
    addHistogram(t.hist, c.replyDelay);
    by.set(d.scope, t);
  }
  return [...by.values()]
    .map((t) => ({
      name: t.name,
      language: t.language,
      sent: num(t.c.sent),
      delivered: num(t.c.delivered),
      read: num(t.c.read),
      replied: num(t.c.replied),
      replied24h: num(t.c.replied24h),
      replied72h: num(t.c.replied72h),
      failed: t.failed,
      optedOut: num(t.c.optedOut),
      replyRate: ratio(num(t.c.replied24h), num(t.c.delivered)),
      replyTime: { medianMinutes: histogramQuantile(t.hist, 0.5), p90Minutes: histogramQuantile(t.hist, 0.9) },
      replyTimeHistogram: histogramJson(t.hist),
    }))
    .sort((a, b) => b.sent - a.sent || a.name.localeCompare(b.name) || a.language.localeCompare(b.language));
}

type CategoryCost = { count: number; cost: number };
export interface CostFigures {
  currency: "MAD";
  planned: { total: number; count: number; byCategory: Record<string, CategoryCost> };
  billed: { total: number; count: number; byCategory: Record<string, CategoryCost> };
  byPeriod: Array<{ period: string; planned: Record<string, CategoryCost>; billed: Record<string, CategoryCost> }>;
  replies: number;
  applications: number;
  interviews: number;
  hires: number;
  /** Billed cost (planned where Meta has not priced yet) divided by each count; null when zero. */
  costPerReply: number | null;
  costPerApplication: number | null;
  costPerInterview: number | null;
  costPerHire: number | null;
}

/** Costs of the messages sent in the period by category and by period, planned vs billed, and per outcome. */
export function costFigures(docs: AnalyticsCounterDoc[], g: Granularity): CostFigures {
  const planned: Record<string, { count: number; centimes: number }> = {};
  const billed: Record<string, { count: number; centimes: number }> = {};
  const periods = new Map<string, { planned: typeof planned; billed: typeof billed }>();
  let replies = 0;
  let applications = 0;
  let interviews = 0;
  let hires = 0;
  const addCosts = (into: typeof planned, from: unknown) => {
    for (const [cat, v] of Object.entries(obj(from))) {
      const e = (into[cat] ??= { count: 0, centimes: 0 });
      e.count += num(obj(v).count);
      e.centimes += num(obj(v).centimes);
    }
  };
  for (const d of docs) {
    if (d.scope !== "all") continue;
    const c = obj(d.c);
    addCosts(planned, c.planned);
    addCosts(billed, c.billed);
    const p = periods.get(periodOf(d.day, g)) ?? { planned: {}, billed: {} };
    addCosts(p.planned, c.planned);
    addCosts(p.billed, c.billed);
    periods.set(periodOf(d.day, g), p);
    replies += num(c.replies);
    applications += num(c.applications);
    interviews += num(c.interviews);
    hires += num(c.hires);
  }
  const json = (x: typeof planned) =>
    Object.fromEntries(Object.entries(x).map(([k, v]) => [k, { count: v.count, cost: mad(v.centimes) }]));
  const sum = (x: typeof planned) => Object.values(x).reduce((a, v) => a + v.centimes, 0);
  const count = (x: typeof planned) => Object.values(x).reduce((a, v) => a + v.count, 0);
  // What the period cost: Meta's figure where it priced, the plan elsewhere (sent but not priced yet).
  let spent = sum(billed);
  for (const [cat, v] of Object.entries(planned)) {
    const unpriced = v.count - (billed[cat]?.count ?? 0);
    if (unpriced > 0 && v.count > 0) spent += (v.centimes / v.count) * unpriced;
  }
  return {
    currency: "MAD",
    planned: { total: mad(sum(planned)), count: count(planned), byCategory: json(planned) },
    billed: { total: mad(sum(billed)), count: count(billed), byCategory: json(billed) },
    byPeriod: [...periods.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([period, p]) => ({ period, planned: json(p.planned), billed: json(p.billed) })),
    replies,
    applications,
    interviews,
    hires,
    costPerReply: perUnit(spent, replies),
    costPerApplication: perUnit(spent, applications),
    costPerInterview: perUnit(spent, interviews),
    costPerHire: perUnit(spent, hires),
  };
}

export interface ReplyHours {
  /** Zone rule: each candidate's own (from the number's country), else Africa/Casablanca. */
  weekdays: string[];
  /** counts[weekday][hour], weekday 0 = Monday, hour 0–23 in the candidate's local time. */
  counts: number[][];
  total: number;
}

/** Candidates' messages by their local weekday × hour, over the period. */
export function replyHours(docs: AnalyticsCounterDoc[]): ReplyHours {
  const counts = Array.from({ length: 7 }, () => Array.from({ length: 24 }, () => 0));
  let total = 0;
  for (const d of docs) {
    if (d.scope !== "all") continue;
    for (const [k, v] of Object.entries(obj(obj(d.c).hours))) {
      const m = /^(\d)_(\d{1,2})$/.exec(k);
      if (!m) continue;
      const w = Number(m[1]);
      const h = Number(m[2]);
      if (w > 6 || h > 23) continue;
      counts[w]![h]! += num(v);
      total += num(v);
    }
  }
  return { weekdays: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], counts, total };
}

export interface ResponseFigures {
  /** Candidate runs of messages a recruiter answered (first message of the run → the reply). */
  responses: number;
  medianMinutes: number | null;
  p90Minutes: number | null;
  histogram: Array<{ upToMinutes: number | null; count: number }>;
  /** Windows (24 h after a candidate's last message) that closed with no recruiter message. */
  windowsUnanswered: number;
}

export function responseFigures(docs: AnalyticsCounterDoc[]): ResponseFigures {
  const hist: number[] = [];
  let responses = 0;
  let unanswered = 0;
  for (const d of docs) {
    if (d.scope !== "all") continue;
    const c = obj(d.c);
    responses += num(c.responses);
    unanswered += num(c.windowsUnanswered);
    addHistogram(hist, c.responseDelay);
  }
  return {
    responses,
    medianMinutes: histogramQuantile(hist, 0.5),
    p90Minutes: histogramQuantile(hist, 0.9),
    histogram: histogramJson(hist),
    windowsUnanswered: unanswered,
  };
}
