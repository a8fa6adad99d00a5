import { webcrypto } from "node:crypto";
import { SignJWT, errors as joseErrors, jwtVerify, type JWTVerifyOptions } from "jose";
import { z } from "zod";
import { defineErrors } from "@linkojob/errors";

/**
 * Who is calling, from the platform's JWT (HS256 with JWT_SECRET):
 * - `recruiter`: may act only for the client(s) whose `userId` is `sub`;
 * - `service`: the platform backend, may name any `clientId`;
 * - `admin`: operators.
 * The role is a required claim: a token without one is refused, never taken for a recruiter.
 */
export const roleSchema = z.enum(["recruiter", "service", "admin"]);
export type Role = z.infer<typeof roleSchema>;

export interface Principal {
  userId: string;
  role: Role;
  /**
   * Seconds since epoch when the token stops being accepted: its `exp`, or for an admin or service
   * token `iat` + the role's age cap when that comes first. Sockets and board sessions end then.
   */
  expiresAt: number;
}

/** Why a bearer token is not accepted: the auth domain's error catalog. */
export class AuthError extends defineErrors("AuthError", {
  AUTH_ERR_MISSING: "no bearer token",
  AUTH_ERR_INVALID: "the token is not valid",
  AUTH_ERR_EXPIRED: "the token has expired",
}) {}

/** Default longest life of an admin token, counted from its `iat`: 12 hours (a working day and a margin). */
export const DEFAULT_ADMIN_MAX_AGE_SECONDS = 12 * 3600;

/** Default longest life of a service token (the platform backend's), counted from its `iat`: 24 hours. */
export const DEFAULT_SERVICE_MAX_AGE_SECONDS = 24 * 3600;

export interface JwtVerifierOptions {
  /** Required `aud` (JWT_AUDIENCE). Unset: `aud` is not checked. */
  audience?: string;
  /** Required `iss` (JWT_ISSUER). Unset: `iss` is not checked. */
  issuer?: string;
  /** Admin tokens must carry `iat` and be younger than this, whatever their `exp`. Default 12 h. */
  adminMaxAgeSeconds?: number;
  /** Service tokens must carry `iat` and be younger than this, whatever their `exp`. Default 24 h. */
  serviceMaxAgeSeconds?: number;
}

const claimsSchema = z.object({
  sub: z.string().min(1),
  role: roleSchema,
  exp: z.number(),
  iat: z.number().optional(),
  // Checked by jose (a number, not in the future); kept for tokens verified again from memory.
  nbf: z.number().optional(),
});

/**
 * Verifies the platform's JWTs. A token must be HS256-signed with JWT_SECRET and carry `sub`, `role`
 * and `exp`; when an audience or issuer is configured, `aud` / `iss` must match, so that another
 * token the platform signs with the same secret (another service's audience) is refused here.
 */
export class JwtVerifier {
  private readonly key: Uint8Array;
  /**
   * The secret imported once as a WebCrypto key: given the raw bytes, jose imports them again for
   * every token (measured in the send API's benchmark at saturation: key import and its wrapping
   * about a fifth of the process's CPU).
   */
  private cryptoKey: Promise<webcrypto.CryptoKey> | null = null;
  private readonly joseOptions: JWTVerifyOptions;
  private readonly maxAgeSeconds: Partial<Record<Role, number>>;
  /**
   * Tokens already verified (signature, algorithm, aud, iss, claims), by their whole text, with the
   * claims their validity in time depends on: a repeated token (every request of a session) is
   * checked against the clock only, without an HMAC (measured in the send API's benchmark at
   * saturation: jose's verification with WebCrypto about a tenth of the process's CPU). Only tokens
   * that passed are kept, so a refusal is always decided anew; a token past its `exp` (or its
   * role's age cap) is verified again in full and refused as before.
   */
  private readonly verified = new Map<string, VerifiedClaims>();

  constructor(secret: string, options: JwtVerifierOptions = {}) {
    this.key = new TextEncoder().encode(secret);
    this.joseOptions = {
      algorithms: ["HS256"],
      requiredClaims: ["sub", "exp"],
      ...(options.audience ? { audience: options.audience } : {}),
      ...(options.issuer ? { issuer: options.issuer } : {}),
    };
    this.maxAgeSeconds = {
      admin: options.adminMaxAgeSeconds ?? DEFAULT_ADMIN_MAX_AGE_SECONDS,
      service: options.serviceMaxAgeSeconds ?? DEFAULT_SERVICE_MAX_AGE_SECONDS,
    };
  }

  async verify(token: string | undefined | null, now = Math.floor(Date.now() / 1000)): Promise<Principal> {
    if (!token) throw new AuthError("AUTH_ERR_MISSING", "a bearer token is required");
    const known = this.verified.get(token);
    // jose's checks in time (exp, nbf) on the kept claims; the role's iat checks in principalOf.
    if (known) {
      if (known.exp > now && (known.nbf === undefined || known.nbf <= now)) return this.principalOf(known, now);
      this.verified.delete(token);
    }
    let payload: unknown;
    try {
      // A failed import is not kept: the next token tries again.
      this.cryptoKey ??= webcrypto.subtle
        .importKey("raw", this.key, { name: "HMAC", hash: "SHA-256" }, false, ["verify"])
        .catch((err: unknown) => {
          this.cryptoKey = null;
          throw err;
        });
      ({ payload } = await jwtVerify(token, await this.cryptoKey, {
        ...this.joseOptions,
        currentDate: new Date(now * 1000),
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new AuthError("AUTH_ERR_EXPIRED", "token expired");
      if (err instanceof joseErrors.JWTClaimValidationFailed)
        throw new AuthError("AUTH_ERR_INVALID", `invalid token: ${err.message}`);
      throw new AuthError("AUTH_ERR_INVALID", "invalid token");
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw new AuthError("AUTH_ERR_INVALID", "token lacks a valid sub, role or exp");
    const { sub, role, exp, iat, nbf } = claims.data;
    const verified: VerifiedClaims = { sub, role, exp, iat, nbf };
    const principal = this.principalOf(verified, now);
    if (this.verified.size >= VERIFIED_TOKENS_KEPT) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, verified);
    return principal;
  }

  /** The principal of verified claims at `now`, after the checks of its role's `iat` (age cap, future). */
  private principalOf({ sub, role, exp, iat }: VerifiedClaims, now: number): Principal {
    const cap = this.maxAgeSeconds[role];
    if (cap === undefined) return { userId: sub, role, expiresAt: exp };
    if (iat === undefined) throw new AuthError("AUTH_ERR_INVALID", `a token of role ${role} must carry iat`);
    // An iat in the future would stretch the age cap; a minute of clock skew is tolerated.
    if (iat > now + 60) throw new AuthError("AUTH_ERR_INVALID", `the iat of a token of role ${role} is in the future`);
    if (now - iat > cap) throw new AuthError("AUTH_ERR_EXPIRED", `${role} token older than ${cap} s`);
    // The answer says when it ends: a socket or a board session opened with it ends then too.
    return { userId: sub, role, expiresAt: Math.min(exp, iat + cap) };
  }
}

/** The claims of a token whose signature and static claims passed, as JwtVerifier keeps them. */
type VerifiedClaims = z.infer<typeof claimsSchema>;

/** How many verified tokens a JwtVerifier keeps (the oldest goes first): ~400 bytes each. */
const VERIFIED_TOKENS_KEPT = 4_096;

/** Issues a token (tests, the demo, and the platform's reference implementation). */
export async function signJwt(
  secret: string,
  claims: { sub: string; role?: Role; audience?: string; issuer?: string },
  expiresIn: string | number = "1h",
): Promise<string> {
  const jwt = new SignJWT({ role: claims.role ?? "recruiter" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn);
  if (claims.audience) jwt.setAudience(claims.audience);
  if (claims.issuer) jwt.setIssuer(claims.issuer);
  return jwt.sign(new TextEncoder().encode(secret));
}

/** Extracts the token from an `Authorization: Bearer …` header. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}

/** Signs exactly the claims given, nothing added (tests of what the verifier refuses). */
export function signClaims(secret: string, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(secret));
}
