import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  GraphApiError,
  GraphClient,
  GraphNetworkError,
  classifyGraphError,
  debugToken,
  exchangeCodeForToken,
  grantedWabaIds,
  listPhoneNumbers,
  listSubscribedApps,
  needsRegistration,
  registerPhoneNumber,
  subscribeApp,
  unsubscribeApp,
  verifyWebhookSignature,
} from "@linkojob/whatsapp";
import { MetaSimulator } from "../simulator.js";
import { startRecordingReceiver, type RecordingReceiver } from "../webhooks/recording-receiver.js";

/**
 * The onboarding Graph calls of @linkojob/whatsapp against the simulator, both over real HTTP: what
 * one proves about the other is what the ingress relies on.
 */
const app = { appId: "1234567890", appSecret: "sim-onboarding-test-secret" };
let sim: MetaSimulator;
let graph: GraphClient;
let receiver: RecordingReceiver;

async function control(method: string, path: string, body?: unknown) {
  const res = await fetch(sim.url + path, {
    method,
    ...(body !== undefined ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const seed = async (body: unknown = {}) => (await control("POST", "/_sim/onboarding/businesses", body)).json;
const newCode = async (body: unknown = {}) =>
  (await control("POST", "/_sim/onboarding/codes", body)).json.code as string;

beforeAll(async () => {
  receiver = await startRecordingReceiver();
  sim = await MetaSimulator.create({ appSecret: app.appSecret, appId: app.appId, webhookUrl: receiver.url });
  await sim.listen();
  graph = new GraphClient({ baseUrl: sim.url, version: "v26.0", headersTimeoutMs: 5_000 });
});
afterAll(async () => {
  await graph.close();
  await sim.close();
  await receiver.close();
});
beforeEach(async () => {
  await control("POST", "/_sim/onboarding/reset");
});

describe("simulated Embedded Signup", () => {
  it("exchanges a code once, then debug_token names the granted WABA and the token's expiry", async () => {
    const business = await seed({ tokenValiditySeconds: 3600 });
    const code = await newCode({ wabaIds: [business.wabaId] });
    const token = await exchangeCodeForToken(graph, app, { code });
    expect(token.accessToken).toMatch(/^EAAS/);
    expect(token.expiresIn).toBeGreaterThan(3500);

    const info = await debugToken(graph, app, token.accessToken);
    expect(info.isValid).toBe(true);
    expect(info.appId).toBe(app.appId);
    expect(grantedWabaIds(info)).toEqual([business.wabaId]);
    expect(info.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 3_500_000);

    // The code is single-use, as at Meta.
    const reused = (await exchangeCodeForToken(graph, app, { code }).catch((e: unknown) => e)) as GraphApiError;
    expect(reused).toBeInstanceOf(GraphApiError);
    expect([reused.code, reused.subcode]).toEqual([100, 36009]);
  });

  it("accepts the token under business_token too", async () => {
    await seed();
    await control("PUT", "/_sim/onboarding/settings", { tokenField: "business_token" });
    const token = await exchangeCodeForToken(graph, app, { code: await newCode() });
    expect((await debugToken(graph, app, token.accessToken)).isValid).toBe(true);
  });

  it("refuses an expired code, a wrong redirect_uri and a wrong app secret with Graph error bodies", async () => {
    await seed();
    const expired = (await exchangeCodeForToken(graph, app, { code: await newCode({ expired: true }) }).catch(
      (e: unknown) => e,
    )) as GraphApiError;
    expect([expired.code, expired.subcode]).toEqual([100, 36007]);

    const code = await newCode({ redirectUri: "https://ingress.example/api/auth/whatsapp/callback" });
    const mismatch = (await exchangeCodeForToken(graph, app, { code, redirectUri: "https://evil.example/cb" }).catch(
      (e: unknown) => e,
    )) as GraphApiError;
    expect(mismatch.subcode).toBe(36008);

    const badSecret = (await exchangeCodeForToken(graph, { ...app, appSecret: "wrong-secret" }, { code }).catch(
      (e: unknown) => e,
    )) as GraphApiError;
    expect(badSecret.code).toBe(1);
    expect(badSecret.message).not.toContain("wrong-secret");
  });

  it("grants no WABA when the dialog approves none", async () => {
    await seed();
    const token = await exchangeCodeForToken(graph, app, { code: await newCode({ wabaIds: [] }) });
    expect(grantedWabaIds(await debugToken(graph, app, token.accessToken))).toEqual([]);
  });

  it("lists numbers, subscribes, registers with a PIN and refuses another PIN afterwards", async () => {
    const business = await seed({
      phoneNumbers: [{ displayPhoneNumber: "+212 612-345678", registered: false }, { registered: true }],
    });
    const { accessToken } = (await control("POST", "/_sim/onboarding/tokens", { wabaIds: [business.wabaId] })).json;

    const numbers = await listPhoneNumbers(graph, accessToken, business.wabaId);
    expect(numbers).toHaveLength(2);
    expect(numbers[0]).toMatchObject({
      displayPhoneNumber: "+212 612-345678",
      status: "PENDING",
      platformType: "NOT_APPLICABLE",
      throughputLevel: "STANDARD",
    });
    expect(numbers.map(needsRegistration)).toEqual([true, false]);

    expect(await subscribeApp(graph, accessToken, business.wabaId)).toBe(true);
    expect(await listSubscribedApps(graph, accessToken, business.wabaId)).toEqual([
      expect.objectContaining({ id: app.appId }),
    ]);

    expect(await registerPhoneNumber(graph, accessToken, numbers[0]!.id, "123456")).toBe(true);
    expect(needsRegistration((await listPhoneNumbers(graph, accessToken, business.wabaId))[0]!)).toBe(false);
    const mismatch = (await registerPhoneNumber(graph, accessToken, numbers[0]!.id, "654321").catch(
      (e: unknown) => e,
    )) as GraphApiError;
    expect(mismatch.code).toBe(133005);
    expect(classifyGraphError(mismatch).kind).toBe("registration");

    expect(await unsubscribeApp(graph, accessToken, business.wabaId)).toBe(true);
    expect(await listSubscribedApps(graph, accessToken, business.wabaId)).toEqual([]);
  });

  it("answers 190 for a revoked token, which classifies as reauth", async () => {
    const business = await seed();
    const { accessToken } = (await control("POST", "/_sim/onboarding/tokens", { wabaIds: [business.wabaId] })).json;
    expect((await control("POST", "/_sim/onboarding/tokens/revoke", { wabaId: business.wabaId })).json.revoked).toBe(1);
    const err = (await listPhoneNumbers(graph, accessToken, business.wabaId).catch((e: unknown) => e)) as GraphApiError;
    expect(err.code).toBe(190);
    expect(classifyGraphError(err)).toMatchObject({ kind: "auth", reauth: true });
    expect((await debugToken(graph, app, accessToken)).isValid).toBe(false);
  });

  it("refuses a token on a WABA it was not granted", async () => {
    const a = await seed();
    const b = await seed();
    const { accessToken } = (await control("POST", "/_sim/onboarding/tokens", { wabaIds: [a.wabaId] })).json;
    const err = (await subscribeApp(graph, accessToken, b.wabaId).catch((e: unknown) => e)) as GraphApiError;
    expect(classifyGraphError(err).kind).toBe("permission");
  });

  it("injects Graph error bodies for a number of calls, then answers normally", async () => {
    const business = await seed();
    const { accessToken } = (await control("POST", "/_sim/onboarding/tokens", { wabaIds: [business.wabaId] })).json;
    await control("POST", "/_sim/onboarding/faults", {
      route: "subscribed_apps",
      status: 400,
      code: 80007,
      message: "rate limit",
      times: 1,
    });
    const err = (await subscribeApp(graph, accessToken, business.wabaId).catch((e: unknown) => e)) as GraphApiError;
    expect(classifyGraphError(err)).toMatchObject({ kind: "rate_limit", retryable: true });
    expect(await subscribeApp(graph, accessToken, business.wabaId)).toBe(true);
  });

  it("answers slowly when asked, which a short timeout turns into a transient GraphNetworkError", async () => {
    const business = await seed();
    const { accessToken } = (await control("POST", "/_sim/onboarding/tokens", { wabaIds: [business.wabaId] })).json;
    await control("POST", "/_sim/onboarding/delays", { route: "phone_numbers", ms: 1_500 });
    const impatient = new GraphClient({ baseUrl: sim.url, version: "v26.0", headersTimeoutMs: 100 });
    try {
      const err = (await listPhoneNumbers(impatient, accessToken, business.wabaId).catch(
        (e: unknown) => e,
      )) as GraphNetworkError;
      expect(err).toBeInstanceOf(GraphNetworkError);
      expect(err.timedOut).toBe(true);
    } finally {
      await impatient.close();
      await control("POST", "/_sim/onboarding/delays", { route: "phone_numbers", ms: 0 });
    }
  });

  it("the dialog approves and redirects with a code and the state, or with access_denied", async () => {
    const business = await seed();
    const redirect = "http://ingress.test/api/auth/whatsapp/callback";
    const dialog = `${sim.url}/v26.0/dialog/oauth?client_id=${app.appId}&redirect_uri=${encodeURIComponent(redirect)}&state=s-1&response_type=code`;
    const res = await fetch(dialog, { redirect: "manual" });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("location")!);
    expect(location.origin + location.pathname).toBe(redirect);
    expect(location.searchParams.get("state")).toBe("s-1");
    const token = await exchangeCodeForToken(graph, app, {
      code: location.searchParams.get("code")!,
      redirectUri: redirect,
    });
    expect(grantedWabaIds(await debugToken(graph, app, token.accessToken))).toEqual([business.wabaId]);

    await control("POST", "/_sim/onboarding/next-approval", { deny: true });
    const denied = new URL((await fetch(dialog, { redirect: "manual" })).headers.get("location")!);
    expect(denied.searchParams.get("error")).toBe("access_denied");
    expect(denied.searchParams.get("code")).toBeNull();
  });

  it("sends a signed account_update webhook", async () => {
    receiver.received.length = 0;
    const res = await control("POST", "/_sim/onboarding/account-update", { wabaId: "777", event: "PARTNER_REMOVED" });
    expect(res.json.status).toBe(200);
    expect(receiver.received).toHaveLength(1);
    const post = receiver.received[0]!;
    expect(verifyWebhookSignature(post.raw, post.headers["x-hub-signature-256"], app.appSecret)).toBe(true);
    const body = JSON.parse(post.raw.toString("utf8"));
    expect(body.entry[0].changes[0]).toMatchObject({
      field: "account_update",
      value: { event: "PARTNER_REMOVED", waba_info: { waba_id: "777" } },
    });
  });
});
