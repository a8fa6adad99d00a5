import { signJwt, type Role } from "@linkojob/auth";

/** Secrets used by tests only; the apps read theirs from the environment. */
export const TEST_SECRETS = {
  appId: "1234567890",
  appSecret: "test-app-secret-not-for-production",
  verifyToken: "test-verify-token",
  jwtSecret: "test-jwt-secret-at-least-32-characters-long",
  tokenKey: "0".repeat(63) + "1",
} as const;

export const tokenFor = (sub: string, role: Role = "recruiter", expiresIn: string | number = "1h") =>
  signJwt(TEST_SECRETS.jwtSecret, { sub, role }, expiresIn);
