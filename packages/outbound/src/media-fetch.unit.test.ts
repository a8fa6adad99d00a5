import { describe, expect, it } from "vitest";
import { isPublicAddress } from "./media-fetch.js";

describe("isPublicAddress: only public unicast addresses may be fetched", () => {
  it.each([
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.9",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "not an address",
  ])("refuses %s", (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(["8.8.8.8", "41.250.1.1", "2001:4860:4860::8888", "::ffff:8.8.4.4"])("allows %s", (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });
});
