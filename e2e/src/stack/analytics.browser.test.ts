/**
 * The analytics page in a real browser (Debian's chromium driven by playwright-core): the listening
 * ingress serves /analytics and its API on the real MongoDB-protocol server and Redis; two tenants'
 * stored messages are counted by the analytics rebuild. The test reads each chart's data back from
 * Chart.js in the page and compares it with the API's JSON; a tenant's page never shows the other's.
 * Screenshots go to test-artifacts/analytics/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { buildApp } from "@linkojob/ingress";
import { createRedis, redisReady } from "@linkojob/queues";
import { analyticsSeed, testIngressConfig, testServices, tokenFor } from "@linkojob/testing";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = join(new URL("../../..", import.meta.url).pathname, "test-artifacts", "analytics");
const hasBrowser = existsSync(CHROMIUM);

/** What the page's charts hold, read in the page through Chart.js (a string: no DOM types here). */
const READ_CHARTS = `(() => {
  const read = (id) => {
    const chart = Chart.getChart(document.getElementById(id));
    if (!chart) return null;
    return {
      labels: chart.data.labels ?? [],
      datasets: chart.data.datasets.map((d) => ({ label: d.label, data: d.data, ...(d.category ? { category: d.category } : {}) })),
      drawn: chart.chartArea ? chart.chartArea.width > 0 && chart.chartArea.height > 0 : false,
    };
  };
  return {
    funnel: read("chart-funnel"),
    replies: read("chart-replies"),
    spend: read("chart-spend"),
    hours: read("chart-hours"),
    tenant: document.getElementById("tenant-name").textContent,
    tenantDir: getComputedStyle(document.getElementById("tenant-name")).direction,
    kpiBilled: document.getElementById("kpi-billed").textContent,
  };
})()`;

interface ChartRead {
  labels: string[];
  datasets: Array<{ label: string; category?: string; data: Array<number | { x: number; y: number; v: number }> }>;
  drawn: boolean;
}
interface PageRead {
  funnel: ChartRead;
  replies: ChartRead;
  spend: ChartRead;
  hours: ChartRead;
  tenant: string;
  tenantDir: string;
  kpiBilled: string;
}
interface Summary {
  clientId: string;
  client: { companyName: string };
  templates: Array<{
    name: string;
    language: string;
    sent: number;
    delivered: number;
    read: number;
    replied24h: number;
    replied72h: number;
    replyTimeHistogram: Array<{ upToMinutes: number | null; count: number }>;
  }>;
  costs: {
    billed: { total: number; byCategory: Record<string, { cost: number }> };
    byPeriod: Array<{ period: string; billed: Record<string, { cost: number }> }>;
  };
  replyHours: { counts: number[][]; total: number };
}

describe.skipIf(!hasBrowser)("analytics page in a real browser", () => {
  const services = testServices("analytics-e2e");
  let db: Database;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let url: string;
  let browser: BrowserContext;
  let page: Page;
  let userDataDir: string;
  const redis = createRedis(services.redisUrl, { failFast: true });
  const eventsRedis = createRedis(services.redisUrl);
  const tenants: Array<{ clientId: string; jwt: string; name: string }> = [];
  const outside: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    db = await Database.connect(services.mongoUrl);
    for (const [i, name] of ["Atlas Recrutement", "شركة الأطلس للتوظيف"].entries()) {
      const userId = `analytics-page-${services.id}-${i}`;
      const client = await db.clients.create({
        userId,
        companyName: name,
        phoneNumberId: `88${Date.now() % 1_000_000}${i}`,
        wabaId: `waba-analytics-page-${i}`,
        whatsappNumber: "212522000000",
        status: "active",
      });
      const seed = analyticsSeed({
        clientId: client._id,
        conversations: i === 0 ? 120 : 40,
        start: new Date("2026-09-20T00:00:00Z"),
        days: 25,
        seed: 101 + i,
      });
      await db.conversations.collection.insertMany(seed.conversations);
      await db.messages.collection.insertMany(seed.messages);
      await db.analytics().rebuild(client._id);
      tenants.push({ clientId: client._id.toHexString(), jwt: await tokenFor(userId, "recruiter"), name });
    }
    await redisReady(redis);
    app = await buildApp({
      config: testIngressConfig(services.prefix),
      redis,
      db,
      events: new DashboardEvents(eventsRedis),
      inbox: {},
    });
    url = await app.listen({ port: 0, host: "127.0.0.1" });

    userDataDir = mkdtempSync(join(tmpdir(), "analytics-chromium-"));
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1280, height: 1400 },
      locale: "fr-FR",
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on("request", (req) => {
      if (/^(https?|wss?):/.test(req.url()) && new URL(req.url()).hostname !== "127.0.0.1") outside.push(req.url());
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await app?.close();
    redis.disconnect();
    eventsRedis.disconnect();
    await db?.connection.dropDatabase().catch(() => undefined);
    await db?.close();
  });

  const PERIOD = "from=2026-09-20&to=2026-11-30&granularity=day";

  async function openAs(t: { clientId: string; jwt: string }): Promise<{ read: PageRead; summary: Summary }> {
    await page.goto(`${url}/analytics?${PERIOD}#token=${encodeURIComponent(t.jwt)}`);
    // Waits with selectors: the page's CSP forbids the string evaluation waitForFunction would need.
    await page.waitForSelector(`body[data-loaded="${t.clientId}|2026-09-20|2026-11-30"]`);
    const read = await page.evaluate<PageRead>(READ_CHARTS);
    const res = await fetch(`${url}/api/analytics/summary?${PERIOD}`, {
      headers: { authorization: `Bearer ${t.jwt}` },
    });
    return { read, summary: (await res.json()) as Summary };
  }

  it("draws every chart from the API's numbers", async () => {
    const { read, summary } = await openAs(tenants[0]!);
    await page.screenshot({ path: join(ARTIFACTS, "01-atlas.png"), fullPage: true });
    for (const chart of [read.funnel, read.replies, read.spend, read.hours]) expect(chart.drawn).toBe(true);

    // Funnel: one dataset per template, its five steps as the API counted them.
    expect(read.funnel.datasets).toEqual(
      summary.templates.map((t) => ({
        label: `${t.name} (${t.language})`,
        data: [t.sent, t.delivered, t.read, t.replied24h, t.replied72h],
      })),
    );
    expect(summary.templates.reduce((n, t) => n + t.sent, 0)).toBeGreaterThan(0);

    // Cumulative % replied: the last point is every timed first reply over the delivered messages.
    summary.templates.forEach((t, i) => {
      const timed = t.replyTimeHistogram.filter((b) => b.upToMinutes !== null).reduce((n, b) => n + b.count, 0);
      const last = read.replies.datasets[i]!.data.at(-1) as number;
      expect(last).toBe(t.delivered ? Math.round((timed / t.delivered) * 1000) / 10 : 0);
    });

    // Spend: every day of the period, 1 October included; each category's bars sum to the API's billed figure.
    expect(read.spend.labels[0]).toBe("2026-09-20");
    expect(read.spend.labels.at(-1)).toBe("2026-11-30");
    expect(read.spend.labels).toContain("2026-10-01");
    for (const [category, v] of Object.entries(summary.costs.billed.byCategory)) {
      const ds = read.spend.datasets.find((d) => d.category === category);
      expect(ds, category).toBeDefined();
      const sum = (ds!.data as number[]).reduce((n, x) => n + Math.round(x * 100), 0) / 100;
      expect(sum).toBe(v.cost);
    }
    for (const p of summary.costs.byPeriod) {
      const i = read.spend.labels.indexOf(p.period);
      const bars = read.spend.datasets.filter((d) => d.category);
      const day = bars.reduce((n, d) => n + Math.round((d.data[i] as number) * 100), 0) / 100;
      const want = Object.values(p.billed).reduce((n, v) => n + Math.round(v.cost * 100), 0) / 100;
      expect(day, p.period).toBe(want);
    }

    // Heat map: the 168 cells, each the API's count.
    const cells = read.hours.datasets[0]!.data as Array<{ x: number; y: number; v: number }>;
    expect(cells).toHaveLength(168);
    for (const c of cells) expect(c.v).toBe(summary.replyHours.counts[c.y]![c.x]);
    expect(cells.reduce((n, c) => n + c.v, 0)).toBe(summary.replyHours.total);

    expect(read.tenant).toBe("Atlas Recrutement");
    expect(read.kpiBilled).toMatch(/MAD/);
    expect(outside).toEqual([]);
  });

  it("shows a tenant with an Arabic name only its own figures", async () => {
    const [a, b] = tenants;
    const { read, summary } = await openAs(b!);
    await page.screenshot({ path: join(ARTIFACTS, "02-arabic-tenant.png"), fullPage: true });
    expect(summary.clientId).toBe(b!.clientId);
    expect(read.tenant).toBe(b!.name);
    // The name is isolated (bdi): its own direction, whatever the page's.
    expect(read.tenantDir).toBe("rtl");
    expect(read.funnel.datasets).toEqual(
      summary.templates.map((t) => ({
        label: `${t.name} (${t.language})`,
        data: [t.sent, t.delivered, t.read, t.replied24h, t.replied72h],
      })),
    );
    const otherRes = await fetch(`${url}/api/analytics/summary?${PERIOD}`, {
      headers: { authorization: `Bearer ${a!.jwt}` },
    });
    const other = (await otherRes.json()) as Summary;
    expect(other.clientId).toBe(a!.clientId);
    const sent = (s: Summary) => s.templates.reduce((n, t) => n + t.sent, 0);
    expect(sent(other)).not.toBe(sent(summary));
    expect((read.funnel.datasets as Array<{ data: number[] }>).reduce((n, d) => n + d.data[0]!, 0)).toBe(sent(summary));

    // B's token naming A's client: refused, and the page says so instead of drawing A's figures.
    await page.goto(`${url}/analytics?${PERIOD}#token=${encodeURIComponent(b!.jwt)}&clientId=${a!.clientId}`);
    await page.locator("#status", { hasText: "Erreur" }).waitFor();
    expect(await page.evaluate(`Chart.getChart(document.getElementById("chart-funnel"))`)).toBeUndefined();
  });
});
