import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Types } from "mongoose";
import { parse } from "csv-parse/sync";
import { analyticsSeed, tokenFor } from "@linkojob/testing";
import { startTestIngress, type TestIngress } from "../ingress.harness.js";

let h: TestIngress;
const tenants: Array<{
  clientId: Types.ObjectId;
  userId: string;
  jwt: string;
  messages: Array<Record<string, unknown>>;
}> = [];

beforeAll(async () => {
  h = await startTestIngress("analytics");
  for (const [i, userId] of [`rec-a-${h.services.id}`, `rec-b-${h.services.id}`].entries()) {
    const client = await h.db.clients.create({
      userId,
      companyName: i === 0 ? "Atlas Recrutement" : "شركة الأطلس",
      phoneNumberId: `55${Date.now() % 1_000_000}${i}`,
      wabaId: `waba-analytics-${i}`,
      whatsappNumber: "212522000000",
      status: "active",
    });
    const seed = analyticsSeed({
      clientId: client._id,
      conversations: i === 0 ? 60 : 25,
      start: new Date("2026-09-25T00:00:00Z"),
      days: 14,
      seed: 11 + i,
    });
    await h.db.conversations.collection.insertMany(seed.conversations);
    await h.db.messages.collection.insertMany(seed.messages);
    await h.db.analytics().rebuild(client._id);
    tenants.push({ clientId: client._id, userId, jwt: await tokenFor(userId, "recruiter"), messages: seed.messages });
  }
});
afterAll(async () => {
  await h?.close();
});

const get = (url: string, jwt: string, accept = "application/json") =>
  h.app.inject({ method: "GET", url, headers: { authorization: `Bearer ${jwt}`, accept } });

/** What the seeded messages say, counted directly (the expected figures). */
function expectedFunnel(messages: Array<Record<string, unknown>>, from: string, to: string) {
  const day = (m: Record<string, unknown>) => (m.timestamp as Date).toISOString().slice(0, 10);
  const templates = messages.filter((m) => m.kind === "template" && day(m) >= from && day(m) <= to);
  const statusAt = (m: Record<string, unknown>) => (m.statusAt ?? {}) as Record<string, Date>;
  return {
    // Sent: accepted by Meta (a wamid), failures reported after acceptance included.
    sent: templates.filter((m) => statusAt(m).sent || statusAt(m).delivered || m.wamid).length,
    delivered: templates.filter((m) => statusAt(m).delivered).length,
    read: templates.filter((m) => statusAt(m).read).length,
    failed: templates.filter((m) => m.status === "failed").length,
  };
}

describe("analytics API", () => {
  it("answers a recruiter's own figures per template, equal to its stored messages, and never another tenant's", async () => {
    const [a, b] = tenants;
    const res = await get("/api/analytics/templates?from=2026-09-25&to=2026-10-31&granularity=week", a!.jwt);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ clientId: a!.clientId.toHexString(), from: "2026-09-25", to: "2026-10-31" });
    const sum = (k: "sent" | "delivered" | "read") =>
      (body.templates as Array<Record<string, number>>).reduce((n, t) => n + t[k]!, 0);
    const want = expectedFunnel(a!.messages, "2026-09-25", "2026-10-31");
    expect({ sent: sum("sent"), delivered: sum("delivered"), read: sum("read") }).toEqual({
      sent: want.sent,
      delivered: want.delivered,
      read: want.read,
    });
    const failed = (body.templates as Array<{ failed: Record<string, number> }>)
      .flatMap((t) => Object.values(t.failed))
      .reduce((n, v) => n + v, 0);
    expect(failed).toBe(want.failed);
    for (const t of body.templates as Array<Record<string, unknown>>) {
      expect(Object.keys(t)).toEqual(
        expect.arrayContaining([
          "sent",
          "delivered",
          "read",
          "replied24h",
          "replied72h",
          "failed",
          "optedOut",
          "replyRate",
          "replyTime",
        ]),
      );
      expect((t.byPeriod as Array<{ period: string }>).every((p) => /^\d{4}-\d{2}-\d{2}$/.test(p.period))).toBe(true);
    }

    // B's figures differ; A cannot name B's client; the service token must name one.
    const own = await get("/api/analytics/templates?from=2026-09-25&to=2026-10-31", b!.jwt);
    expect(own.json().clientId).toBe(b!.clientId.toHexString());
    const sumB = (own.json().templates as Array<{ sent: number }>).reduce((n, t) => n + t.sent, 0);
    expect(sumB).toBe(expectedFunnel(b!.messages, "2026-09-25", "2026-10-31").sent);
    const cross = await get(`/api/analytics/costs?clientId=${b!.clientId.toHexString()}`, a!.jwt);
    expect(cross.statusCode).toBe(403);
    expect(cross.json().error.code).toBe("FORBIDDEN");
    const service = await tokenFor("platform", "service");
    expect((await get("/api/analytics/costs", service)).statusCode).toBe(400);
    const asService = await get(`/api/analytics/costs?clientId=${b!.clientId.toHexString()}&from=2026-09-01`, service);
    expect(asService.statusCode).toBe(200);
    expect(asService.json().clientId).toBe(b!.clientId.toHexString());
  });

  it("reports costs planned vs billed by category and day, with the service messages billed from 2026-10-01 only", async () => {
    const [a] = tenants;
    const res = await get("/api/analytics/costs?from=2026-09-25&to=2026-12-31", a!.jwt);
    const { costs } = res.json();
    const sent = a!.messages.filter((m) => m.direction === "outbound" && m.wamid);
    const cents = (list: Array<Record<string, unknown>>, k: "costExpected" | "cost") =>
      list.reduce((n, m) => n + Math.round((m[k] as number) * 100), 0) / 100;
    expect(costs.planned.total).toBe(cents(sent, "costExpected"));
    expect(costs.billed.total).toBe(
      cents(
        sent.filter((m) => m.costSource === "meta"),
        "cost",
      ),
    );
    const service = (costs.byPeriod as Array<{ period: string; billed: Record<string, { cost: number }> }>).filter(
      (p) => p.billed.service,
    );
    expect(service.filter((p) => p.period < "2026-10-01").every((p) => p.billed.service!.cost === 0)).toBe(true);
    expect(service.some((p) => p.period >= "2026-10-01" && p.billed.service!.cost > 0)).toBe(true);
    expect(costs.applications).toBe(60);
    expect(costs.costPerReply).toBeGreaterThan(0);
    expect(costs.costPerHire).toBeNull();
  });

  it("gives hours × weekdays, response times and unanswered windows", async () => {
    const [a] = tenants;
    const hours = (await get("/api/analytics/reply-hours?from=2026-09-25&to=2026-12-31", a!.jwt)).json().replyHours;
    const inbound = a!.messages.filter((m) => m.direction === "inbound").length;
    expect(hours.total).toBe(inbound);
    expect(hours.counts).toHaveLength(7);
    expect(hours.counts.every((row: number[]) => row.length === 24)).toBe(true);
    const responses = (await get("/api/analytics/response-times?from=2026-09-25&to=2026-12-31", a!.jwt)).json()
      .responses;
    expect(responses.responses).toBe(a!.messages.filter((m) => m.kind === "text").length);
    expect(responses.medianMinutes).toBeGreaterThan(0);
    expect(responses.p90Minutes).toBeGreaterThanOrEqual(responses.medianMinutes);
  });

  it("refuses a bad query with a 400 naming the problem", async () => {
    const [a] = tenants;
    const bad = await get("/api/analytics/templates?granularity=hour", a!.jwt);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("VALIDATION_ERROR");
    const reversed = await get("/api/analytics/templates?from=2026-11-02&to=2026-11-01", a!.jwt);
    expect(reversed.statusCode).toBe(400);
    expect(reversed.json().error.message).toMatch(/from must not be after to/);
    const tooLong = await get("/api/analytics/costs?from=2024-01-01&to=2026-11-01", a!.jwt);
    expect(tooLong.statusCode).toBe(400);
    expect((await get("/api/analytics/costs?foo=1", a!.jwt)).statusCode).toBe(400);
    expect((await get("/api/analytics/costs?from=yesterday", a!.jwt)).statusCode).toBe(400);
  });

  it("exports the same figures as CSV with Accept: text/csv", async () => {
    const [a] = tenants;
    const json = (await get("/api/analytics/costs?from=2026-09-25&to=2026-12-31", a!.jwt)).json();
    const res = await get("/api/analytics/costs?from=2026-09-25&to=2026-12-31", a!.jwt, "text/csv");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/csv/);
    expect(res.headers["content-disposition"]).toMatch(/costs-2026-09-25-2026-12-31\.csv/);
    const rows = parse<Record<string, string>>(res.body, { columns: true });
    const billed = rows.reduce((n, r) => n + Math.round(Number(r.billedCost) * 100), 0) / 100;
    expect(billed).toBe(json.costs.billed.total);
    const tpl = await get("/api/analytics/templates?from=2026-09-25&to=2026-12-31", a!.jwt, "text/csv");
    const tplRows = parse<Record<string, string>>(tpl.body, { columns: true });
    const templates = (await get("/api/analytics/templates?from=2026-09-25&to=2026-12-31", a!.jwt)).json()
      .templates as Array<{ sent: number }>;
    expect(tplRows.reduce((n, r) => n + Number(r.sent), 0)).toBe(templates.reduce((n, t) => n + t.sent, 0));
  });

  it("records an application's outcome for its own client only, once per stage", async () => {
    const [a, b] = tenants;
    const appId = a!.messages.find((m) => m.kind === "template")!.request as { applicationId: string };
    const post = (jwt: string, applicationId: string, payload: unknown) =>
      h.app.inject({
        method: "POST",
        url: `/api/applications/${encodeURIComponent(applicationId)}/outcome`,
        headers: { authorization: `Bearer ${jwt}` },
        payload: payload as object,
      });
    const first = await post(a!.jwt, appId.applicationId, { stage: "hired" });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ success: true, stage: "hired" });
    expect((await post(a!.jwt, appId.applicationId, { stage: "hired" })).statusCode).toBe(200);
    expect((await post(b!.jwt, appId.applicationId, { stage: "hired" })).statusCode).toBe(404);
    expect((await post(a!.jwt, appId.applicationId, { stage: "promoted" })).statusCode).toBe(400);
    const costs = (await get("/api/analytics/costs?from=2026-09-01&to=2026-12-31", a!.jwt)).json().costs;
    expect(costs.hires).toBe(1);
    expect(costs.costPerHire).toBeGreaterThan(0);
  });

  it("documents every analytics route in the OpenAPI document", async () => {
    const doc = (await h.app.inject({ method: "GET", url: "/docs/json" })).json();
    for (const path of [
      "/api/analytics/templates",
      "/api/analytics/costs",
      "/api/analytics/reply-hours",
      "/api/analytics/response-times",
      "/api/analytics/summary",
    ])
      expect(doc.paths[path]?.get?.tags).toContain("analytics");
    expect(doc.paths["/api/applications/{applicationId}/outcome"]?.post).toBeDefined();
  });
});
