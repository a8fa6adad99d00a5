/**
 * Security review, finding 1: connecting someone else's number (OAuth login CSRF), the
 * claim rule for disconnected numbers, and debug_token's app and grants. Each attack runs for real:
 * the ingress (inject), Meta's dialog and Graph API (the simulator, over HTTP), MongoDB-protocol
 * server and Redis.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  approveDialog,
  authHeader,
  callback,
  initiate,
  popupCode,
  rawClient,
  redirectFlow,
  seedBusiness,
  startOnboardingHarness,
  type OnboardingHarness,
} from "./onboarding.harness.js";

let h: OnboardingHarness;
let https: OnboardingHarness;

beforeAll(async () => {
  h = await startOnboardingHarness("onboardingsecurity");
  https = await startOnboardingHarness("onboardingsecurityhttps", { baseUrl: "https://api.linkojob.test" });
});
afterAll(async () => {
  await h?.close();
  await https?.close();
});
beforeEach(async () => {
  await h.control("POST", "/_sim/onboarding/reset");
  await h.db.clients.deleteMany({});
});

const exchange = async (userId: string, body: Record<string, unknown>) =>
  h.app.inject({
    method: "POST",
    url: "/api/auth/whatsapp/exchange",
    headers: await authHeader(userId),
    payload: body,
  });
const codeExchanges = () => h.sim.state.requestsTo(/oauth\/access_token/).length;
/** How many calls the simulator received on a path so far (its log spans the whole file). */
const callsTo = (path: RegExp) => h.sim.state.requestsTo(path).length;
const outcome = (to: URL) => ({
  status: to.searchParams.get("whatsapp_status"),
  error: to.searchParams.get("whatsapp_error"),
});

describe("finding 1: a forwarded connect link (OAuth login CSRF)", () => {
  it("the victim who approves the attacker's link connects nothing; the attacker cannot finish it either", async () => {
    const victim = await seedBusiness(h, { name: "Victim SARL" });
    // The attacker, a recruiter of the platform, starts a connection and forwards Meta's URL.
    const attacker = await initiate(h, "attacker");
    const before = codeExchanges();

    // The victim's browser (no cookie of the attacker's attempt) approves in Meta's dialog and comes back.
    await h.control("POST", "/_sim/onboarding/next-approval", { wabaIds: [victim.wabaId] });
    const callbackUrl = await approveDialog(attacker.oauthUrl);
    expect(outcome(await callback(h, callbackUrl))).toEqual({ status: "error", error: "STATE_BROWSER_MISMATCH" });

    // A victim who is a recruiter too, with a connect attempt of its own in progress: still refused.
    await h.control("POST", "/_sim/onboarding/next-approval", { wabaIds: [victim.wabaId] });
    const again = await initiate(h, "attacker");
    const victimOwn = await initiate(h, "victim-recruiter");
    expect(outcome(await callback(h, await approveDialog(again.oauthUrl), victimOwn.cookie))).toEqual({
      status: "error",
      error: "STATE_BROWSER_MISMATCH",
    });

    // The attacker obtains the URL the victim landed on and opens it with its own cookie: the state is spent.
    expect(outcome(await callback(h, callbackUrl, attacker.cookie))).toEqual({
      status: "error",
      error: "STATE_REPLAYED",
    });

    // Nothing was exchanged at Meta, nothing stored, the victim's number is free.
    expect(codeExchanges()).toBe(before);
    expect(await rawClient(h, { phoneNumberId: victim.phoneNumbers[0]!.id })).toBeNull();
    expect(await h.db.clients.countDocuments({})).toBe(0);
  });

  it("the browser that started the connection finishes it (the flow still works)", async () => {
    const business = await seedBusiness(h);
    const { location } = await redirectFlow(h, "recruiter-own");
    expect(outcome(location)).toEqual({ status: "connected", error: null });
    expect((await rawClient(h, { phoneNumberId: business.phoneNumbers[0]!.id }))?.userId).toBe("recruiter-own");
  });

  it("the binding cookie is HttpOnly, SameSite=Lax, scoped to the callback, short-lived, and Secure on https; the callback deletes it", async () => {
    const { setCookie } = await initiate(h, "recruiter-cookie");
    expect(setCookie).toMatch(/^lj_oauth_[A-Za-z0-9_-]+=/);
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Lax");
    expect(setCookie).toContain("Path=/api/auth/whatsapp/callback");
    expect(Number(/Max-Age=(\d+)/.exec(setCookie)![1])).toBeGreaterThan(0);
    expect(Number(/Max-Age=(\d+)/.exec(setCookie)![1])).toBeLessThanOrEqual(600);
    expect(setCookie).not.toContain("Secure");
    const secure = await initiate(https, "recruiter-cookie");
    expect(secure.setCookie).toMatch(/^__Host-lj_oauth_[A-Za-z0-9_-]+=/);
    expect(secure.setCookie).toContain("Secure");
    expect(secure.setCookie).toContain("Path=/;");
    expect(secure.setCookie).not.toMatch(/Domain=/i);

    await seedBusiness(h);
    const { oauthUrl, cookie } = await initiate(h, "recruiter-cookie");
    const res = await h.app.inject({ method: "GET", url: await approveDialog(oauthUrl), headers: { cookie } });
    expect(res.statusCode).toBe(302);
    expect(String(res.headers["set-cookie"])).toMatch(/Max-Age=0/);
    // The cookie's value (the browser secret) appears nowhere in the URLs.
    expect(oauthUrl).not.toContain(cookie.split("=")[1]!);
  });
});

describe("cookie tossing from a sibling subdomain", () => {
  it("on https, a binding cookie set by another subdomain (it cannot carry __Host-) does not let the victim finish the attacker's attempt; the browser's own cookie does", async () => {
    await https.control("POST", "/_sim/onboarding/reset");
    const victim = await seedBusiness(https, { name: "Tossed SARL" });
    const attacker = await initiate(https, "attacker-tossing");
    // evil.linkojob.com sets, for .linkojob.com, the attacker's secret under the name without the prefix.
    const tossed = attacker.cookie.replace(/^__Host-/, "");
    expect(tossed).not.toBe(attacker.cookie);
    await https.control("POST", "/_sim/onboarding/next-approval", { wabaIds: [victim.wabaId] });
    const landed = await callback(https, await approveDialog(attacker.oauthUrl), tossed);
    expect(outcome(landed)).toEqual({ status: "error", error: "STATE_BROWSER_MISMATCH" });
    expect(await rawClient(https, { phoneNumberId: victim.phoneNumbers[0]!.id })).toBeNull();

    // The recruiter's own browser, holding the __Host- cookie, connects.
    const own = await initiate(https, "recruiter-https");
    const done = await callback(https, await approveDialog(own.oauthUrl), own.cookie);
    expect(outcome(done)).toEqual({ status: "connected", error: null });
  });
});

describe("connection checks", () => {
  it("one check per client per interval: a second one within it is 429 CHECK_THROTTLED with Retry-After, and reaches Meta no more", async () => {
    const throttled = await startOnboardingHarness("onboardingcheckthrottle", { checkIntervalSeconds: 60 });
    try {
      const business = await seedBusiness(throttled);
      const code = await popupCode(throttled, [business.wabaId]);
      const connected = await throttled.app.inject({
        method: "POST",
        url: "/api/auth/whatsapp/exchange",
        headers: await authHeader("recruiter-throttle"),
        payload: { code },
      });
      expect(connected.statusCode).toBe(200);
      const check = async () =>
        throttled.app.inject({
          method: "POST",
          url: "/api/auth/whatsapp/check",
          headers: await authHeader("recruiter-throttle"),
        });
      expect((await check()).statusCode).toBe(200);
      const metaCalls = throttled.sim.state.requestsTo(/phone_numbers/).length;
      const again = await check();
      expect(again.statusCode).toBe(429);
      expect(again.json()).toMatchObject({ error: { code: "CHECK_THROTTLED" } });
      expect(Number(again.headers["retry-after"])).toBeGreaterThan(0);
      expect(throttled.sim.state.requestsTo(/phone_numbers/).length).toBe(metaCalls);
    } finally {
      await throttled.close();
    }
  });
});

describe("finding 1: the OpenAPI document", () => {
  it("shows the callback as public (Meta's redirect carries no JWT) and initiate as Bearer-protected", async () => {
    const doc = (await h.app.inject({ method: "GET", url: "/docs/json" })).json();
    expect(doc.paths["/api/auth/whatsapp/callback"].get.security).toEqual([]);
    expect(doc.paths["/api/auth/whatsapp/initiate"].post.security).toBeUndefined();
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
  });
});

describe("finding 1: the real owner of a number", () => {
  it("can claim a number whose previous client was disconnected, by proving access at Meta", async () => {
    const business = await seedBusiness(h, { name: "Owner SARL" });
    const number = business.phoneNumbers[0]!;
    // An earlier tenant held the number, then disconnected it.
    const squatter = await exchange("earlier-tenant", { code: await popupCode(h, [business.wabaId]) });
    expect(squatter.statusCode).toBe(200);
    const oldId = squatter.json().client.id as string;
    expect(
      (
        await h.app.inject({
          method: "DELETE",
          url: "/api/auth/whatsapp/disconnect",
          headers: await authHeader("earlier-tenant"),
        })
      ).statusCode,
    ).toBe(200);

    // It used to be NUMBER_TAKEN forever; now whoever Meta grants the WABA connects it.
    const owner = await exchange("real-owner", {
      code: await popupCode(h, [business.wabaId]),
      phoneNumberId: number.id,
    });
    expect(owner.statusCode).toBe(200);
    expect(owner.json()).toMatchObject({
      reconnected: false,
      client: { userId: "real-owner", phoneNumberId: number.id, status: "active" },
    });
    expect(owner.json().client.id).not.toBe(oldId);

    // The old client keeps its history under a released number; webhooks of the number go to the new one.
    const old = (await h.db.clients.findById(oldId).lean())!;
    expect(old).toMatchObject({ userId: "earlier-tenant", status: "disconnected" });
    expect(old.phoneNumberId).toMatch(new RegExp(`^released:${number.id}:\\d+$`));
    expect(await h.db.clients.countDocuments({ phoneNumberId: number.id })).toBe(1);
  });

  it("cannot take a number whose client is still connected, or only waiting for reauthorisation", async () => {
    const business = await seedBusiness(h);
    const number = business.phoneNumbers[0]!;
    const first = await exchange("holder", { code: await popupCode(h, [business.wabaId]) });
    expect(first.statusCode).toBe(200);
    const taken = await exchange("claimant", { code: await popupCode(h, [business.wabaId]), phoneNumberId: number.id });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error.code).toBe("NUMBER_TAKEN");

    await h.db.clients.updateOne({ _id: first.json().client.id }, { $set: { status: "reauth_required" } });
    const stillTaken = await exchange("claimant", {
      code: await popupCode(h, [business.wabaId]),
      phoneNumberId: number.id,
    });
    expect(stillTaken.json().error.code).toBe("NUMBER_TAKEN");
    expect((await rawClient(h, { phoneNumberId: number.id }))!.userId).toBe("holder");
  });

  it("cannot claim a disconnected number without a grant of its WABA", async () => {
    const business = await seedBusiness(h);
    const number = business.phoneNumbers[0]!;
    await exchange("earlier", { code: await popupCode(h, [business.wabaId]) });
    await h.app.inject({
      method: "DELETE",
      url: "/api/auth/whatsapp/disconnect",
      headers: await authHeader("earlier"),
    });
    const other = await seedBusiness(h);
    const res = await exchange("claimant", {
      code: await popupCode(h, [other.wabaId]),
      wabaId: business.wabaId,
      phoneNumberId: number.id,
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe("WABA_NOT_GRANTED");
    expect((await rawClient(h, { phoneNumberId: number.id }))!.userId).toBe("earlier");
  });
});

describe("finding 1: debug_token must name our app and grant the WABA", () => {
  it("popup flow: refuses a token debug_token attributes to another app", async () => {
    const business = await seedBusiness(h);
    const { json } = await h.control<{ code: string }>("POST", "/_sim/onboarding/codes", {
      wabaIds: [business.wabaId],
      appId: "999000111",
    });
    const subscribes = callsTo(/subscribed_apps$/);
    const res = await exchange("recruiter-x", { code: json.code, wabaId: business.wabaId });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("TOKEN_WRONG_APP");
    expect(callsTo(/subscribed_apps$/)).toBe(subscribes);
    expect(await h.db.clients.countDocuments({})).toBe(0);
  });

  it("redirect flow: refuses a token debug_token attributes to another app", async () => {
    await seedBusiness(h);
    await h.control("POST", "/_sim/onboarding/next-approval", { appId: "999000111" });
    expect(outcome((await redirectFlow(h, "recruiter-y")).location)).toEqual({
      status: "error",
      error: "TOKEN_WRONG_APP",
    });
    expect(await h.db.clients.countDocuments({})).toBe(0);
  });

  it("popup flow: an empty grant list proves nothing, even when the page names the WABA", async () => {
    const business = await seedBusiness(h);
    const code = await popupCode(h, []);
    const [phones, subscribes] = [callsTo(/phone_numbers$/), callsTo(/subscribed_apps$/)];
    const res = await exchange("recruiter-z", { code, wabaId: business.wabaId });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("NO_WABA_GRANTED");
    // Refused from debug_token alone: no call was made with the token on the WABA.
    expect(callsTo(/phone_numbers$/)).toBe(phones);
    expect(callsTo(/subscribed_apps$/)).toBe(subscribes);
  });

  it("redirect flow: an empty grant list is refused", async () => {
    await seedBusiness(h);
    await h.control("POST", "/_sim/onboarding/next-approval", { wabaIds: [] });
    expect(outcome((await redirectFlow(h, "recruiter-w")).location)).toEqual({
      status: "error",
      error: "NO_WABA_GRANTED",
    });
  });

  it("manual connection (admin) applies the same rules", async () => {
    const business = await seedBusiness(h);
    const number = business.phoneNumbers[0]!;
    const foreign = (
      await h.control<{ accessToken: string }>("POST", "/_sim/onboarding/tokens", {
        wabaIds: [business.wabaId],
        appId: "999000111",
      })
    ).json.accessToken;
    const ungranted = (await h.control<{ accessToken: string }>("POST", "/_sim/onboarding/tokens", { wabaIds: [] }))
      .json.accessToken;
    const body = {
      userId: "recruiter-m",
      companyName: "Manual SARL",
      phoneNumberId: number.id,
      wabaId: business.wabaId,
      whatsappNumber: number.displayPhoneNumber,
    };
    for (const [accessToken, code] of [
      [foreign, "TOKEN_WRONG_APP"],
      [ungranted, "NO_WABA_GRANTED"],
    ] as const) {
      const res = await h.app.inject({
        method: "POST",
        url: "/api/admin/whatsapp/connect",
        headers: await authHeader("ops", "admin"),
        payload: { ...body, accessToken },
      });
      expect(res.json().error.code).toBe(code);
    }
    expect(await h.db.clients.countDocuments({})).toBe(0);
  });
});

describe("finding 5: a token ciphertext moved to another client", () => {
  it("does not decrypt there: the vault binds each ciphertext to its client", async () => {
    const a = await seedBusiness(h);
    const b = await seedBusiness(h);
    const clientA = (await exchange("tenant-a", { code: await popupCode(h, [a.wabaId]) })).json().client.id as string;
    const clientB = (await exchange("tenant-b", { code: await popupCode(h, [b.wabaId]) })).json().client.id as string;
    const rawA = (await rawClient(h, { phoneNumberId: a.phoneNumbers[0]!.id }))!;

    // Someone with write access to the database copies tenant A's token into tenant B's document.
    await h.db.connection
      .db!.collection("clients")
      .updateOne({ phoneNumberId: b.phoneNumbers[0]!.id }, { $set: { accessToken: rawA.accessToken } });
    const calls = callsTo(/phone_numbers$/);
    const check = await h.app.inject({
      method: "POST",
      url: "/api/auth/whatsapp/check",
      headers: await authHeader("tenant-b"),
    });
    expect(check.statusCode).toBe(500);
    expect(check.json().error).toMatchObject({
      code: "TOKEN_UNREADABLE",
      details: { vaultError: "VAULT_ERR_TAMPERED" },
    });
    // Tenant A's token was never used on B's behalf, and B is not flipped to reauth_required.
    expect(callsTo(/phone_numbers$/)).toBe(calls);
    expect((await h.db.clients.findById(clientB).lean())!.status).toBe("active");
    // In its own document it still works.
    const own = await h.app.inject({
      method: "POST",
      url: `/api/auth/whatsapp/check?clientId=${clientA}`,
      headers: await authHeader("tenant-a"),
    });
    expect(own.json()).toMatchObject({ ok: true });
  });
});
