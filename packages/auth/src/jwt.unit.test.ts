import { webcrypto } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { JwtVerifier, signClaims } from "./jwt.js";

const SECRET = "a-test-secret-of-some-length-0123456789";
const NOW = 1_800_000_000;

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => "accepted",
    (err: { code?: string }) => err.code,
  );

afterEach(() => vi.restoreAllMocks());

describe("JwtVerifier: tokens verified again from memory", () => {
  it("checks a repeated token's signature once and answers the same principal", async () => {
    const verify = vi.spyOn(webcrypto.subtle, "verify");
    const verifier = new JwtVerifier(SECRET);
    const token = await signClaims(SECRET, { sub: "u1", role: "recruiter", exp: NOW + 60 });
    const first = await verifier.verify(token, NOW);
    const again = await verifier.verify(token, NOW + 1);
    expect(again).toEqual(first);
    expect(first).toEqual({ userId: "u1", role: "recruiter", expiresAt: NOW + 60 });
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it("refuses a remembered token once its exp is reached, as a first verification would", async () => {
    const verifier = new JwtVerifier(SECRET);
    const token = await signClaims(SECRET, { sub: "u1", role: "recruiter", exp: NOW + 60 });
    await verifier.verify(token, NOW);
    expect(await refusal(verifier.verify(token, NOW + 60))).toBe("AUTH_ERR_EXPIRED");
    expect(await refusal(new JwtVerifier(SECRET).verify(token, NOW + 60))).toBe("AUTH_ERR_EXPIRED");
  });

  it("refuses a remembered admin token past its age cap, whatever its exp", async () => {
    const verifier = new JwtVerifier(SECRET, { adminMaxAgeSeconds: 3600 });
    const token = await signClaims(SECRET, { sub: "op", role: "admin", iat: NOW, exp: NOW + 86_400 });
    expect(await verifier.verify(token, NOW + 3600)).toEqual({ userId: "op", role: "admin", expiresAt: NOW + 3600 });
    expect(await refusal(verifier.verify(token, NOW + 3601))).toBe("AUTH_ERR_EXPIRED");
  });

  it("refuses a remembered token before its nbf (a verification at an earlier time)", async () => {
    const verifier = new JwtVerifier(SECRET);
    const token = await signClaims(SECRET, { sub: "u1", role: "recruiter", nbf: NOW, exp: NOW + 60 });
    await verifier.verify(token, NOW);
    expect(await refusal(verifier.verify(token, NOW - 1))).toBe("AUTH_ERR_INVALID");
  });

  it("never takes a token with another signature for a remembered one", async () => {
    const verifier = new JwtVerifier(SECRET);
    const token = await signClaims(SECRET, { sub: "u1", role: "recruiter", exp: NOW + 60 });
    await verifier.verify(token, NOW);
    const forged = await signClaims("another-secret-of-some-length-0123456789", {
      sub: "u1",
      role: "recruiter",
      exp: NOW + 60,
    });
    expect(await refusal(verifier.verify(forged, NOW))).toBe("AUTH_ERR_INVALID");
    const tampered = `${token.slice(0, -2)}${token.endsWith("AA") ? "BB" : "AA"}`;
    expect(await refusal(verifier.verify(tampered, NOW))).toBe("AUTH_ERR_INVALID");
  });

  it("remembers no refusal: a refused token stays refused, and another verifier's options apply", async () => {
    const strict = new JwtVerifier(SECRET, { audience: "gateway" });
    const token = await signClaims(SECRET, { sub: "u1", role: "recruiter", exp: NOW + 60 });
    expect(await refusal(new JwtVerifier(SECRET).verify(token, NOW))).toBe("accepted");
    expect(await refusal(strict.verify(token, NOW))).toBe("AUTH_ERR_INVALID");
    expect(await refusal(strict.verify(token, NOW))).toBe("AUTH_ERR_INVALID");
  });
});
