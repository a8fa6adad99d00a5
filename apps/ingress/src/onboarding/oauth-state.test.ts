import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { testServices } from "@linkojob/testing";
import { OAuthStateStore, type IssuedState } from "./oauth-state.js";
import { OnboardingError } from "./onboarding-error.js";

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
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OnboardingError);
  return (err as OnboardingError).code;
}

/** Consumes an issued state from the browser that asked for it. */
const finish = (s: OAuthStateStore, issued: IssuedState) => s.consume(issued.state, issued.browserSecret);

describe("OAuth state", () => {
  it("binds the state to the user it was issued to", async () => {
    const s = store();
    expect((await finish(s, s.issue("user-42"))).userId).toBe("user-42");
  });

  it("binds the state to the browser it was issued to: another browser's secret, or none, is refused and spends the state", async () => {
    const s = store();
    const mine = s.issue("user-7");
    const other = s.issue("user-7");
    expect(await codeOf(s.consume(mine.state, other.browserSecret))).toBe("STATE_BROWSER_MISMATCH");
    expect(await codeOf(finish(s, mine))).toBe("STATE_REPLAYED");
    const third = s.issue("user-7");
    expect(await codeOf(s.consume(third.state, undefined))).toBe("STATE_BROWSER_MISMATCH");
    // The browser secret never appears in the state (which travels through Meta and the address bar).
    expect(third.state).not.toContain(third.browserSecret);
  });

  it("works once, even across two ingress nodes", async () => {
    const nodeA = store();
    const nodeB = store();
    const issued = nodeA.issue("user-1");
    await finish(nodeA, issued);
    expect(await codeOf(finish(nodeB, issued))).toBe("STATE_REPLAYED");
    expect(await codeOf(finish(nodeA, issued))).toBe("STATE_REPLAYED");
  });

  it("expires within its lifetime", async () => {
    const s = store({ ttlSeconds: 300 });
    const issuedAt = Date.now() - 301_000;
    expect(await codeOf(finish(s, s.issue("user-1", issuedAt)))).toBe("STATE_EXPIRED");
    // Still inside its lifetime: fine.
    expect((await finish(s, s.issue("user-1", Date.now() - 200_000))).userId).toBe("user-1");
  });

  it("refuses a state signed with another secret, altered, or malformed", async () => {
    const foreign = store({ secret: "another-secret-of-at-least-32-characters" }).issue("user-1");
    expect(await codeOf(finish(store(), foreign))).toBe("STATE_INVALID");

    const good = store().issue("user-1");
    const [body, sig] = good.state.split(".") as [string, string];
    const altered = Buffer.from(body, "base64url").toString("utf8").replace("user-1", "user-2");
    expect(
      await codeOf(store().consume(`${Buffer.from(altered).toString("base64url")}.${sig}`, good.browserSecret)),
    ).toBe("STATE_INVALID");
    // A shorter signature must be refused, not make timingSafeEqual throw.
    expect(await codeOf(store().consume(`${body}.${sig.slice(0, 10)}`, good.browserSecret))).toBe("STATE_INVALID");
    for (const bad of [undefined, "", ".", "x", "a.b.c", "x".repeat(2000)])
      expect(await codeOf(store().consume(bad, good.browserSecret))).toBe("STATE_INVALID");
  });

  it("keeps its single-use marker in Redis only as long as needed", async () => {
    const s = store({ ttlSeconds: 120 });
    const { nonce } = await finish(s, s.issue("user-ttl"));
    const ttl = await redis.ttl(`${services.prefix}:oauth-state:${nonce}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(180);
  });
});
