import { z } from "zod";
import { DEFAULT_ADMIN_MAX_AGE_SECONDS, type JwtVerifierOptions } from "./jwt.js";

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((s) => (s ? s : undefined));

/** The environment variables of JWT verification, for every process that verifies the platform's tokens. */
export const jwtEnvShape = {
  /** Required `aud` claim of the platform's tokens. Unset: not checked. */
  JWT_AUDIENCE: optionalText,
  /** Required `iss` claim of the platform's tokens. Unset: not checked. */
  JWT_ISSUER: optionalText,
  /** Longest age (from `iat`) of an admin token, in seconds. Default 43200 (12 h). */
  JWT_ADMIN_MAX_AGE_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(30 * 86_400)
    .default(DEFAULT_ADMIN_MAX_AGE_SECONDS),
};

/** JwtVerifier options from a parsed environment that includes jwtEnvShape. */
export function jwtVerifierOptions(env: {
  JWT_AUDIENCE?: string | undefined;
  JWT_ISSUER?: string | undefined;
  JWT_ADMIN_MAX_AGE_SECONDS: number;
}): JwtVerifierOptions {
  return {
    ...(env.JWT_AUDIENCE ? { audience: env.JWT_AUDIENCE } : {}),
    ...(env.JWT_ISSUER ? { issuer: env.JWT_ISSUER } : {}),
    adminMaxAgeSeconds: env.JWT_ADMIN_MAX_AGE_SECONDS,
  };
}
