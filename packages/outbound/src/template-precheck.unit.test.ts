import { describe, expect, it } from "vitest";
import { storedTemplate } from "@linkojob/testing/fixtures";
import type { TemplateDoc } from "@linkojob/db";
import type { OutboundRequest } from "./send-request.js";
import { planSend, type PlanClient, type TemplateLookup } from "./send-plan.js";
import { templatePrecheck, templateRefusal } from "./template-precheck.js";

const template = (over: Partial<TemplateDoc> = {}) => storedTemplate<TemplateDoc>(over);
const lookup =
  (...docs: TemplateDoc[]): TemplateLookup =>
  (name, language) =>
    Promise.resolve(docs.find((d) => d.name === name && d.language === language) ?? null);
const client: PlanClient = { companyName: "Acme" };
const req = (over: Partial<OutboundRequest> = {}): OutboundRequest => ({ candidatePhone: "212612345678", ...over });
// What the send API knows of the conversation: its window from Redis, not its names.
const acceptance = (request: OutboundRequest, templates: TemplateLookup) => ({
  request,
  client,
  conversation: { windowExpiresAt: null },
  templates,
  estimate: true,
});

describe("templateRefusal: the send API's template check is the worker's plan on the variables given", () => {
  it("refuses a default send to a template the defaults cannot fill (was accepted with stand-in variables)", async () => {
    // Four body variables: the defaults are at most [candidateName, jobTitle, companyName].
    const four = lookup(
      template({ components: [{ type: "BODY", text: "{{1}} {{2}} {{3}} {{4}}" }], bodyParams: ["1", "2", "3", "4"] }),
    );
    const r = req({ candidateName: "Karim", jobTitle: "Chauffeur" });
    expect(await templateRefusal(acceptance(r, four))).toMatchObject({ code: "TEMPLATE_PARAM_COUNT" });
    // The worker, planning with the conversation, refuses it the same way.
    const worker = await planSend({ request: r, client, conversation: null, templates: four });
    expect(worker).toMatchObject({ kind: "refused", code: "TEMPLATE_PARAM_COUNT" });
  });

  it("checks given variables as given: an empty one is refused, a name only the conversation knows is left to the worker", async () => {
    const t = lookup(template());
    expect(await templateRefusal(acceptance(req({ templateVars: ["Karim", " "] }), t))).toMatchObject({
      code: "TEMPLATE_PARAM_EMPTY",
    });
    // No candidateName in the request: the worker takes the conversation's; not refused at acceptance.
    expect(await templateRefusal(acceptance(req({ jobTitle: "Chauffeur" }), t))).toBeNull();
    const estimate = await planSend(acceptance(req({ jobTitle: "Chauffeur" }), t));
    expect(estimate).toMatchObject({ kind: "template", costCategory: "utility" });
    // The worker knows the conversation has no name either: refused then, with the reason.
    const decided = await planSend({
      request: req({ jobTitle: "Chauffeur" }),
      client,
      conversation: null,
      templates: t,
    });
    expect(decided).toMatchObject({ kind: "refused", code: "TEMPLATE_PARAM_EMPTY" });
  });

  it("an authentication template needs a phone number, in the API's check and the worker's plan alike", async () => {
    const auth = lookup(template({ category: "AUTHENTICATION" }));
    const byUserId: OutboundRequest = { candidatePhone: null, candidateUserId: "MA.1234", templateVars: ["a", "b"] };
    expect(await templateRefusal(acceptance(byUserId, auth))).toMatchObject({ code: "TEMPLATE_NEEDS_PHONE" });
    expect(await planSend({ request: byUserId, client, conversation: null, templates: auth })).toMatchObject({
      kind: "refused",
      code: "TEMPLATE_NEEDS_PHONE",
    });
  });

  it("a template not synced yet is accepted (decided at send time)", async () => {
    expect(await templateRefusal(acceptance(req({ templateName: "later" }), lookup()))).toBeNull();
  });
});

describe("templatePrecheck: the template planned once per send", () => {
  it("hands planSend the decision it took, which planSend returns without reading the template again", async () => {
    let reads = 0;
    const synced = lookup(template());
    const counted: TemplateLookup = (name, language) => {
      reads++;
      return synced(name, language);
    };
    const input = acceptance(req({ candidateName: "Karim", jobTitle: "Chauffeur" }), counted);
    const { problem, template: known } = await templatePrecheck(input);
    expect(problem).toBeNull();
    expect(known).toMatchObject({ inWindow: false, decision: { plan: { kind: "template" } } });
    expect(reads).toBe(1);
    const plan = await planSend({ ...input, template: known });
    expect(plan).toBe(known!.decision.plan);
    expect(reads).toBe(1);
    // The same plan as planning anew.
    expect(await planSend(input)).toEqual(plan);
    expect(reads).toBe(2);
  });

  it("is not reused for another window: the window opened since, the plan is the text", async () => {
    const t = lookup(template());
    const input = acceptance(req({ message: "Bonjour", templateName: "application_received" }), t);
    const { template: known } = await templatePrecheck(input);
    expect(known?.inWindow).toBe(false);
    const open = { windowExpiresAt: new Date(Date.now() + 3_600_000) };
    expect(await planSend({ ...input, conversation: open, template: known })).toMatchObject({ kind: "text" });
  });

  it("takes no decision for a request it does not check (a text without template fields)", async () => {
    const { problem, template: known } = await templatePrecheck(acceptance(req({ message: "Bonjour" }), lookup()));
    expect(problem).toBeNull();
    expect(known).toBeNull();
  });
});
