import { describe, expect, it } from "vitest";
import { flowTokenOf } from "./flow-token.js";

describe("flowTokenOf", () => {
  it("reads an interactive flow's token, or a template's FLOW button parameter, and nothing else", () => {
    expect(flowTokenOf({ interactive: { type: "flow", flowToken: "lj1.1.A.x" } })).toBe("lj1.1.A.x");
    expect(
      flowTokenOf({
        templateButtons: [
          { index: 0, subType: "quick_reply", parameter: "oui" },
          { index: 1, subType: "flow", parameter: "lj1.2.B.y" },
        ],
      }),
    ).toBe("lj1.2.B.y");
    expect(flowTokenOf({ interactive: { type: "button", flowToken: "no" } })).toBeNull();
    expect(flowTokenOf({ templateButtons: [{ subType: "quick_reply", parameter: "oui" }] })).toBeNull();
    expect(flowTokenOf({ message: "Bonjour" })).toBeNull();
    expect(flowTokenOf(null)).toBeNull();
  });
});
