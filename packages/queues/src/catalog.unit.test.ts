import { describe, expect, it } from "vitest";
import { receiptJobId, wamidDigest } from "./catalog.js";

describe("job ids built from wamids", () => {
  const wamid = "wamid.HBgMMjEyNjEyMzQ1Njc4FQIAERgSQjA1QkZCNzU3MEE2RTlGMDAA";

  it("say nothing of the number the wamid encodes", () => {
    const id = receiptJobId(wamid, false);
    expect(id).not.toContain("HBgM");
    expect(id).not.toContain("212612345678");
    expect(id).toMatch(/^read-[0-9a-f]{32}$/);
  });

  it("stay one job per wamid and kind: the same wamid gives the same id, another wamid another", () => {
    expect(receiptJobId(wamid, false)).toBe(receiptJobId(wamid, false));
    expect(receiptJobId(wamid, true, "3")).toBe(`typing-${wamidDigest(wamid)}-3`);
    expect(receiptJobId(`${wamid}x`, false)).not.toBe(receiptJobId(wamid, false));
  });
});
