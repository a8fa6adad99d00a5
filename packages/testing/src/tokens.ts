import { signJwt, type Role } from "@linkojob/auth";

/** Secrets used by tests only; the apps read theirs from the environment. */
export const TEST_SECRETS = {
  appId: "1234567890",
  appSecret: "test-app-secret-not-for-production",
  verifyToken: "test-verify-token",
  jwtSecret: "test-jwt-secret-at-least-32-characters-long",
  tokenKey: "0".repeat(63) + "1",
  /** PERSONAL_DATA_HASH_KEY of the test stacks: the keyed hashes an erasure leaves (the opt-out). */
  personalDataHashKey: "7e".repeat(32),
} as const;

/** The ingress's secrets in tests (buildApp's `config`), with the test file's queue prefix. */
export const testIngressConfig = (queuePrefix: string) => ({
  appSecret: TEST_SECRETS.appSecret,
  verifyToken: TEST_SECRETS.verifyToken,
  jwtSecret: TEST_SECRETS.jwtSecret,
  queuePrefix,
});

/** A test JWT; `sub` may be a client's stored userId (a string, or an ObjectId: its hex). */
export const tokenFor = (
  sub: string | { toHexString(): string },
  role: Role = "recruiter",
  expiresIn: string | number = "1h",
) => signJwt(TEST_SECRETS.jwtSecret, { sub: typeof sub === "string" ? sub : sub.toHexString(), role }, expiresIn);
