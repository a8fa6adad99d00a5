import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenFor } from "@linkojob/testing";
import { startOnboardingHarness, type OnboardingHarness } from "../onboarding/onboarding.harness.js";
import { messagingState, simTemplate } from "@linkojob/meta-simulator";

let h: OnboardingHarness;
beforeAll(async () => {
  h = await startOnboardingHarness("tplroutes");
});
afterAll(async () => {
  await h?.close();
});

let seq = 0;
async function client(wabaId: string, token = `tok-${++seq}-${Date.now()}`) {
  seq++;
  const c = await h.db.clients.create({
    userId: `tpl-user-${h.services.id}-${seq}`,
    companyName: "ACME",
    phoneNumberId: `77${Date.now() % 1_000_000}${seq}`,
    wabaId,
    whatsappNumber: "212522000000",
    status: "active",
    accessToken: h.vault.encrypt(token),
  });
  return { doc: c.toObject(), token, jwt: await tokenFor(c.userId, "recruiter") };
}

const call = (method: "GET" | "POST", url: string, jwt: string, payload?: unknown) =>
  h.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${jwt}` },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });

describe("templates API", () => {
  it("syncs every page of a WABA's templates, lists them, and marks the ones Meta dropped as DELETED", async () => {
    const waba = `waba-${h.services.id}-a`;
    const sim = messagingState(h.sim.state);
    const many = Array.from({ length: 230 }, (_, i) =>
      simTemplate({ name: `tpl_${i}`, language: "fr", body: "Bonjour {{1}}" }),
    );
    sim.templates.set(waba, many);
    const c = await client(waba);
    const res = await call("POST", "/api/templates/sync", c.jwt, {});
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ success: true, wabaId: waba, count: 230, removed: 0 });
    // Three pages of 100 were asked for (paging.next followed to the end).
    expect(h.sim.state.requestsTo(new RegExp(`/${waba}/message_templates$`)).length).toBe(3);

    const list = await call("GET", "/api/templates", c.jwt);
    expect(list.json().templates).toHaveLength(230);
    expect(list.json().templates[0]).toMatchObject({
      status: "APPROVED",
      parameterCount: 1,
      usageCount: 0,
      wabaId: waba,
    });

    sim.templates.set(waba, many.slice(1));
    expect((await call("POST", "/api/templates/sync", c.jwt, {})).json()).toMatchObject({ count: 229, removed: 1 });
    const after = (await call("GET", "/api/templates", c.jwt)).json().templates as Array<{
      name: string;
      status: string;
    }>;
    expect(after.find((t) => t.name === "tpl_0")?.status).toBe("DELETED");
  });

  it("keeps the same template name apart per WABA, and a recruiter sees only its own", async () => {
    const sim = messagingState(h.sim.state);
    const wa = `waba-${h.services.id}-b`;
    const wb = `waba-${h.services.id}-c`;
    sim.templates.set(wa, [simTemplate({ name: "application_received", language: "fr", body: "A {{1}} {{2}}" })]);
    sim.templates.set(wb, [
      simTemplate({ name: "application_received", language: "fr", body: "B {{1}}", status: "REJECTED" }),
    ]);
    const a = await client(wa);
    const b = await client(wb);
    await call("POST", "/api/templates/sync", a.jwt, {});
    await call("POST", "/api/templates/sync", b.jwt, {});
    const la = (await call("GET", "/api/templates", a.jwt)).json().templates;
    const lb = (await call("GET", "/api/templates", b.jwt)).json().templates;
    expect(la).toEqual([
      expect.objectContaining({ name: "application_received", status: "APPROVED", parameterCount: 2 }),
    ]);
    expect(lb).toEqual([
      expect.objectContaining({ name: "application_received", status: "REJECTED", parameterCount: 1 }),
    ]);
    const other = await call("GET", `/api/templates?clientId=${b.doc._id.toHexString()}`, a.jwt);
    expect(other.statusCode).toBe(403);
  });

  it("reports Meta's refusal (a revoked token) as a 502 with Meta's code, without the token", async () => {
    const waba = `waba-${h.services.id}-d`;
    const c = await client(waba);
    messagingState(h.sim.state).revokedTokens.add(c.token);
    const res = await call("POST", "/api/templates/sync", c.jwt, {});
    expect(res.statusCode).toBe(502);
    expect(res.json().error.details).toMatchObject({ metaCode: 190 });
    expect(res.body).not.toContain(c.token);
  });

  it("validates the costs query", async () => {
    const c = await client(`waba-${h.services.id}-e`);
    expect((await call("GET", "/api/messages/costs?from=2026-02-01&to=2026-01-01", c.jwt)).statusCode).toBe(400);
    expect((await call("GET", "/api/messages/costs?from=yesterday", c.jwt)).statusCode).toBe(400);
    const ok = await call("GET", "/api/messages/costs?from=2026-01-01", c.jwt);
    expect(ok.json()).toMatchObject({ total: 0, count: 0, currency: "MAD" });
  });
});
