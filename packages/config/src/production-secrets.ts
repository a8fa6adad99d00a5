import { EnvError } from "./parse-env.js";

/**
 * Secret values that are public: the defaults docker-compose.yml used to ship, the test suite's
 * (@linkojob/testing's TEST_SECRETS), and the documented placeholders. Each passes the format checks of
 * vars.ts, so only this list stops a production process from running with one.
 */
export const KNOWN_DEVELOPMENT_SECRETS: Readonly<Record<string, readonly string[]>> = {
  META_APP_SECRET: ["dev-app-secret-change-me", "test-app-secret-not-for-production", "your_app_secret"],
  META_WEBHOOK_VERIFY_TOKEN: ["dev-verify-token", "test-verify-token", "random_secure_token"],
  JWT_SECRET: [
    "dev-jwt-secret-change-me-at-least-32-chars",
    "test-jwt-secret-at-least-32-characters-long",
    "your_jwt_secret",
  ],
  TOKEN_ENCRYPTION_KEY: [
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    `${"0".repeat(63)}1`,
    "32_byte_random_hex_key",
  ],
};

/** A key of one repeated character, or a counting sequence: not random, whatever its length. */
function obviouslyNotRandom(value: string): boolean {
  const v = value.toLowerCase();
  return /^(.)\1*$/.test(v) || /^(?:0123456789abcdef)+/.test(v) || v.includes("change-me") || v.includes("changeme");
}

/**
 * With NODE_ENV=production, refuses to start when a secret is missing or is a known development
 * value (each of several comma-separated TOKEN_ENCRYPTION_KEY keys is checked). Call from an app's
 * env.ts with the same `source` it parsed and the secrets it uses; outside production it does
 * nothing. Throws EnvError naming every offending variable (never its value).
 */
export function assertProductionSecrets(source: Record<string, string | undefined>, names: readonly string[]): void {
  if (source.NODE_ENV !== "production") return;
  const problems: string[] = [];
  for (const name of names) {
    const raw = source[name]?.trim();
    if (!raw) {
      problems.push(`${name}: is required when NODE_ENV=production`);
      continue;
    }
    const known = KNOWN_DEVELOPMENT_SECRETS[name] ?? [];
    const parts =
      name === "TOKEN_ENCRYPTION_KEY"
        ? raw
            .split(",")
            .map((k) => k.trim())
            .filter(Boolean)
        : [raw];
    if (parts.some((p) => known.includes(p) || known.includes(p.toLowerCase()) || obviouslyNotRandom(p))) {
      problems.push(`${name}: is a known development value; set a secret of your own when NODE_ENV=production`);
    }
  }
  if (problems.length) throw new EnvError(problems);
}

/**
 * With NODE_ENV=production, refuses to start when a setting among `names` is unset: a check that is
 * optional in development (the JWT audience and issuer) but must hold in production.
 */
export function assertProductionRequired(source: Record<string, string | undefined>, names: readonly string[]): void {
  if (source.NODE_ENV !== "production") return;
  const problems = names
    .filter((name) => !source[name]?.trim())
    .map((name) => `${name}: is required when NODE_ENV=production`);
  if (problems.length) throw new EnvError(problems);
}
