import { describe, expect, it } from "vitest";
import { optOutRefusal } from "./opt-out-rule.js";
import type { OptOutView } from "./opt-out-state.js";

const at = "2026-12-07T08:00:00.000Z";
const all: OptOutView = { scope: "all", all: { source: "candidate_message", at, owner: "candidate" }, marketing: null };
const marketing: OptOutView = {
  scope: "marketing",
  all: null,
  marketing: { source: "meta_user_preferences", at, owner: "candidate" },
};

describe("which sends an opt-out refuses", () => {
  it("none without an opt-out", () => {
    expect(optOutRefusal(null, { kind: "template", templateCategory: "MARKETING" })).toBeNull();
  });

  it("scope all refuses everything: templates of any category and replies inside the window", () => {
    for (const send of [
      { kind: "template", templateCategory: "UTILITY" },
      { kind: "template", templateCategory: "AUTHENTICATION" },
      { kind: "text" },
      { kind: "media" },
      { kind: "reaction" },
    ])
      expect(optOutRefusal(all, send)).toMatchObject({ code: "CANDIDATE_OPTED_OUT", scope: "all", since: at });
  });

  it("scope marketing refuses marketing templates only: utility, authentication and replies go", () => {
    expect(optOutRefusal(marketing, { kind: "template", templateCategory: "MARKETING" })).toMatchObject({
      code: "CANDIDATE_OPTED_OUT",
      scope: "marketing",
      source: "meta_user_preferences",
    });
    expect(optOutRefusal(marketing, { kind: "template", templateCategory: "marketing" })).not.toBeNull();
    expect(optOutRefusal(marketing, { kind: "template", templateCategory: "UTILITY" })).toBeNull();
    expect(optOutRefusal(marketing, { kind: "template", templateCategory: "AUTHENTICATION" })).toBeNull();
    expect(optOutRefusal(marketing, { kind: "template", templateCategory: null })).toBeNull();
    expect(optOutRefusal(marketing, { kind: "text" })).toBeNull();
    expect(optOutRefusal(marketing, { kind: "interactive" })).toBeNull();
  });

  it("both in force: scope all decides, and its reason names the candidate's own word", () => {
    const both: OptOutView = { ...all, marketing: marketing.marketing };
    expect(optOutRefusal(both, { kind: "text" })?.reason).toMatch(/asked to stop .*START/);
  });
});
