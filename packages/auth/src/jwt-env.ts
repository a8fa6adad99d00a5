import { z } from "zod";
import { DEFAULT_ADMIN_MAX_AGE_SECONDS, DEFAULT_SERVICE_MAX_AGE_SECONDS, type JwtVerifierOptions } from "./jwt.js";

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
  /** Longest age (from `iat`) of a service token, in seconds. Default 86400 (24 h). */
  JWT_SERVICE_MAX_AGE_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(90 * 86_400)
    .default(DEFAULT_SERVICE_MAX_AGE_SECONDS),
};

/** With NODE_ENV=production the audience and issuer are required (checked by the apps' env.ts). */
export const PRODUCTION_JWT_CLAIMS = ["JWT_AUDIENCE", "JWT_ISSUER"] as const;

/** JwtVerifier options from a parsed environment that includes jwtEnvShape. */
export function jwtVerifierOptions(env: {
  JWT_AUDIENCE?: string | undefined;
  JWT_ISSUER?: string | undefined;
  JWT_ADMIN_MAX_AGE_SECONDS: number;
  JWT_SERVICE_MAX_AGE_SECONDS: number;
}): JwtVerifierOptions {
  return {
    ...(env.JWT_AUDIENCE ? { audience: env.JWT_AUDIENCE } : {}),
    ...(env.JWT_ISSUER ? { issuer: env.JWT_ISSUER } : {}),
    adminMaxAgeSeconds: env.JWT_ADMIN_MAX_AGE_SECONDS,
    serviceMaxAgeSeconds: env.JWT_SERVICE_MAX_AGE_SECONDS,
  };
}
