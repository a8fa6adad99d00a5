import { describe, expect, it } from "vitest";
import { FIRST_CONTACT_TEMPLATE, storedTemplate } from "@linkojob/testing/fixtures";
import type { TemplateDoc } from "@linkojob/db";
import type { OutboundRequest } from "./send-request.js";
import { planSend, previewSend, sendRecordOf, type PlanClient, type TemplateLookup } from "./send-plan.js";
import { parseRateCard } from "./rate-card.js";

const template = (over: Partial<TemplateDoc> = {}) => storedTemplate<TemplateDoc>(over);
const lookup =
  (...docs: TemplateDoc[]): TemplateLookup =>
  (name, language) =>
    Promise.resolve(docs.find((d) => d.name === name && d.language === language) ?? null);
const client: PlanClient = { companyName: "Acme" };
const open = { windowExpiresAt: new Date(Date.now() + 3_600_000), candidateName: "Yasmine", jobTitle: "Comptable" };
const closed = { windowExpiresAt: new Date(Date.now() - 1_000), candidateName: "Yasmine", jobTitle: "Comptable" };
const req = (over: Partial<OutboundRequest> = {}): OutboundRequest => ({ candidatePhone: "212612345678", ...over });

describe("planSend: the one send decision", () => {
  it("text inside the window (a service message at the market's utility rate), the template at first contact (its category's price)", async () => {
    const t = lookup(template());
    expect(
      await planSend({ request: req({ message: "Bonjour" }), client, conversation: open, templates: t }),
    ).toMatchObject({ kind: "text", text: "Bonjour", cost: 0.4, costCategory: "service" });
    const first = await planSend({
      request: req({ message: "Bonjour", candidateName: "Karim", jobTitle: "Chauffeur" }),
      client,
      conversation: null,
      templates: t,
    });
    expect(first).toMatchObject({
      kind: "template",
      cost: 0.4,
      costCategory: "utility",
      template: { name: "application_received", vars: ["Karim", "Chauffeur"] },
    });
  });

  it("prices by the rule of the send's day: in-window service and utility free until 2026-09-30, billed from 2026-10-01", async () => {
    const t = lookup(template());
    const at = (iso: string) => {
      const now = Date.parse(iso);
      return { now, conversation: { ...open, windowExpiresAt: new Date(now + 3_600_000) } };
    };
    const sept = at("2026-09-30T12:00:00Z");
    const oct = at("2026-10-01T12:00:00Z");
    const text = (when: typeof sept, phone = "212612345678") =>
      planSend({ request: req({ message: "Bonjour", candidatePhone: phone }), client, templates: t, ...when });
    expect(await text(sept)).toMatchObject({ kind: "text", cost: 0, costCategory: "service" });
    expect(await text(oct)).toMatchObject({ kind: "text", cost: 0.4, costCategory: "service" });
    // Another market's utility rate (France's placeholder row).
    expect(await text(oct, "33612345678")).toMatchObject({ kind: "text", cost: 0.3 });
    // A utility template inside the window (no message: the template is what goes).
    const utility = (when: typeof sept) => planSend({ request: req(), client, templates: t, ...when });
    expect(await utility(sept)).toMatchObject({ kind: "template", cost: 0, costCategory: "utility" });
    expect(await utility(oct)).toMatchObject({ kind: "template", cost: 0.4, costCategory: "utility" });
  });

  it("fills the default template from the conversation when the request does not name the candidate", async () => {
    const plan = await planSend({ request: req(), client, conversation: closed, templates: lookup(template()) });
    expect(plan).toMatchObject({ kind: "template", template: { vars: ["Yasmine", "Comptable"] } });
  });

  it("prices with the table it is given (OUTBOUND_PRICE_TABLE)", async () => {
    const plan = await planSend({
      request: req(),
      client,
      conversation: closed,
      templates: lookup(template()),
      prices: parseRateCard({ utility: 0.55 }),
    });
    expect(plan).toMatchObject({ kind: "template", cost: 0.55 });
  });

  it("refuses a text outside the window without a usable template, with the template's estimate", async () => {
    const plan = await planSend({
      request: req({ message: "Bonjour" }),
      client,
      conversation: closed,
      templates: lookup(template({ status: "PAUSED" })),
    });
    expect(plan).toMatchObject({
      kind: "refused",
      code: "WINDOW_CLOSED_NO_TEMPLATE",
      estimate: { kind: "template", cost: 0.4 },
    });
    expect(sendRecordOf(plan)).toBeNull();
  });

  it("media inside the window is captioned by the message; outside, the template goes alone", async () => {
    const media = { type: "image" as const, url: "https://example.com/a.png" };
    expect(
      await planSend({
        request: req({ media, message: "Plan" }),
        client,
        conversation: open,
        templates: lookup(template()),
      }),
    ).toMatchObject({ kind: "media", caption: "Plan", cost: 0.4, costCategory: "service" });
    expect(
      await planSend({
        request: req({ media, message: "Plan" }),
        client,
        conversation: closed,
        templates: lookup(template()),
      }),
    ).toMatchObject({ kind: "template" });
  });

  it("the preview says what planSend says", async () => {
    const p = await previewSend({
      client,
      conversation: null,
      templates: lookup(template()),
      candidatePhone: "212612345678",
      candidateName: "Sara",
      jobTitle: "Vendeuse",
    });
    expect(p).toMatchObject({
      inWindow: false,
      kind: "template",
      text: { cost: 0.4, category: "service" },
      template: {
        name: "application_received",
        cost: 0.4,
        usable: true,
        parameterCount: 2,
        body: FIRST_CONTACT_TEMPLATE.body,
      },
    });
    const refused = await previewSend({
      client,
      conversation: null,
      templates: lookup(),
      candidatePhone: "212612345678",
    });
    expect(refused.template).toMatchObject({ usable: false, problem: "template not synced for language fr" });
  });
});
