import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  costFigures,
  objectIdSchema,
  periodOf,
  replyHours,
  responseFigures,
  templateFigures,
  type AnalyticsCounterDoc,
  type AnalyticsProjector,
  type Database,
  type Granularity,
} from "@linkojob/db";
import { badRequest, notFound } from "../http/errors.js";
import type { TenantAccess } from "../auth/tenant-access.js";
import { toCsv } from "./analytics-csv.js";

export interface AnalyticsRoutesOptions {
  tenants: TenantAccess;
  /** Reads the counters; records outcomes under the counters' locks (shared with the workers). */
  analytics: () => Promise<AnalyticsProjector>;
  /** For the client's name in the summary (the page's header). */
  db: Database;
}

/** The longest period one call may ask for. */
const MAX_DAYS = 366;
const DAY_MS = 86_400_000;

const dayOrInstant = z.iso.date().or(z.iso.datetime({ offset: true }));
export const analyticsQuerySchema = z.strictObject({
  clientId: objectIdSchema.optional(),
  from: dayOrInstant
    .optional()
    .describe("first day (UTC) of the period, YYYY-MM-DD or an ISO instant; default 30 days before `to`"),
  to: dayOrInstant.optional().describe("last day (UTC) of the period, inclusive; default today"),
  granularity: z
    .enum(["day", "week", "month"])
    .default("day")
    .describe("periods of `byPeriod`: days, ISO weeks (their Monday) or months"),
});
type AnalyticsQuery = z.infer<typeof analyticsQuerySchema>;

/** The period's UTC days, checked. */
function periodOfQuery(q: AnalyticsQuery): { from: string; to: string; granularity: Granularity } {
  const to = q.to ? new Date(q.to) : new Date();
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - 29 * DAY_MS);
  const fromDay = from.toISOString().slice(0, 10);
  const toDay = to.toISOString().slice(0, 10);
  if (fromDay > toDay) throw badRequest("from must not be after to", { from: fromDay, to: toDay });
  const days = (Date.parse(`${toDay}T00:00:00Z`) - Date.parse(`${fromDay}T00:00:00Z`)) / DAY_MS + 1;
  if (days > MAX_DAYS)
    throw badRequest(`a period is at most ${MAX_DAYS} days (asked: ${days})`, { from: fromDay, to: toDay });
  return { from: fromDay, to: toDay, granularity: q.granularity };
}

const wantsCsv = (request: FastifyRequest) => /\btext\/csv\b/i.test(request.headers.accept ?? "");

function groupByPeriod(docs: AnalyticsCounterDoc[], g: Granularity): Array<[string, AnalyticsCounterDoc[]]> {
  const by = new Map<string, AnalyticsCounterDoc[]>();
  for (const d of docs) {
    const p = periodOf(d.day, g);
    by.set(p, [...(by.get(p) ?? []), d]);
  }
  return [...by.entries()].sort(([a], [b]) => a.localeCompare(b));
}

/** Every figure of a period, as the page and the CSV exports use them. */
export function analyticsReport(docs: AnalyticsCounterDoc[], g: Granularity) {
  const periods = groupByPeriod(docs, g);
  const templates = templateFigures(docs).map((t) => ({
    ...t,
    byPeriod: periods.flatMap(([period, ds]) => {
      const f = templateFigures(ds).find((x) => x.name === t.name && x.language === t.language);
      if (!f) return [];
      const { replyTimeHistogram: _h, name: _n, language: _l, ...rest } = f;
      return [{ period, ...rest }];
    }),
  }));
  const responses = {
    ...responseFigures(docs),
    byPeriod: periods.map(([period, ds]) => {
      const { histogram: _h, ...rest } = responseFigures(ds);
      return { period, ...rest };
    }),
  };
  return { templates, costs: costFigures(docs, g), replyHours: replyHours(docs), responses };
}

/**
 * The recruiters' analytics (GET /api/analytics/…), tenant-scoped like every REST route (a recruiter
 * for its own client, a service or admin token naming one), from the counters kept as messages and
 * statuses are written: each call reads one index range of the tenant's counter documents (one per
 * day and template), never its messages. `Accept: text/csv` answers the same figures as CSV.
 */
export const analyticsRoutes: FastifyPluginCallback<AnalyticsRoutesOptions> = (base, opts, done) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", app.authenticate);

  const load = async (request: FastifyRequest, q: AnalyticsQuery) => {
    const tenant = await opts.tenants.resolve(request.principal, q.clientId);
    const period = periodOfQuery(q);
    const docs = await (await opts.analytics()).counters.read(tenant.clientId, period.from, period.to);
    return { clientId: tenant.clientId.toHexString(), ...period, docs };
  };
  const answer = (
    request: FastifyRequest,
    reply: FastifyReply,
    name: string,
    head: { clientId: string; from: string; to: string; granularity: Granularity },
    body: Record<string, unknown>,
    csv: () => Array<Record<string, unknown>>,
  ) => {
    reply.header("cache-control", "private, no-store").header("vary", "accept");
    if (!wantsCsv(request)) return reply.send({ ...head, currency: "MAD", ...body });
    return reply
      .type("text/csv; charset=utf-8")
      .header("content-disposition", `attachment; filename="${name}-${head.from}-${head.to}.csv"`)
      .send(toCsv(csv()));
  };
  const describe = (summary: string, description: string) => ({
    tags: ["analytics"],
    summary,
    description: `${description} Tenant-scoped: a recruiter sees only its own client; service and admin tokens name one. Answers \`text/csv\` when asked with \`Accept: text/csv\`.`,
    querystring: analyticsQuerySchema,
  });

  app.get(
    "/api/analytics/templates",
    {
      schema: describe(
        "Funnel per template (name, language) of the templates sent in the period",
        "`templates[]`: `sent`, `delivered`, `read`, `replied` (first replies), `replied24h` / `replied72h` (first reply within 24 / 72 h of delivery), `failed` (by Meta error code), `optedOut` (a reply that is only an opt-out word: STOP, Arrêt, توقف…), `replyRate` (replied24h / delivered), `replyTime` (delivery → first reply, median and p90 in minutes, from a histogram: exact to its bucket), `replyTimeHistogram`, and `byPeriod`. Counted on the day the template was sent (a cohort).",
      ),
    },
    async (request, reply) => {
      const { docs, ...head } = await load(request, request.query);
      const { templates } = analyticsReport(docs, head.granularity);
      return answer(request, reply, "templates", head, { templates }, () =>
        templates.flatMap((t) =>
          t.byPeriod.map((p) => ({
            period: p.period,
            template: t.name,
            language: t.language,
            sent: p.sent,
            delivered: p.delivered,
            read: p.read,
            replied24h: p.replied24h,
            replied72h: p.replied72h,
            optedOut: p.optedOut,
            replyRate: p.replyRate,
            replyMedianMinutes: p.replyTime.medianMinutes,
            replyP90Minutes: p.replyTime.p90Minutes,
            failed: Object.entries(p.failed)
              .map(([code, n]) => `${code}:${n}`)
              .join(" "),
          })),
        ),
      );
    },
  );

  app.get(
    "/api/analytics/costs",
    {
      schema: describe(
        "Cost of the period's messages by category and by period, planned vs billed, and per reply, application, interview, hire",
        "`planned` (the rate card at acceptance) and `billed` (Meta's pricing from the status webhooks) by category, `byPeriod`, the counts of first replies, applications messaged (first send in the period), interviews and hires reported, and `costPerReply` / `costPerApplication` / `costPerInterview` / `costPerHire`: the billed cost, with the planned cost of sent messages Meta has not priced yet, divided by each count (null when zero). MAD.",
      ),
    },
    async (request, reply) => {
      const { docs, ...head } = await load(request, request.query);
      const { costs } = analyticsReport(docs, head.granularity);
      return answer(request, reply, "costs", head, { costs }, () =>
        costs.byPeriod.flatMap((p) =>
          [...new Set([...Object.keys(p.planned), ...Object.keys(p.billed)])].sort().map((category) => ({
            period: p.period,
            category,
            plannedCount: p.planned[category]?.count ?? 0,
            plannedCost: p.planned[category]?.cost ?? 0,
            billedCount: p.billed[category]?.count ?? 0,
            billedCost: p.billed[category]?.cost ?? 0,
            currency: "MAD",
          })),
        ),
      );
    },
  );

  app.get(
    "/api/analytics/reply-hours",
    {
      schema: describe(
        "Candidates' messages by their local weekday × hour",
        "`counts[weekday][hour]` (weekday 0 = Monday, hour 0–23) in each candidate's own time zone: the zone of the country of its number (Intl, daylight saving included), else Africa/Casablanca. What a quiet-hours setting should be chosen from.",
      ),
    },
    async (request, reply) => {
      const { docs, ...head } = await load(request, request.query);
      const { replyHours: hours } = analyticsReport(docs, head.granularity);
      return answer(request, reply, "reply-hours", head, { replyHours: hours }, () =>
        hours.counts.flatMap((row, w) => row.map((count, hour) => ({ weekday: hours.weekdays[w], hour, count }))),
      );
    },
  );

  app.get(
    "/api/analytics/response-times",
    {
      schema: describe(
        "Recruiter response time and windows that closed unanswered",
        "`responses` (candidate runs of messages answered), `medianMinutes` / `p90Minutes` (the run's first message → the recruiter's first message after it), `histogram`, `windowsUnanswered` (24-hour windows that closed with no recruiter message, counted once the conversation's next message shows it), and `byPeriod`.",
      ),
    },
    async (request, reply) => {
      const { docs, ...head } = await load(request, request.query);
      const { responses } = analyticsReport(docs, head.granularity);
      return answer(request, reply, "response-times", head, { responses }, () =>
        responses.byPeriod.map((p) => ({
          period: p.period,
          responses: p.responses,
          medianMinutes: p.medianMinutes,
          p90Minutes: p.p90Minutes,
          windowsUnanswered: p.windowsUnanswered,
        })),
      );
    },
  );

  app.get(
    "/api/analytics/summary",
    {
      schema: describe(
        "Every figure of the period in one answer (the analytics page's)",
        "`templates`, `costs`, `replyHours` and `responses`, as the four routes answer them, and `client.companyName`. As CSV: one section per figure.",
      ),
    },
    async (request, reply) => {
      const { docs, ...head } = await load(request, request.query);
      const report = analyticsReport(docs, head.granularity);
      const client = await opts.db.clients.findOne({ _id: head.clientId }, { companyName: 1 }).lean();
      return answer(
        request,
        reply,
        "analytics",
        head,
        { client: { companyName: client?.companyName ?? null }, ...report },
        () => [
          ...report.templates.map((t) => ({
            section: "template",
            key: `${t.name}:${t.language}`,
            sent: t.sent,
            delivered: t.delivered,
            read: t.read,
            replied24h: t.replied24h,
            replied72h: t.replied72h,
            optedOut: t.optedOut,
            value: t.replyRate,
          })),
          ...Object.entries(report.costs.billed.byCategory).map(([category, v]) => ({
            section: "billed",
            key: category,
            sent: v.count,
            value: v.cost,
          })),
          ...Object.entries(report.costs.planned.byCategory).map(([category, v]) => ({
            section: "planned",
            key: category,
            sent: v.count,
            value: v.cost,
          })),
          { section: "responses", key: "medianMinutes", value: report.responses.medianMinutes },
          { section: "responses", key: "windowsUnanswered", value: report.responses.windowsUnanswered },
        ],
      );
    },
  );

  app.post(
    "/api/applications/:applicationId/outcome",
    {
      schema: {
        tags: ["analytics"],
        summary:
          "Reports an application's outcome (interview, hired, rejected): the cost per interview and per hire count it",
        description:
          "The application must be one the caller's client messaged (a send's `applicationId`): another client's, or one never messaged, is 404. Each stage keeps the time of its first report; reporting it again changes nothing.",
        params: z.strictObject({ applicationId: z.string().trim().min(1).max(100) }),
        querystring: z.strictObject({ clientId: objectIdSchema.optional() }),
        body: z.strictObject({
          stage: z.enum(["interview", "hired", "rejected"]),
          clientId: objectIdSchema.optional(),
        }),
      },
    },
    async (request) => {
      const tenant = await opts.tenants.resolve(request.principal, request.body.clientId ?? request.query.clientId);
      const app = await (
        await opts.analytics()
      ).recordOutcome(tenant.clientId, request.params.applicationId, request.body.stage);
      if (!app) throw notFound("application for this client");
      return {
        success: true,
        applicationId: app.applicationId,
        stage: request.body.stage,
        outcomes: Object.fromEntries(
          Object.entries(app.outcomes ?? {}).map(([k, v]) => [k, new Date(v).toISOString()]),
        ),
        firstSentAt: new Date(app.firstSentAt).toISOString(),
      };
    },
  );
  done();
};
