import { describe, expect, it } from "vitest";
import type { TemplateDoc } from "@linkojob/db";
import { storedTemplate } from "@linkojob/testing/fixtures";
import {
  templateButtonSchema,
  templateComponents,
  templateRequestProblem,
  templateShape,
} from "./template-components.js";

/** A template with a FLOW button: the first contact that opens the application form. */
const withForm = storedTemplate<TemplateDoc>({
  name: "candidature_formulaire",
  components: [
    { type: "BODY", text: "Bonjour {{1}}, complétez votre candidature pour {{2}}." },
    { type: "BUTTONS", buttons: [{ type: "FLOW", text: "Remplir le formulaire", flow_id: "778899001122" }] },
  ],
});

describe("a template with a FLOW button", () => {
  it("takes the flow token and the first screen's data as the button's action parameter", () => {
    const buttons = [
      templateButtonSchema.parse({
        index: 0,
        subType: "flow",
        parameter: "lj1.778899001122.DISPONIBILITES.n0nce",
        flowActionData: { poste: "Cariste" },
      }),
    ];
    expect(templateRequestProblem(withForm, "fr", ["Yasmine", "Cariste"], { buttons })).toBeNull();
    expect(templateComponents(withForm, ["Yasmine", "Cariste"], { buttons }).components).toEqual([
      {
        type: "button",
        sub_type: "flow",
        index: "0",
        parameters: [
          {
            type: "action",
            action: { flow_token: "lj1.778899001122.DISPONIBILITES.n0nce", flow_action_data: { poste: "Cariste" } },
          },
        ],
      },
    ]);
  });

  it("the button's parameter is optional (Meta then sends its default token), and flowActionData is for flow buttons only", () => {
    expect(templateRequestProblem(withForm, "fr", ["Yasmine", "Cariste"], {})).toBeNull();
    expect(
      templateButtonSchema.safeParse({ index: 0, subType: "url", parameter: "x", flowActionData: {} }).success,
    ).toBe(false);
    expect(
      templateRequestProblem(withForm, "fr", ["Yasmine", "Cariste"], {
        buttons: [templateButtonSchema.parse({ index: 0, subType: "quick_reply", parameter: "x" })],
      }),
    ).toMatchObject({ code: "TEMPLATE_BUTTON_MISMATCH" });
  });
});

describe("templateShape", () => {
  it("is worked out once per template document, and anew for another document (a changed template)", () => {
    const doc = storedTemplate<TemplateDoc>({});
    const shape = templateShape(doc);
    expect(templateShape(doc)).toBe(shape);
    expect(shape).toMatchObject({ headerFormat: null, bodyParams: doc.bodyParams, named: false, buttons: [] });
    const changed = { ...withForm, bodyParams: ["candidate_name", "poste"] };
    expect(templateShape(changed)).not.toBe(templateShape(withForm));
    expect(templateShape(changed)).toMatchObject({ named: true, buttons: [{ index: 0, type: "flow", required: 0 }] });
    expect(templateShape(withForm)).toMatchObject({ named: false });
  });
});
