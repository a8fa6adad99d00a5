/**
 * Onboarding with `clients.userId` in the platform's form (an ObjectId; the JWT sub is its hex) and with
 * documents written as the platform writes them (the proof of concept's token string, `tokenExpiry`).
 */
import { createCipheriv, randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { Types } from "mongoose";
import { TEST_SECRETS, eventually } from "@linkojob/testing";
import {
  authHeader,
  popupCode,
  seedBusiness,
  onboardingSuite,
  tokensSeenBySim,
  type OnboardingHarness,
} from "./onboarding.harness.js";

/** The proof of concept's `encrypt` (AES-256-GCM, 16-byte IV, no AAD): `ivHex:tagHex:ciphertextHex`. */
function pocEncrypt(text: string): string {
  const iv = randomBytes(16);
  const cipher = createCipheriv("aes-256-gcm", Buffer.from(TEST_SECRETS.tokenKey, "hex"), iv);
  let encrypted = cipher.update(text, "utf8", "hex");
  encrypted += cipher.final("hex");
  return iv.toString("hex") + ":" + cipher.getAuthTag().toString("hex") + ":" + encrypted;
}

const suite = onboardingSuite("onbplatform");
const { syncCalls, exchange } = suite;
let h: OnboardingHarness;
beforeAll(() => {
  h = suite.h;
});

const raw = () => h.db.connection.db!.collection("clients");
const listOf = async (sub: string) =>
  (await h.app.inject({ method: "GET", url: "/api/auth/whatsapp/clients", headers: await authHeader(sub) })).json();

/** A client inserted through the raw driver with the platform's fields (plus what the test adds). */
async function platformClient(fields: Record<string, unknown>) {
  const _id = new Types.ObjectId();
  const now = new Date();
  await raw().insertOne({
    _id,
    companyName: "Acme Corp",
    email: "rh@acme.example",
    status: "active",
    connectedAt: now,
    disconnectedAt: null,
    createdAt: now,
    updatedAt: now,
    ...fields,
  });
  return _id;
}

describe("a recruiter whose platform user id is an ObjectId", () => {
  it("connects: the client stores userId as an ObjectId and tokenExpiry beside tokenExpiresAt; the API shows the hex", async () => {
    const user = new Types.ObjectId();
    const business = await seedBusiness(h, { tokenValiditySeconds: 60 * 86_400 });
    const res = await exchange(user.toHexString(), { code: await popupCode(h, [business.wabaId]) });
    expect(res.statusCode).toBe(200);
    expect(res.json().client).toMatchObject({ userId: user.toHexString() });

    const stored = (await raw().findOne({ phoneNumberId: business.phoneNumbers[0]!.id }))!;
    expect(stored.userId).toBeInstanceOf(Types.ObjectId);
    expect(stored.userId.equals(user)).toBe(true);
    expect(stored.tokenExpiresAt).toBeInstanceOf(Date);
    expect(stored.tokenExpiry).toEqual(stored.tokenExpiresAt);

    const list = await listOf(user.toHexString());
    expect(list.clients).toHaveLength(1);
    expect(list.clients[0]).toMatchObject({ id: stored._id.toHexString(), userId: user.toHexString() });
    // The same id in capitals is the same ObjectId.
    expect((await listOf(user.toHexString().toUpperCase())).clients).toHaveLength(1);
    expect((await listOf(new Types.ObjectId().toHexString())).clients).toEqual([]);
    // Operators list by the hex.
    const admin = await h.app.inject({
      method: "GET",
      url: `/api/auth/whatsapp/clients?userId=${user.toHexString()}`,
      headers: await authHeader("ops", "admin"),
    });
    expect(admin.json().clients).toHaveLength(1);

    // Its routes resolve it: check and disconnect act for it.
    const check = await h.app.inject({
      method: "POST",
      url: "/api/auth/whatsapp/check",
      headers: await authHeader(user.toHexString()),
    });
    expect(check.statusCode).toBe(200);
    expect(check.json()).toMatchObject({ ok: true });
    const other = await h.app.inject({
      method: "DELETE",
      url: `/api/auth/whatsapp/disconnect?clientId=${stored._id.toHexString()}`,
      headers: await authHeader(new Types.ObjectId().toHexString()),
    });
    expect(other.statusCode).toBe(403);
    const mine = await h.app.inject({
      method: "DELETE",
      url: "/api/auth/whatsapp/disconnect",
      headers: await authHeader(user.toHexString()),
    });
    expect(mine.statusCode).toBe(200);
    expect(await raw().findOne({ _id: stored._id })).toMatchObject({
      status: "disconnected",
      accessToken: null,
      tokenExpiresAt: null,
      tokenExpiry: null,
    });
  });

  it("a recruiter id that is not 24 hex characters stays a string", async () => {
    const business = await seedBusiness(h);
    expect((await exchange("user-42", { code: await popupCode(h, [business.wabaId]) })).statusCode).toBe(200);
    expect((await raw().findOne({ phoneNumberId: business.phoneNumbers[0]!.id }))!.userId).toBe("user-42");
  });
});

describe("documents written as the platform writes them", () => {
  it("its recruiter reconnects the same client (not NUMBER_TAKEN); another recruiter cannot take it", async () => {
    const user = new Types.ObjectId();
    const business = await seedBusiness(h);
    const number = business.phoneNumbers[0]!;
    const id = await platformClient({
      userId: user,
      phoneNumberId: number.id,
      whatsappNumber: "+212600111222",
      accessToken: pocEncrypt("EAAG-old-poc-token"),
      tokenExpiry: new Date(Date.now() - 86_400_000),
    });

    const stranger = await exchange(new Types.ObjectId().toHexString(), {
      code: await popupCode(h, [business.wabaId]),
      phoneNumberId: number.id,
    });
    expect(stranger.statusCode).toBe(409);
    expect(stranger.json().error.code).toBe("NUMBER_TAKEN");

    const again = await exchange(user.toHexString(), {
      code: await popupCode(h, [business.wabaId]),
      phoneNumberId: number.id,
    });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({
      reconnected: true,
      client: { id: id.toHexString(), userId: user.toHexString(), status: "active" },
    });
    const stored = (await raw().findOne({ _id: id }))!;
    expect(stored.userId).toBeInstanceOf(Types.ObjectId);
    expect(Object.keys(stored.accessToken).sort()).toEqual(["data", "iv", "keyId", "tag"]);
    expect(stored.email).toBe("rh@acme.example");
    // The stale platform expiry is replaced by the new token's (this simulator's tokens never expire).
    expect(stored.tokenExpiry).toBeNull();
    expect(await h.db.clients.countDocuments({ phoneNumberId: number.id })).toBe(1);
  });

  it("a client this gateway stored with the hex as a string is matched, and moves to the platform's form on reconnect", async () => {
    const user = new Types.ObjectId();
    const business = await seedBusiness(h);
    const number = business.phoneNumbers[0]!;
    const first = await exchange("placeholder", {
      code: await popupCode(h, [business.wabaId]),
      phoneNumberId: number.id,
    });
    const id = new Types.ObjectId(first.json().client.id as string);
    await raw().updateOne({ _id: id }, { $set: { userId: user.toHexString() } });
    expect((await listOf(user.toHexString())).clients).toHaveLength(1);

    const again = await exchange(user.toHexString(), {
      code: await popupCode(h, [business.wabaId]),
      phoneNumberId: number.id,
    });
    expect(again.json()).toMatchObject({ reconnected: true, client: { id: id.toHexString() } });
    expect((await raw().findOne({ _id: id }))!.userId).toBeInstanceOf(Types.ObjectId);
  });

  it("a disconnected number is reclaimed by its own recruiter as the same client, and released to another", async () => {
    const user = new Types.ObjectId();
    const business = await seedBusiness(h, { phoneNumbers: [{}, {}] });
    const [n1, n2] = business.phoneNumbers;
    const own = await platformClient({
      userId: user,
      phoneNumberId: n1!.id,
      whatsappNumber: "+212600111222",
      accessToken: null,
      status: "disconnected",
      disconnectedAt: new Date(),
    });
    const theirs = await platformClient({
      userId: user,
      phoneNumberId: n2!.id,
      whatsappNumber: "+212600111333",
      accessToken: null,
      status: "disconnected",
      disconnectedAt: new Date(),
    });

    const back = await exchange(user.toHexString(), {
      code: await popupCode(h, [business.wabaId]),
      phoneNumberId: n1!.id,
    });
    expect(back.json()).toMatchObject({ reconnected: true, client: { id: own.toHexString() } });

    const claimed = await exchange(new Types.ObjectId().toHexString(), {
      code: await popupCode(h, [business.wabaId]),
      phoneNumberId: n2!.id,
    });
    expect(claimed.statusCode).toBe(200);
    expect(claimed.json().client.id).not.toBe(theirs.toHexString());
    expect((await raw().findOne({ _id: theirs }))!.phoneNumberId).toMatch(/^released:/);
  });

  it("the connection check opens the proof of concept's token and calls Meta with it", async () => {
    const user = new Types.ObjectId();
    const business = await seedBusiness(h);
    const number = business.phoneNumbers[0]!;
    const { accessToken } = (
      await h.control<{ accessToken: string }>("POST", "/_sim/onboarding/tokens", { wabaIds: [business.wabaId] })
    ).json;
    // The platform's document names no WABA; this gateway needs it to reach the number's account.
    const id = await platformClient({
      userId: user,
      phoneNumberId: number.id,
      wabaId: business.wabaId,
      whatsappNumber: "+212600111222",
      accessToken: pocEncrypt(accessToken),
    });

    const check = await h.app.inject({
      method: "POST",
      url: "/api/auth/whatsapp/check",
      headers: await authHeader(user.toHexString()),
    });
    expect(check.statusCode).toBe(200);
    expect(check.json()).toMatchObject({ ok: true, client: { id: id.toHexString(), userId: user.toHexString() } });
    expect(tokensSeenBySim(h, new RegExp(`/${business.wabaId}/phone_numbers$`))).toContain(accessToken);

    // A disconnect reads it too, to unsubscribe the WABA with it.
    const off = await h.app.inject({
      method: "DELETE",
      url: "/api/auth/whatsapp/disconnect",
      headers: await authHeader(user.toHexString()),
    });
    expect(off.statusCode).toBe(200);
    expect(tokensSeenBySim(h, new RegExp(`/${business.wabaId}/subscribed_apps$`))).toContain(accessToken);
  });

  it("the connection check finds the WABA a platform document does not name, stores it, syncs its templates and announces it", async () => {
    const user = new Types.ObjectId();
    const business = await seedBusiness(h, { phoneNumbers: [{}, {}] });
    const number = business.phoneNumbers[1]!;
    const { accessToken } = (
      await h.control<{ accessToken: string }>("POST", "/_sim/onboarding/tokens", { wabaIds: [business.wabaId] })
    ).json;
    const id = await platformClient({
      userId: user,
      phoneNumberId: number.id,
      whatsappNumber: "+212600111222",
      accessToken: pocEncrypt(accessToken),
    });

    const check = await h.app.inject({
      method: "POST",
      url: "/api/auth/whatsapp/check",
      headers: await authHeader(user.toHexString()),
    });
    expect(check.statusCode).toBe(200);
    expect(check.json()).toMatchObject({
      ok: true,
      client: { id: id.toHexString(), wabaId: business.wabaId, displayPhoneNumber: number.displayPhoneNumber },
    });
    expect((await raw().findOne({ _id: id }))!.wabaId).toBe(business.wabaId);
    expect(syncCalls).toContainEqual({ clientId: id.toHexString(), wabaId: business.wabaId, phoneNumberId: number.id });
    await eventually(() => h.changes.some((c) => c.clientId === id.toHexString()));
    expect(h.sim.state.requestsTo(/debug_token/).length).toBeGreaterThan(0);

    // Known from now on: the next check asks Meta for the number only.
    const debugCalls = h.sim.state.requestsTo(/debug_token/).length;
    expect(
      (
        await h.app.inject({
          method: "POST",
          url: "/api/auth/whatsapp/check",
          headers: await authHeader(user.toHexString()),
        })
      ).json(),
    ).toMatchObject({ ok: true });
    expect(h.sim.state.requestsTo(/debug_token/).length).toBe(debugCalls);
  });

  it("the check of a platform document whose number no granted WABA holds is a 400 naming it; a revoked token marks it reauth_required", async () => {
    const business = await seedBusiness(h);
    const { accessToken } = (
      await h.control<{ accessToken: string }>("POST", "/_sim/onboarding/tokens", { wabaIds: [business.wabaId] })
    ).json;
    const stranger = new Types.ObjectId();
    const elsewhere = await platformClient({
      userId: stranger,
      phoneNumberId: `1099${Date.now() % 1_000_000_000}`,
      whatsappNumber: "+212600111444",
      accessToken: pocEncrypt(accessToken),
    });
    const res = await h.app.inject({
      method: "POST",
      url: "/api/auth/whatsapp/check",
      headers: await authHeader(stranger.toHexString()),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("PHONE_NUMBER_NOT_FOUND");
    expect(await raw().findOne({ _id: elsewhere })).toMatchObject({ status: "active" });
    expect((await raw().findOne({ _id: elsewhere }))!.wabaId).toBeUndefined();

    const revokedUser = new Types.ObjectId();
    const revoked = await platformClient({
      userId: revokedUser,
      phoneNumberId: business.phoneNumbers[0]!.id,
      whatsappNumber: "+212600111555",
      accessToken: pocEncrypt(accessToken),
    });
    await h.control("POST", "/_sim/onboarding/tokens/revoke", { wabaId: business.wabaId });
    const check = await h.app.inject({
      method: "POST",
      url: "/api/auth/whatsapp/check",
      headers: await authHeader(revokedUser.toHexString()),
    });
    expect(check.statusCode).toBe(200);
    expect(check.json()).toMatchObject({
      ok: false,
      client: { id: revoked.toHexString(), status: "reauth_required", statusReason: "TOKEN_INVALID" },
    });
  });

  it("a disconnect of a document without a WABA id wipes the token and unsubscribes nothing", async () => {
    const user = new Types.ObjectId();
    const id = await platformClient({
      userId: user,
      phoneNumberId: `1054${Date.now() % 1_000_000_000}`,
      whatsappNumber: "+212600111222",
      accessToken: pocEncrypt("EAAG-poc"),
      tokenExpiry: new Date(Date.now() + 86_400_000),
    });
    const before = h.sim.state.requests.length;
    const off = await h.app.inject({
      method: "DELETE",
      url: "/api/auth/whatsapp/disconnect",
      headers: await authHeader(user.toHexString()),
    });
    expect(off.statusCode).toBe(200);
    expect(await raw().findOne({ _id: id })).toMatchObject({
      status: "disconnected",
      accessToken: null,
      tokenExpiry: null,
    });
    expect(h.sim.state.requests.length).toBe(before);
  });
});
