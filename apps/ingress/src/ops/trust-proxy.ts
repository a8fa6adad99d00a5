import { isIP } from "node:net";
import { z } from "zod";

/** What Fastify's `trustProxy` gets: false (none), a hop count, or the proxies' addresses and CIDRs. */
export type TrustProxy = false | number | string[];

const isAddressOrCidr = (s: string) => {
  const [address, bits, extra] = s.split("/");
  if (extra !== undefined || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
};

/**
 * TRUST_PROXY: which proxies may tell the client's address in X-Forwarded-For. Default none: the
 * address is the TCP peer's, so a client cannot pick its own rate-limit bucket. A number trusts that
 * many hops in front of the ingress (1: one load balancer); a comma-separated list trusts those
 * addresses or CIDRs (e.g. `10.0.0.0/8,127.0.0.1`). `true`/"all" is refused: the left-most address
 * is written by the client.
 */
export const trustProxyVar = z
  .string()
  .trim()
  .default("")
  .transform((s, ctx): TrustProxy => {
    if (s === "" || s === "false" || s === "none" || s === "0") return false;
    if (/^\d+$/.test(s)) return Number(s);
    const list = s
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean);
    const bad = list.filter((p) => !isAddressOrCidr(p));
    if (bad.length > 0 || list.length === 0) {
      ctx.addIssue({
        code: "custom",
        message: `must be a hop count or a comma-separated list of IP addresses / CIDRs (not: ${bad.join(", ") || s})`,
      });
      return z.NEVER;
    }
    return list;
  });
