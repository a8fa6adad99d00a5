import { beforeAll, describe, expect, it } from "vitest";
import { eventually } from "@linkojob/testing";
import { TokenVault } from "@linkojob/vault";
import {
  APP_ID,
  BASE_URL,
  authHeader,
  callback,
  popupCode,
  rawClient,
  redirectFlow,
  seedBusiness,
  simBusiness,
  onboardingSuite,
  startOnboardingHarness,
  tokensSeenBySim,
  type OnboardingHarness,
} from "./onboarding.harness.js";

const suite = onboardingSuite("onboarding");
const { syncCalls, exchange } = suite;
let h: OnboardingHarness;
beforeAll(() => {
  h = suite.h;
});

const changesOf = (clientId: string) => h.changes.filter((c) => c.clientId === clientId);
const eventsTo = (clientId: string) => h.dashboardEvents.filter((e) => e.channel.includes(`client:${clientId}`));

describe("Embedded Signup, redirect flow", () => {
  it("connects end to end: subscribed, registered, token encrypted with its expiry, announced, redirected", async () => {
    const business = await seedBusiness(h, {
      tokenValiditySeconds: 60 * 86_400,
      phoneNumbers: [{ displayPhoneNumber: "+212 612-345678" }],
    });
    const number = business.phoneNumbers[0]!;
    const { oauthUrl, location } = await redirectFlow(h, "recruiter-1");

    // The dialog URL Meta expects.
    const dialog = new URL(oauthUrl);
    expect(dialog.origin + dialog.pathname).toBe(`${h.sim.url}/v26.0/dialog/oauth`);
    expect(dialog.searchParams.get("client_id")).toBe(APP_ID);
    expect(dialog.searchParams.get("redirect_uri")).toBe(`${BASE_URL}/api/auth/whatsapp/callback`);
    expect(dialog.searchParams.get("response_type")).toBe("code");
    expect(dialog.searchParams.get("scope")).toBe("whatsapp_business_management,whatsapp_business_messaging");
    expect(dialog.searchParams.get("config_id")).toBeNull();

    // Back on the dashboard, with the outcome (and the dashboard's own query kept).
    expect(location.origin + location.pathname).toBe("http://dashboard.test/settings/whatsapp");
    expect(location.searchParams.get("tab")).toBe("channels");
    expect(location.searchParams.get("whatsapp_status")).toBe("connected");
    const clientId = location.searchParams.get("client_id")!;

    // Stored: the platform's fields plus wabaId, active, token as ciphertext under the current key.
    const raw = (await rawClient(h, { phoneNumberId: number.id }))!;
    expect(raw._id.toHexString()).toBe(clientId);
    expect(raw).toMatchObject({
      userId: "recruiter-1",
      wabaId: business.wabaId,
      whatsappNumber: "212612345678",
      status: "active",
      companyName: business.name,
    });
    const token = tokensSeenBySim(h, /subscribed_apps$/)[0]!;
    expect(token).toMatch(/^EAAS/);
    expect(Object.keys(raw.accessToken!).sort()).toEqual(["data", "iv", "keyId", "tag"]);
    expect(JSON.stringify(raw)).not.toContain(token);
    expect(raw.accessToken!.keyId).toBe(h.vault.currentKeyId);
    expect(h.vault.decrypt(raw.accessToken, clientId)).toBe(token);
    // Bound to this client: the ciphertext does not open as another client's.
    expect(() => h.vault.decrypt(raw.accessToken, "0".repeat(24))).toThrow(/failed authentication/);
    expect(raw.tokenExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 59 * 86_400_000);

    // At Meta (the simulator): the WABA subscribed to our app, the number registered with a PIN we keep.
    const atMeta = await simBusiness(h, business.wabaId);
    expect(atMeta.subscribedApps).toEqual([APP_ID]);
    expect(atMeta.phoneNumbers[0]).toMatchObject({ registered: true, hasPin: true });
    expect(h.vault.decrypt(raw.registrationPin, clientId)).toMatch(/^\d{6}$/);

    // Announced to caches and to the dashboard; the template sync hook ran.
    await eventually(() => changesOf(clientId).some((c) => c.status === "active" && c.phoneNumberId === number.id));
    await eventually(() => eventsTo(clientId).some((e) => e.payload.includes("client:status")));
    expect(syncCalls).toContainEqual({ clientId, wabaId: business.wabaId, phoneNumberId: number.id });

    // No token in any URL or log line.
    expect(location.toString()).not.toContain(token);
    expect(h.logs.join("\n")).not.toContain(token);
  });

  it("refuses a forged state without calling Meta", async () => {
    await seedBusiness(h);
    const init = await h.app.inject({
      method: "POST",
      url: "/api/auth/whatsapp/initiate",
      headers: await authHeader("recruiter-2"),
    });
    const state = new URL(init.json().oauthUrl).searchParams.get("state")!;
    // Another user id in the payload, the signature kept.
    const [body, sig] = state.split(".");
    const payload = JSON.parse(Buffer.from(body!, "base64url").toString("utf8"));
    const forged = `${Buffer.from(JSON.stringify({ ...payload, u: "attacker" })).toString("base64url")}.${sig}`;
    const code = await popupCode(h, []);
    const exchangesBefore = h.sim.state.requestsTo(/oauth\/access_token/).length;

    for (const s of [forged, "garbage", `${body}.${"A".repeat(43)}`]) {
      const to = await callback(h, `/api/auth/whatsapp/callback?code=${code}&state=${encodeURIComponent(s)}`);
      expect(to.searchParams.get("whatsapp_status")).toBe("error");
      expect(to.searchParams.get("whatsapp_error")).toBe("STATE_INVALID");
    }
    const missing = await callback(h, `/api/auth/whatsapp/callback?code=${code}`);
    expect(missing.searchParams.get("whatsapp_error")).toBe("STATE_INVALID");
    expect(h.sim.state.requestsTo(/oauth\/access_token/).length).toBe(exchangesBefore);
    expect(await h.db.clients.countDocuments({})).toBe(0);
  });

  it("refuses a replayed state even though the first use succeeded", async () => {
    await seedBusiness(h);
    const { callbackUrl, location } = await redirectFlow(h, "recruiter-3");
    expect(location.searchParams.get("whatsapp_status")).toBe("connected");
    const replay = await callback(h, callbackUrl);
    expect(replay.searchParams.get("whatsapp_error")).toBe("STATE_REPLAYED");
  });

  it("reports a cancelled dialog, an expired code and a WABA not granted as readable codes", async () => {
    await seedBusiness(h);
    await h.control("POST", "/_sim/onboarding/next-approval", { deny: true });
    expect((await redirectFlow(h, "recruiter-4")).location.searchParams.get("whatsapp_error")).toBe("ACCESS_DENIED");

    await h.control("PUT", "/_sim/onboarding/settings", { codeTtlSeconds: 0 });
    expect((await redirectFlow(h, "recruiter-4")).location.searchParams.get("whatsapp_error")).toBe("CODE_EXPIRED");
    await h.control("PUT", "/_sim/onboarding/settings", { codeTtlSeconds: 30 });

    await h.control("POST", "/_sim/onboarding/next-approval", { wabaIds: [] });
    expect((await redirectFlow(h, "recruiter-4")).location.searchParams.get("whatsapp_error")).toBe("NO_WABA_GRANTED");
    expect(await h.db.clients.countDocuments({})).toBe(0);
  });

  it("maps Meta being down to META_UNAVAILABLE and leaves nothing half-stored", async () => {
    await seedBusiness(h);
    await h.control("POST", "/_sim/onboarding/faults", {
      route: "subscribed_apps",
      status: 500,
      code: 2,
      message: "Service temporarily unavailable",
      times: 1,
    });
    expect((await redirectFlow(h, "recruiter-5")).location.searchParams.get("whatsapp_error")).toBe("META_UNAVAILABLE");
    expect(await h.db.clients.countDocuments({})).toBe(0);
  });
});

describe("Embedded Signup, popup flow (POST /exchange)", () => {
  it("connects the number named by the WA_EMBEDDED_SIGNUP message, token under business_token", async () => {
    await h.control("PUT", "/_sim/onboarding/settings", { tokenField: "business_token" });
    const business = await seedBusiness(h, { phoneNumbers: [{ registered: true }, { registered: false }] });
    const wanted = business.phoneNumbers[1]!;
    const res = await exchange("recruiter-10", {
      code: await popupCode(h, [business.wabaId]),
      wabaId: business.wabaId,
      phoneNumberId: wanted.id,
      companyName: "Atlas RH",
    });
    expect(res.statusCode).toBe(200);
    const json = res.json();
    expect(json).toMatchObject({
      success: true,
      reconnected: false,
      client: {
        phoneNumberId: wanted.id,
        wabaId: business.wabaId,
        status: "active",
        companyName: "Atlas RH",
        hasToken: true,
      },
    });
    const token = tokensSeenBySim(h, /subscribed_apps$/)[0]!;
    expect(res.body).not.toContain(token);
    expect(res.body).not.toContain('"accessToken"');
  });

  it("asks which number when the WABA has several and none is named", async () => {
    const business = await seedBusiness(h, { phoneNumbers: [{}, {}] });
    const res = await exchange("recruiter-11", { code: await popupCode(h, [business.wabaId]) });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe("PHONE_NUMBER_AMBIGUOUS");
    expect(res.json().error.details.phoneNumbers).toHaveLength(2);
  });

  it("refuses a WABA the token was not granted, and a reused code", async () => {
    const a = await seedBusiness(h);
    const b = await seedBusiness(h);
    const code = await popupCode(h, [a.wabaId]);
    const res = await exchange("recruiter-12", { code, wabaId: b.wabaId });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe("WABA_NOT_GRANTED");
    const again = await exchange("recruiter-12", { code });
    expect(again.json().error.code).toBe("CODE_USED");
  });

  it("requires a valid JWT and a well-formed body", async () => {
    expect(
      (await h.app.inject({ method: "POST", url: "/api/auth/whatsapp/exchange", payload: { code: "x" } })).statusCode,
    ).toBe(401);
    const bad = await exchange("recruiter-13", { code: "x", wabaId: { $gt: "" } });
    expect(bad.statusCode).toBe(400);
  });
});

describe("two recruiters claiming one number", () => {
  it("refuses the second with 409 NUMBER_TAKEN and leaves the first untouched", async () => {
    const business = await seedBusiness(h);
    const number = business.phoneNumbers[0]!;
    const first = await exchange("recruiter-A", {
      code: await popupCode(h, [business.wabaId]),
      phoneNumberId: number.id,
    });
    expect(first.statusCode).toBe(200);
    const before = (await rawClient(h, { phoneNumberId: number.id }))!;

    const second = await exchange("recruiter-B", {
      code: await popupCode(h, [business.wabaId]),
      phoneNumberId: number.id,
    });
    expect(second.statusCode).toBe(409);
    expect(second.json().error).toMatchObject({
      code: "NUMBER_TAKEN",
      message: expect.stringContaining("already connected"),
    });

    const after = (await rawClient(h, { phoneNumberId: number.id }))!;
    expect(after.userId).toBe("recruiter-A");
    expect(after.accessToken).toEqual(before.accessToken);
    expect(await h.db.clients.countDocuments({ phoneNumberId: number.id })).toBe(1);
  });

  it("lets exactly one of two simultaneous claims win", async () => {
    const business = await seedBusiness(h);
    const number = business.phoneNumbers[0]!;
    const [codeA, codeB] = [await popupCode(h, [business.wabaId]), await popupCode(h, [business.wabaId])];
    const results = await Promise.all([
      exchange("recruiter-C", { code: codeA, phoneNumberId: number.id }),
      exchange("recruiter-D", { code: codeB, phoneNumberId: number.id }),
    ]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    expect(results.find((r) => r.statusCode === 409)!.json().error.code).toBe("NUMBER_TAKEN");
    const docs = await h.db.clients.find({ phoneNumberId: number.id }).lean();
    expect(docs).toHaveLength(1);
    expect(docs[0]!.userId).toBe(results.find((r) => r.statusCode === 200)!.json().client.userId);
  });
});

describe("disconnect", () => {
  it("keeps a WABA subscribed while another connected client uses it, and unsubscribes after the last", async () => {
    const business = await seedBusiness(h, { phoneNumbers: [{}, {}] });
    const [n1, n2] = business.phoneNumbers;
    const c1 = (
      await exchange("recruiter-E", { code: await popupCode(h, [business.wabaId]), phoneNumberId: n1!.id })
    ).json().client.id as string;
    const c2 = (
      await exchange("recruiter-F", { code: await popupCode(h, [business.wabaId]), phoneNumberId: n2!.id })
    ).json().client.id as string;
    expect((await simBusiness(h, business.wabaId)).subscribedApps).toEqual([APP_ID]);

    const first = await h.app.inject({
      method: "DELETE",
      url: "/api/auth/whatsapp/disconnect",
      headers: await authHeader("recruiter-E"),
    });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ success: true });
    const d1 = (await h.db.clients.findById(c1).lean())!;
    expect(d1).toMatchObject({ status: "disconnected", accessToken: null, statusReason: "USER_DISCONNECTED" });
    expect(d1.disconnectedAt).toBeInstanceOf(Date);
    expect((await simBusiness(h, business.wabaId)).subscribedApps).toEqual([APP_ID]);
    expect(h.sim.state.requestsTo(new RegExp(`/${business.wabaId}/subscribed_apps$`), "DELETE")).toHaveLength(0);
    await eventually(() => changesOf(c1).some((c) => c.status === "disconnected"));

    // Idempotent.
    expect(
      (
        await h.app.inject({
          method: "DELETE",
          url: `/api/auth/whatsapp/disconnect?clientId=${c1}`,
          headers: await authHeader("recruiter-E"),
        })
      ).statusCode,
    ).toBe(200);

    await h.app.inject({
      method: "DELETE",
      url: "/api/auth/whatsapp/disconnect",
      headers: await authHeader("recruiter-F"),
    });
    expect((await h.db.clients.findById(c2).lean())!.status).toBe("disconnected");
    expect((await simBusiness(h, business.wabaId)).subscribedApps).toEqual([]);
  });

  it("never lets a recruiter disconnect another tenant's client", async () => {
    const business = await seedBusiness(h);
    const c = (await exchange("recruiter-G", { code: await popupCode(h, [business.wabaId]) })).json().client
      .id as string;
    const res = await h.app.inject({
      method: "DELETE",
      url: `/api/auth/whatsapp/disconnect?clientId=${c}`,
      headers: await authHeader("recruiter-H"),
    });
    expect(res.statusCode).toBe(403);
    expect((await h.db.clients.findById(c).lean())!.status).toBe("active");
  });
});

describe("revoked token and reconnection", () => {
  it("a 190 from Meta marks the client reauth_required; a fresh connect brings the same client back to active", async () => {
    const business = await seedBusiness(h);
    const clientId = (await exchange("recruiter-R", { code: await popupCode(h, [business.wabaId]) })).json().client
      .id as string;
    await h.control("POST", "/_sim/onboarding/tokens/revoke", { wabaId: business.wabaId });

    const check = await h.app.inject({
      method: "POST",
      url: "/api/auth/whatsapp/check",
      headers: await authHeader("recruiter-R"),
    });
    expect(check.statusCode).toBe(200);
    expect(check.json()).toMatchObject({
      ok: false,
      client: { id: clientId, status: "reauth_required", statusReason: "TOKEN_INVALID" },
    });
    await eventually(() => changesOf(clientId).some((c) => c.status === "reauth_required"));
    await eventually(() => eventsTo(clientId).some((e) => e.payload.includes("reauth_required")));

    // Checking again announces nothing new.
    await h.app.inject({ method: "POST", url: "/api/auth/whatsapp/check", headers: await authHeader("recruiter-R") });
    expect(changesOf(clientId).filter((c) => c.status === "reauth_required")).toHaveLength(1);

    // Reconnect: same client (its conversations stay), active, new token, announced so held sends resume.
    const again = await exchange("recruiter-R", { code: await popupCode(h, [business.wabaId]) });
    expect(again.json()).toMatchObject({
      success: true,
      reconnected: true,
      client: { id: clientId, status: "active", statusReason: null },
    });
    await eventually(() => changesOf(clientId).filter((c) => c.status === "active").length >= 2);
    const ok = await h.app.inject({
      method: "POST",
      url: "/api/auth/whatsapp/check",
      headers: await authHeader("recruiter-R"),
    });
    expect(ok.json()).toMatchObject({ ok: true, client: { status: "active" } });
    expect(await h.db.clients.countDocuments({ userId: "recruiter-R" })).toBe(1);
  });

  it("a connection check lifts an account hold only when Meta's answer proves its cause gone: a payment pause stands, a registration pause lifts once the number is CONNECTED on the Cloud API", async () => {
    const business = await seedBusiness(h);
    const clientId = (await exchange("recruiter-H", { code: await popupCode(h, [business.wabaId]) })).json().client
      .id as string;
    // The outbound worker paused the tenant on 131042 (payment): what holdTenant writes. Checking
    // (however often) must not release the held sends while nothing shows the payment fixed.
    await h.db.clients.updateOne(
      { _id: clientId },
      { $set: { status: "reauth_required", statusReason: "PAYMENT_PROBLEM", statusChangedAt: new Date() } },
    );
    for (let i = 0; i < 2; i++) {
      const paid = await h.app.inject({
        method: "POST",
        url: "/api/auth/whatsapp/check",
        headers: await authHeader("recruiter-H"),
      });
      expect(paid.statusCode).toBe(200);
      expect(paid.json()).toMatchObject({
        ok: false,
        client: { id: clientId, status: "reauth_required", statusReason: "PAYMENT_PROBLEM" },
      });
    }

    // Paused on 133010 (not registered): Meta now lists the number CONNECTED on the Cloud API.
    await h.db.clients.updateOne({ _id: clientId }, { $set: { statusReason: "NUMBER_NOT_REGISTERED" } });
    const activeBefore = changesOf(clientId).filter((c) => c.status === "active").length;
    const res = await h.app.inject({
      method: "POST",
      url: "/api/auth/whatsapp/check",
      headers: await authHeader("recruiter-H"),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      ok: true,
      client: { id: clientId, status: "active", statusReason: "RESUMED_BY_CHECK" },
    });
    // Announced: caches drop the client and the outbound worker resumes its held sends.
    await eventually(() => changesOf(clientId).filter((c) => c.status === "active").length > activeBefore);

    // A token Meta refused is not an account hold: checking does not resume it.
    await h.db.clients.updateOne(
      { _id: clientId },
      { $set: { status: "reauth_required", statusReason: "TOKEN_INVALID" } },
    );
    const still = await h.app.inject({
      method: "POST",
      url: "/api/auth/whatsapp/check",
      headers: await authHeader("recruiter-H"),
    });
    expect(still.json()).toMatchObject({
      ok: false,
      client: { status: "reauth_required", statusReason: "TOKEN_INVALID" },
    });
  });

  it("a tampered stored token is reported, never sent to Meta, and does not change the status", async () => {
    const business = await seedBusiness(h);
    const clientId = (await exchange("recruiter-T", { code: await popupCode(h, [business.wabaId]) })).json().client
      .id as string;
    const raw = (await rawClient(h, { userId: "recruiter-T" }))!;
    const data = Buffer.from(raw.accessToken!.data, "base64");
    data[0] = data[0]! ^ 0xff;
    await h.db.connection
      .db!.collection("clients")
      .updateOne({ _id: raw._id }, { $set: { "accessToken.data": data.toString("base64") } });
    const callsBefore = h.sim.state.requests.length;

    const res = await h.app.inject({
      method: "POST",
      url: "/api/auth/whatsapp/check",
      headers: await authHeader("recruiter-T"),
    });
    expect(res.statusCode).toBe(500);
    expect(res.json().error.code).toBe("TOKEN_UNREADABLE");
    expect(h.sim.state.requests.length).toBe(callsBefore);
    expect((await h.db.clients.findById(clientId).lean())!.status).toBe("active");
  });
});

describe("manual connection (admin)", () => {
  it("is admin-only, checks the token and the number against Meta, and stores the client the same way", async () => {
    const business = await seedBusiness(h, {
      phoneNumbers: [{ displayPhoneNumber: "+212 661-000111", registered: true }],
    });
    const number = business.phoneNumbers[0]!;
    const { accessToken } = (
      await h.control<{ accessToken: string }>("POST", "/_sim/onboarding/tokens", { wabaIds: [business.wabaId] })
    ).json;
    const body = {
      userId: "recruiter-M",
      companyName: "Manual SARL",
      phoneNumberId: number.id,
      wabaId: business.wabaId,
      whatsappNumber: "0661000111",
      accessToken,
    };
    const post = async (role: "recruiter" | "admin", payload: Record<string, unknown>) =>
      h.app.inject({
        method: "POST",
        url: "/api/admin/whatsapp/connect",
        headers: await authHeader("ops", role),
        payload,
      });

    expect((await post("recruiter", body)).statusCode).toBe(403);
    const wrongNumber = await post("admin", { ...body, whatsappNumber: "0661999999" });
    expect(wrongNumber.json().error.code).toBe("PHONE_NUMBER_MISMATCH");
    const badToken = await post("admin", { ...body, accessToken: "EAAS-not-a-real-token-at-all" });
    expect(badToken.statusCode).toBe(400);
    expect(badToken.json().error.code).toBe("TOKEN_INVALID");
    expect(await h.db.clients.countDocuments({})).toBe(0);

    const ok = await post("admin", body);
    expect(ok.statusCode).toBe(201);
    expect(ok.json().client).toMatchObject({
      userId: "recruiter-M",
      companyName: "Manual SARL",
      whatsappNumber: "212661000111",
      status: "active",
    });
    expect(ok.body).not.toContain(accessToken);
    const raw = (await rawClient(h, { phoneNumberId: number.id }))!;
    expect(h.vault.decrypt(raw.accessToken, raw._id.toHexString())).toBe(accessToken);
    expect(raw.tokenExpiresAt).toBeNull(); // the business's tokens never expire
    // Already registered: no registration call.
    expect(h.sim.state.requestsTo(new RegExp(`/${number.id}/register$`))).toHaveLength(0);
    expect(h.logs.join("\n")).not.toContain(accessToken);
  });
});

describe("listing connections", () => {
  it("shows a recruiter its own clients without secrets", async () => {
    const business = await seedBusiness(h);
    await exchange("recruiter-L", { code: await popupCode(h, [business.wabaId]) });
    const res = await h.app.inject({
      method: "GET",
      url: "/api/auth/whatsapp/clients",
      headers: await authHeader("recruiter-L"),
    });
    expect(res.json().clients).toHaveLength(1);
    expect(res.body).not.toMatch(/"(accessToken|registrationPin|iv|tag)"/);
    const other = await h.app.inject({
      method: "GET",
      url: "/api/auth/whatsapp/clients",
      headers: await authHeader("recruiter-nobody"),
    });
    expect(other.json().clients).toEqual([]);
  });
});

describe("the dialog URL", () => {
  it("carries config_id when META_CONFIG_ID is set", async () => {
    const withConfig = await startOnboardingHarness("onbcfg", {
      configId: "998877",
      vault: new TokenVault(["ab".repeat(32)]),
    });
    try {
      const init = await withConfig.app.inject({
        method: "POST",
        url: "/api/auth/whatsapp/initiate",
        headers: await authHeader("recruiter-cfg"),
      });
      expect(new URL(init.json().oauthUrl).searchParams.get("config_id")).toBe("998877");
    } finally {
      await withConfig.close();
    }
  });
});
