import { describe, expect, it } from "vitest";
import { storedTemplate } from "@linkojob/testing/fixtures";
import type { TemplateDoc } from "@linkojob/db";
import type { OutboundRequest } from "./send-request.js";
import {
  flowOfToken,
  interactivePreview,
  interactiveSchema,
  metaInteractive,
  reactionSchema,
  type ChatRequest,
} from "./interactive.js";
import { planPreview, planSend, sendRecordOf, type PlanClient, type TemplateLookup } from "./send-plan.js";

const template = storedTemplate<TemplateDoc>();
const templates: TemplateLookup = (name, language) =>
  Promise.resolve(name === template.name && language === template.language ? template : null);
const none: TemplateLookup = () => Promise.resolve(null);
const client: PlanClient = { companyName: "Acme" };
const open = { windowExpiresAt: new Date(Date.now() + 3_600_000), candidateName: "Yasmine", jobTitle: "Comptable" };
const closed = { windowExpiresAt: new Date(Date.now() - 1_000), candidateName: "Yasmine", jobTitle: "Comptable" };
const buttons = interactiveSchema.parse({
  type: "button",
  body: "Disponible jeudi ?",
  buttons: [{ id: "y", title: "Oui, disponible" }, { title: "Non" }],
});
const req = (over: Partial<ChatRequest>): OutboundRequest => ({ candidatePhone: "212612345678", ...over });

describe("interactive messages: Meta's limits", () => {
  const ok = (v: unknown) => interactiveSchema.safeParse(v).success;
  it("accepts up to 3 buttons of at most 20 characters, unique", () => {
    expect(ok({ type: "button", body: "x", buttons: [{ title: "a" }, { title: "b" }, { title: "c" }] })).toBe(true);
    expect(
      ok({ type: "button", body: "x", buttons: [{ title: "a" }, { title: "b" }, { title: "c" }, { title: "d" }] }),
    ).toBe(false);
    expect(ok({ type: "button", body: "x", buttons: [{ title: "x".repeat(20) }] })).toBe(true);
    expect(ok({ type: "button", body: "x", buttons: [{ title: "x".repeat(21) }] })).toBe(false);
    expect(ok({ type: "button", body: "x", buttons: [{ title: "a" }, { title: "a" }] })).toBe(false);
    expect(
      ok({
        type: "button",
        body: "x",
        buttons: [
          { id: "k", title: "a" },
          { id: "k", title: "b" },
        ],
      }),
    ).toBe(false);
    expect(ok({ type: "button", body: "x".repeat(1025), buttons: [{ title: "a" }] })).toBe(false);
    expect(ok({ type: "button", body: "x", footer: "y".repeat(61), buttons: [{ title: "a" }] })).toBe(false);
  });

  it("accepts lists of at most 10 rows in all, titled sections when several, row limits", () => {
    const rows = (n: number, p = "r") => Array.from({ length: n }, (_, i) => ({ title: `${p}${i}` }));
    expect(ok({ type: "list", body: "x", button: "Voir", sections: [{ rows: rows(10) }] })).toBe(true);
    expect(
      ok({
        type: "list",
        body: "x",
        button: "Voir",
        sections: [
          { title: "A", rows: rows(6) },
          { title: "B", rows: rows(5, "s") },
        ],
      }),
    ).toBe(false);
    expect(
      ok({
        type: "list",
        body: "x",
        button: "Voir",
        sections: [{ rows: rows(1) }, { title: "B", rows: rows(1, "s") }],
      }),
    ).toBe(false);
    expect(ok({ type: "list", body: "x", button: "Voir", sections: [{ rows: [{ title: "x".repeat(25) }] }] })).toBe(
      false,
    );
    expect(
      ok({
        type: "list",
        body: "x",
        button: "Voir",
        sections: [{ rows: [{ title: "a", description: "d".repeat(73) }] }],
      }),
    ).toBe(false);
    expect(ok({ type: "list", body: "x", button: "x".repeat(21), sections: [{ rows: rows(1) }] })).toBe(false);
    expect(
      ok({
        type: "list",
        body: "x",
        button: "Voir",
        sections: [
          {
            rows: [
              { id: "same", title: "a" },
              { id: "same", title: "b" },
            ],
          },
        ],
      }),
    ).toBe(false);
  });

  it("a reaction is one emoji or empty (removal)", () => {
    expect(reactionSchema.safeParse({ messageId: "wamid.1", emoji: "👍" }).success).toBe(true);
    expect(reactionSchema.safeParse({ messageId: "wamid.1", emoji: "❤️" }).success).toBe(true);
    expect(reactionSchema.safeParse({ messageId: "wamid.1", emoji: "" }).success).toBe(true);
    expect(reactionSchema.safeParse({ messageId: "wamid.1", emoji: "👍👍" }).success).toBe(false);
  });

  it("spells buttons as Meta does, with stable ids for buttons without one", () => {
    expect(metaInteractive(buttons)).toEqual({
      type: "button",
      body: { text: "Disponible jeudi ?" },
      action: {
        buttons: [
          { type: "reply", reply: { id: "y", title: "Oui, disponible" } },
          { type: "reply", reply: { id: "btn_2", title: "Non" } },
        ],
      },
    });
  });
});

describe("planSend with chat features", () => {
  it("interactive inside the window: a service message (billed since 2026-10-01), previewed with its choices", async () => {
    const plan = await planSend({ request: req({ interactive: buttons }), client, conversation: open, templates });
    expect(plan).toMatchObject({
      kind: "interactive",
      cost: 0.4,
      costCategory: "service",
      interactive: { type: "button" },
    });
    expect(sendRecordOf(plan)).toMatchObject({
      kind: "interactive",
      text: "Disponible jeudi ? [Oui, disponible / Non]",
    });
    expect(planPreview(plan, req({ interactive: buttons }))).toBe("Disponible jeudi ? [Oui, disponible / Non]");
  });

  it("interactive outside the window: the template as for text, or refused without one", async () => {
    expect(
      await planSend({ request: req({ interactive: buttons }), client, conversation: closed, templates }),
    ).toMatchObject({ kind: "template" });
    expect(
      await planSend({ request: req({ interactive: buttons }), client, conversation: closed, templates: none }),
    ).toMatchObject({
      kind: "refused",
      code: "WINDOW_CLOSED_NO_TEMPLATE",
    });
  });

  it("a reaction inside the window goes; outside it is refused (never a template)", async () => {
    const reaction = { wamid: "wamid.A", messageId: null, emoji: "👍" };
    expect(await planSend({ request: req({ reaction }), client, conversation: open, templates })).toMatchObject({
      kind: "reaction",
      reaction: { wamid: "wamid.A", emoji: "👍" },
      cost: 0.4,
    });
    expect(await planSend({ request: req({ reaction }), client, conversation: closed, templates })).toMatchObject({
      kind: "refused",
      code: "WINDOW_CLOSED",
    });
    expect(await planSend({ request: req({ reaction }), client, conversation: null, templates })).toMatchObject({
      kind: "refused",
      code: "WINDOW_CLOSED",
    });
  });
});

describe("WhatsApp Flows: an application form sent as an interactive flow", () => {
  const navigate = {
    type: "flow",
    body: "Complétez votre candidature en 1 minute",
    cta: "Remplir le formulaire",
    flowId: "1234567890123456",
    screen: "DISPONIBILITES",
    data: { poste: "Cariste", villes: ["Casablanca", "Rabat"] },
  };

  it("navigate: Meta's flow action with the first screen and its data, and a token of ours naming both", () => {
    const parsed = interactiveSchema.parse(navigate);
    expect(parsed).toMatchObject({
      action: "navigate",
      flowToken: expect.stringMatching(/^lj1\.1234567890123456\.DISPONIBILITES\./),
    });
    const token = (parsed as { flowToken: string }).flowToken;
    expect(flowOfToken(token)).toEqual({ flowId: "1234567890123456", screen: "DISPONIBILITES" });
    expect(metaInteractive(parsed)).toEqual({
      type: "flow",
      body: { text: "Complétez votre candidature en 1 minute" },
      action: {
        name: "flow",
        parameters: {
          flow_message_version: "3",
          flow_token: token,
          flow_id: "1234567890123456",
          flow_cta: "Remplir le formulaire",
          flow_action: "navigate",
          flow_action_payload: {
            screen: "DISPONIBILITES",
            data: { poste: "Cariste", villes: ["Casablanca", "Rabat"] },
          },
        },
      },
    });
    expect(interactivePreview(parsed)).toBe("Complétez votre candidature en 1 minute [Remplir le formulaire]");
  });

  it("data_exchange by flow name, with the caller's own token kept as given", () => {
    const parsed = interactiveSchema.parse({
      type: "flow",
      body: "Choisissez un créneau d'entretien",
      cta: "Voir les créneaux",
      flowName: "creneaux_entretien",
      action: "data_exchange",
      flowToken: "application-42",
      mode: "draft",
    });
    expect(metaInteractive(parsed).action).toEqual({
      name: "flow",
      parameters: {
        flow_message_version: "3",
        flow_token: "application-42",
        flow_name: "creneaux_entretien",
        flow_cta: "Voir les créneaux",
        flow_action: "data_exchange",
        mode: "draft",
      },
    });
    expect(flowOfToken("application-42")).toBeUndefined();
  });

  it.each([
    ["no flow named", { ...navigate, flowId: undefined }, "flowId"],
    ["both id and name", { ...navigate, flowName: "x" }, "flowId"],
    ["navigate without a screen", { ...navigate, screen: undefined }, "screen"],
    ["a screen id Flow JSON would refuse", { ...navigate, screen: "disponibilités" }, "screen"],
    ["a CTA over 30 characters", { ...navigate, cta: "x".repeat(31) }, "cta"],
    ["data_exchange with a screen", { ...navigate, action: "data_exchange" }, "action"],
  ])("refuses %s, naming the field", (_label, body, path) => {
    const r = interactiveSchema.safeParse(body);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join("."))).toContain(path);
  });
});
