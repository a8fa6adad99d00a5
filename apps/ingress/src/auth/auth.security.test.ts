/**
 * Security review, finding 2: JWTs too lenient. Each attack over real HTTP (inject) against
 * the ingress built as main.ts builds it, on the real MongoDB-protocol server and Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signClaims } from "@linkojob/auth";
import { TEST_SECRETS, tokenFor } from "@linkojob/testing";
import { startTestIngress, type TestIngress } from "../ingress.harness.js";

const AUDIENCE = "linkojob-whatsapp";
const ISSUER = "https://linkojob.com";

let plain: TestIngress;
let strict: TestIngress;
let owner: string;

beforeAll(async () => {
  plain = await startTestIngress("authsecurity");
  strict = await startTestIngress("authsecurityaud", {
    config: { jwt: { audience: AUDIENCE, issuer: ISSUER, adminMaxAgeSeconds: 3600 } },
  });
  owner = `recruiter-${plain.services.id}`;
  for (const t of [plain, strict]) {
    await t.db.clients.create({
      userId: owner,
      companyName: "Atlas Recrutement",
      phoneNumberId: `pn-${t.services.id}`,
      wabaId: `waba-${t.services.id}`,
      whatsappNumber: "212522000001",
      status: "active",
    });
  }
});
afterAll(async () => {
  await plain?.close();
  await strict?.close();
});

const now = () => Math.floor(Date.now() / 1000);
const raw = (claims: Record<string, unknown>) => signClaims(TEST_SECRETS.jwtSecret, claims);
const conversations = (t: TestIngress, token: string) =>
  t.app.inject({ method: "GET", url: "/api/messages/conversations", headers: { authorization: `Bearer ${token}` } });
const board = (t: TestIngress, token: string) =>
  t.app.inject({ method: "GET", url: "/admin/queues/api/queues", headers: { authorization: `Bearer ${token}` } });

describe("finding 2: JWTs too lenient", () => {
  it("a well-formed recruiter token still reads its own conversations (the baseline of the attacks below)", async () => {
    expect((await conversations(plain, await tokenFor(owner))).statusCode).toBe(200);
  });

  it("refuses a token without exp (it used to be accepted forever)", async () => {
    const res = await conversations(plain, await raw({ sub: owner, role: "recruiter", iat: now() }));
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe("AUTH_ERR_INVALID");
  });

  it("refuses a token without role (it used to become a recruiter)", async () => {
    const res = await conversations(plain, await raw({ sub: owner, iat: now(), exp: now() + 3600 }));
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe("AUTH_ERR_INVALID");
  });

  it("refuses a token without sub", async () => {
    const res = await conversations(plain, await raw({ role: "recruiter", iat: now(), exp: now() + 3600 }));
    expect(res.statusCode).toBe(401);
  });

  it("with JWT_AUDIENCE and JWT_ISSUER set, refuses another service's token signed with the same secret", async () => {
    const base = { sub: owner, role: "recruiter", iat: now(), exp: now() + 3600 };
    for (const claims of [
      base,
      { ...base, aud: "linkojob-billing", iss: ISSUER },
      { ...base, aud: AUDIENCE, iss: "https://evil.example" },
      { ...base, aud: AUDIENCE },
    ]) {
      const res = await conversations(strict, await raw(claims));
      expect(res.statusCode, JSON.stringify(claims)).toBe(401);
      expect(res.json().error.code).toBe("AUTH_ERR_INVALID");
    }
    expect((await conversations(strict, await raw({ ...base, aud: AUDIENCE, iss: ISSUER }))).statusCode).toBe(200);
    expect(
      (await conversations(strict, await raw({ ...base, aud: [AUDIENCE, "other"], iss: ISSUER }))).statusCode,
    ).toBe(200);
  });

  it("a board session opened with an admin token near its age cap ends at iat + cap, not at the token's far exp", async () => {
    const iat = now() - 12 * 3600 + 120;
    const token = await raw({ sub: "ops-1", role: "admin", iat, exp: now() + 30 * 86_400 });
    const res = await plain.app.inject({ method: "POST", url: "/admin/queues/session", payload: { token } });
    expect(res.statusCode).toBe(303);
    const maxAge = Number(/Max-Age=(\d+)/.exec(String(res.headers["set-cookie"]))![1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(120);
  });

  it("caps a service token's age too (24 h by default) whatever its exp", async () => {
    const old = await raw({ sub: "backend", role: "service", iat: now() - 25 * 3600, exp: now() + 30 * 86_400 });
    const res = await conversations(plain, old);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe("AUTH_ERR_EXPIRED");
    expect(
      (await conversations(plain, await raw({ sub: "backend", role: "service", exp: now() + 3600 }))).statusCode,
    ).toBe(401);
  });

  it("caps an admin token's age whatever its exp, and requires its iat", async () => {
    const base = { sub: "ops-1", role: "admin", aud: AUDIENCE, iss: ISSUER };
    const old = await raw({ ...base, iat: now() - 2 * 3600, exp: now() + 30 * 86_400 });
    const res = await board(strict, old);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe("AUTH_ERR_EXPIRED");
    expect((await board(strict, await raw({ ...base, exp: now() + 3600 }))).statusCode).toBe(401);
    // An iat set in the future to stretch the cap is refused too.
    expect((await board(strict, await raw({ ...base, iat: now() + 86_400, exp: now() + 2 * 86_400 }))).statusCode).toBe(
      401,
    );
    expect((await board(strict, await raw({ ...base, iat: now() - 60, exp: now() + 3600 }))).statusCode).toBe(200);

    // The default cap (12 h) applies without configuration.
    const dayOld = await raw({ sub: "ops-1", role: "admin", iat: now() - 13 * 3600, exp: now() + 86_400 });
    expect((await board(plain, dayOld)).statusCode).toBe(401);
    // A recruiter token of the same age is not capped (its exp is what ends it).
    expect(
      (
        await conversations(
          plain,
          await raw({ sub: owner, role: "recruiter", iat: now() - 13 * 3600, exp: now() + 3600 }),
        )
      ).statusCode,
    ).toBe(200);
  });
});
