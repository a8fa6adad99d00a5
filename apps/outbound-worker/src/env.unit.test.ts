import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadOutboundEnv } from "./env.js";

describe("outbound worker environment", () => {
  const base = {
    MONGODB_URI: "mongodb://db/linkojob",
    REDIS_URL: "redis://redis:6379",
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
  };
  const scrape = { METRICS_TOKEN: randomBytes(24).toString("hex") };

  it("in production sends only to Meta's Graph API: the simulator's URL is refused (it would receive every token)", () => {
    expect(() =>
      loadOutboundEnv({ ...base, ...scrape, NODE_ENV: "production", META_GRAPH_URL: "http://meta-sim:4000" }),
    ).toThrow(/META_GRAPH_URL: must be https:\/\/graph\.facebook\.com/);
    expect(loadOutboundEnv({ ...base, ...scrape, NODE_ENV: "production" }).META_GRAPH_URL).toBe(
      "https://graph.facebook.com",
    );
    expect(loadOutboundEnv({ ...base, META_GRAPH_URL: "http://meta-sim:4000" }).META_GRAPH_URL).toBe(
      "http://meta-sim:4000",
    );
  });

  it("in production requires METRICS_TOKEN, without which /metrics on HEALTH_PORT would be open", () => {
    expect(() => loadOutboundEnv({ ...base, NODE_ENV: "production" })).toThrow(/METRICS_TOKEN: is required/);
    expect(
      loadOutboundEnv({ ...base, NODE_ENV: "production", METRICS_TOKEN: randomBytes(24).toString("hex") })
        .METRICS_TOKEN,
    ).toHaveLength(48);
  });

  it("reads VAULT_REQUIRE_BOUND (default false: unbound ciphertexts still decrypt until they are re-encrypted)", () => {
    expect(loadOutboundEnv(base).VAULT_REQUIRE_BOUND).toBe(false);
    expect(loadOutboundEnv({ ...base, VAULT_REQUIRE_BOUND: "true" }).VAULT_REQUIRE_BOUND).toBe(true);
    expect(() => loadOutboundEnv({ ...base, VAULT_REQUIRE_BOUND: "yes" })).toThrow(
      /VAULT_REQUIRE_BOUND: must be true or false/,
    );
  });

  it("fetches media URLs from public addresses only, unless hosts are named (an internal CDN)", () => {
    expect(loadOutboundEnv(base).OUTBOUND_MEDIA_ALLOW_PRIVATE_HOSTS).toEqual([]);
    expect(
      loadOutboundEnv({ ...base, OUTBOUND_MEDIA_ALLOW_PRIVATE_HOSTS: " cdn.internal , Media.Lan " })
        .OUTBOUND_MEDIA_ALLOW_PRIVATE_HOSTS,
    ).toEqual(["cdn.internal", "media.lan"]);
    expect(() => loadOutboundEnv({ ...base, OUTBOUND_MEDIA_ALLOW_PRIVATE_HOSTS: "http://cdn/" })).toThrow(
      /OUTBOUND_MEDIA_ALLOW_PRIVATE_HOSTS\S*: must be host names/,
    );
  });

  it("reads PERSONAL_DATA_HASH_KEY (the erased candidates' opt-outs are looked up by it); empty is unset", () => {
    const key = randomBytes(32).toString("hex");
    expect(loadOutboundEnv({ ...base, PERSONAL_DATA_HASH_KEY: key }).PERSONAL_DATA_HASH_KEY).toBe(key);
    expect(loadOutboundEnv({ ...base, PERSONAL_DATA_HASH_KEY: "" }).PERSONAL_DATA_HASH_KEY).toBeUndefined();
    expect(() => loadOutboundEnv({ ...base, PERSONAL_DATA_HASH_KEY: "abc" })).toThrow(
      /PERSONAL_DATA_HASH_KEY: must be 64 hex characters/,
    );
  });
});
