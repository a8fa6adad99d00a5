import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { testServices } from "@linkojob/testing";
import { OAuthStateStore } from "./oauth-state";
import { OnboardingError } from "./onboarding-error";

const services = testServices("oauthstate");
let redis: Redis;
const secret = "state-test-secret-at-least-32-characters!";

beforeAll(() => {
  redis = new Redis(services.redisUrl);
});
afterAll(async () => {
  const keys = await redis.keys(`${services.prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const store = (overrides: Partial<ConstructorParameters<typeof OAuthStateStore>[1]> = {}) =>
  new OAuthStateStore(redis, { secret, keyPrefix: services.prefix, ...overrides });

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(OnboardingError);
  return (err as OnboardingError).code;
}

describe("OAuth state", () => {
  it("binds the state to the user it was issued to", async () => {
    const s = store();
    expect((await s.consume(s.issue("user-42"))).userId).toBe("user-42");
  });

  it("works once, even across two ingress nodes", async () => {
    const nodeA = store();
    const nodeB = store();
    const state = nodeA.issue("user-1");
    await nodeA.consume(state);
    expect(await codeOf(nodeB.consume(state))).toBe("STATE_REPLAYED");
    expect(await codeOf(nodeA.consume(state))).toBe("STATE_REPLAYED");
  });

  it("expires within its lifetime", async () => {
    const s = store({ ttlSeconds: 300 });
    const issuedAt = Date.now() - 301_000;
    expect(await codeOf(s.consume(s.issue("user-1", issuedAt)))).toBe("STATE_EXPIRED");
    // Still inside its lifetime: fine.
    expect((await s.consume(s.issue("user-1", Date.now() - 200_000))).userId).toBe("user-1");
  });

  it("refuses a state signed with another secret, altered, or malformed", async () => {
    const state = store({ secret: "another-secret-of-at-least-32-characters" }).issue("user-1");
    expect(await codeOf(store().consume(state))).toBe("STATE_INVALID");

    const good = store().issue("user-1");
    const [body, sig] = good.split(".") as [string, string];
    const altered = Buffer.from(body, "base64url").toString("utf8").replace("user-1", "user-2");
    expect(await codeOf(store().consume(`${Buffer.from(altered).toString("base64url")}.${sig}`))).toBe("STATE_INVALID");
    // A shorter signature must be refused, not make timingSafeEqual throw.
    expect(await codeOf(store().consume(`${body}.${sig.slice(0, 10)}`))).toBe("STATE_INVALID");
    for (const bad of [undefined, "", ".", "x", "a.b.c", "x".repeat(2000)]) expect(await codeOf(store().consume(bad))).toBe("STATE_INVALID");
  });

  it("keeps its single-use marker in Redis only as long as needed", async () => {
    const s = store({ ttlSeconds: 120 });
    const state = s.issue("user-ttl");
    const { nonce } = await s.consume(state);
    const ttl = await redis.ttl(`${services.prefix}:oauth-state:${nonce}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(180);
  });
});
