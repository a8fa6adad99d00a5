import { SignJWT, errors as joseErrors, jwtVerify } from "jose";
import { z } from "zod";

/**
 * Who is calling, from the platform's JWT (HS256 with JWT_SECRET):
 * - `recruiter` (the default): may act only for the client(s) whose `userId` is `sub`;
 * - `service`: the platform backend, may name any `clientId`;
 * - `admin`: operators.
 */
export const roleSchema = z.enum(["recruiter", "service", "admin"]);
export type Role = z.infer<typeof roleSchema>;

export interface Principal {
  userId: string;
  role: Role;
  /** Seconds since epoch when the token expires (absent: no expiry claim). */
  expiresAt?: number;
}

export class AuthError extends Error {
  readonly code: "AUTH_ERR_MISSING" | "AUTH_ERR_INVALID" | "AUTH_ERR_EXPIRED";
  constructor(code: AuthError["code"], message: string) {
    super(message);
    this.name = "AuthError";
    this.code = code;
  }
}

const claimsSchema = z.object({
  sub: z.string().min(1),
  role: roleSchema.default("recruiter"),
  exp: z.number().optional(),
});

export class JwtVerifier {
  private readonly key: Uint8Array;
  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  async verify(token: string | undefined | null): Promise<Principal> {
    if (!token) throw new AuthError("AUTH_ERR_MISSING", "a bearer token is required");
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: ["HS256"] }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new AuthError("AUTH_ERR_EXPIRED", "token expired");
      throw new AuthError("AUTH_ERR_INVALID", "invalid token");
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw new AuthError("AUTH_ERR_INVALID", "token lacks a valid sub or role");
    return {
      userId: claims.data.sub,
      role: claims.data.role,
      ...(claims.data.exp !== undefined ? { expiresAt: claims.data.exp } : {}),
    };
  }
}

/** Issues a token (tests, the demo, and the platform's reference implementation). */
export async function signJwt(
  secret: string,
  claims: { sub: string; role?: Role },
  expiresIn: string | number = "1h",
): Promise<string> {
  return new SignJWT({ role: claims.role ?? "recruiter" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

/** Extracts the token from an `Authorization: Bearer …` header. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}
