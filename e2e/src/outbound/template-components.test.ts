/**
 * Templates as recruiters make them — an IMAGE / DOCUMENT header, URL and quick-reply
 * buttons, named variables — checked locally against the synced components (400 naming the missing
 * part, nothing stored), built as Meta's components by the worker and accepted by the simulator
 * with its template checks on (132000 / 132012 never reached); the template webhooks
 * (`template_category_update`, `message_template_quality_update`, a pause) update the stored
 * template, its price and what the API accepts. Real ingress, Redis, FerretDB, workers, simulator.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { eventually, startTestCdn, type TestCdn } from "@linkojob/testing";
import { SHIPPED_RATE_CARD, rateFor } from "@linkojob/outbound";
import { fieldDelivery, templateStatusDelivery, type SimTemplate } from "@linkojob/meta-simulator";
import { APPLICATION_RECEIVED, startOutbound, type OutboundRig } from "../harness/outbound.harness.js";

let rig: OutboundRig;
let cdn: TestCdn;
const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(30_000)]);
const contractPdf = Buffer.concat([Buffer.from("%PDF-1.4\n"), randomBytes(20_000), Buffer.from("\n%%EOF\n")]);
let seq = 0;
const newPhone = () => `2126${String(Date.now() % 1e6).padStart(6, "0")}${String(++seq).padStart(2, "0")}`.slice(0, 12);

const INVITE: SimTemplate = {
  id: "9001",
  name: "interview_invite",
  language: "fr",
  status: "APPROVED",
  category: "UTILITY",
  parameter_format: "NAMED",
  components: [
    { type: "HEADER", format: "IMAGE", example: { header_handle: ["https://example.com/h.jpg"] } },
    { type: "BODY", text: "Bonjour {{candidate_name}}, entretien pour {{job_title}} le {{date}}." },
    {
      type: "BUTTONS",
      buttons: [
        { type: "URL", text: "Voir l'offre", url: "https://jobs.linkojob.ma/offres/{{1}}" },
        { type: "QUICK_REPLY", text: "Oui, disponible" },
        { type: "QUICK_REPLY", text: "Non" },
      ],
    },
  ],
};

const CONTRACT: SimTemplate = {
  id: "9002",
  name: "contract_ready",
  language: "fr",
  status: "APPROVED",
  category: "UTILITY",
  components: [
    { type: "HEADER", format: "DOCUMENT" },
    { type: "BODY", text: "{{1}}, votre contrat est prêt." },
  ],
};

beforeAll(async () => {
  cdn = await startTestCdn({
    "/offres/comptable.jpg": { body: jpeg, type: "image/jpeg" },
    "/contrats/contrat-yasmine.pdf": { body: contractPdf, type: "application/pdf" },
  });
  // The CDN is on localhost with a self-signed certificate: allowed and trusted for this run only.
  rig = await startOutbound("i9tpl", { mediaFetch: { allowPrivateHosts: ["localhost"], ca: cdn.ca } });
  rig.sim.enforcement.templateParams = true;
}, 120_000);

afterAll(async () => {
  await rig?.close();
  await cdn?.close();
});

const inviteBody = (phone: string) => ({
  candidatePhone: phone,
  templateName: "interview_invite",
  templateLanguage: "fr",
  templateVars: { candidate_name: "Yasmine", job_title: "Comptable", date: "lundi 10h" },
  templateHeader: { type: "image", link: `${cdn.url}/offres/comptable.jpg` },
  templateButtons: [
    { index: 0, subType: "url", parameter: "comptable-casa-123" },
    { index: 1, subType: "quick_reply", parameter: "DISPO_OUI" },
  ],
});

describe("rich templates", () => {
  it("sends an image header (by link: fetched once, uploaded, sent by id), named variables, a URL and a quick-reply button as Meta's components", async () => {
    const c = await rig.client({ templates: [INVITE, CONTRACT] });
    const phone = newPhone();
    const res = await rig.send(c.jwt, inviteBody(phone));
    expect(res).toMatchObject({ status: 202, body: { kind: "template" } });
    await rig.until(c, res.body.messageId, ["sent", "delivered", "read"]);
    const [call] = rig.acceptedFor(res.body.messageId);
    expect(call!.body.template).toEqual({
      name: "interview_invite",
      language: { code: "fr", policy: "deterministic" },
      components: [
        {
          type: "body",
          parameters: [
            { type: "text", text: "Yasmine", parameter_name: "candidate_name" },
            { type: "text", text: "Comptable", parameter_name: "job_title" },
            { type: "text", text: "lundi 10h", parameter_name: "date" },
          ],
        },
        { type: "header", parameters: [{ type: "image", image: { id: expect.stringMatching(/^\d+$/) } }] },
        { type: "button", sub_type: "url", index: "0", parameters: [{ type: "text", text: "comptable-casa-123" }] },
        {
          type: "button",
          sub_type: "quick_reply",
          index: "1",
          parameters: [{ type: "payload", payload: "DISPO_OUI" }],
        },
      ],
    });

    const doc = await rig.send(c.jwt, {
      candidatePhone: phone,
      templateName: "contract_ready",
      templateVars: ["Yasmine"],
      templateHeader: { type: "document", id: "1234567890", filename: "Contrat.pdf" },
    });
    expect(doc.status).toBe(202);
    await rig.until(c, doc.body.messageId, ["sent", "delivered", "read"]);
    expect(rig.acceptedFor(doc.body.messageId)[0]!.body.template).toMatchObject({
      components: expect.arrayContaining([
        { type: "header", parameters: [{ type: "document", document: { id: "1234567890", filename: "Contrat.pdf" } }] },
      ]),
    });
    expect(rig.sim.rejected.filter((r) => r.cause === "template")).toHaveLength(0);
  });

  it("a header by link is never passed to Meta as a link: one fetch and one upload per number and URL, reused by later sends; a refused URL fails the message", async () => {
    const c = await rig.client({ templates: [INVITE, CONTRACT] });
    const uploads = () => rig.trunk.sim.state.requestsTo(new RegExp(`/${c.phoneNumberId}/media$`), "POST");
    const hitsBefore = cdn.hits.get("/contrats/contrat-yasmine.pdf") ?? 0;
    const link = `${cdn.url}/contrats/contrat-yasmine.pdf`;
    const ids: string[] = [];
    for (const phone of [newPhone(), newPhone(), newPhone()]) {
      const res = await rig.send(c.jwt, {
        candidatePhone: phone,
        templateName: "contract_ready",
        templateVars: ["Yasmine"],
        templateHeader: { type: "document", link, filename: "Contrat.pdf" },
      });
      expect(res.status).toBe(202);
      await rig.until(c, res.body.messageId, ["sent", "delivered", "read"]);
      const header = (
        rig.acceptedFor(res.body.messageId)[0]!.body.template as { components: unknown[] }
      ).components.find((x) => (x as { type: string }).type === "header") as {
        parameters: Array<{ document: { id?: string; link?: string; filename?: string } }>;
      };
      expect(header.parameters[0]!.document).toEqual({ id: expect.stringMatching(/^\d+$/), filename: "Contrat.pdf" });
      ids.push(header.parameters[0]!.document.id!);
    }
    expect(new Set(ids).size).toBe(1);
    expect((cdn.hits.get("/contrats/contrat-yasmine.pdf") ?? 0) - hitsBefore).toBe(1);
    expect(uploads()).toHaveLength(1);
    const stored = (await (await fetch(`${rig.trunk.sim.url}/_sim/media/${ids[0]}`)).json()) as Record<string, unknown>;
    expect(stored).toMatchObject({
      mimeType: "application/pdf",
      size: contractPdf.length,
      phoneNumberId: c.phoneNumberId,
    });
    expect(rig.sim.accepted.some((m) => JSON.stringify(m.body).includes(cdn.url))).toBe(false);

    // A link the CDN does not serve: the message fails with the media code, nothing reaches Meta.
    const missing = await rig.send(c.jwt, {
      candidatePhone: newPhone(),
      templateName: "contract_ready",
      templateVars: ["Yasmine"],
      templateHeader: { type: "document", link: `${cdn.url}/contrats/absent.pdf` },
    });
    expect(missing.status).toBe(202);
    const failed = await rig.until(c, missing.body.messageId, ["failed"]);
    expect(failed.reasonCode).toBe("MEDIA_URL_FAILED");
    expect(rig.acceptedFor(missing.body.messageId)).toHaveLength(0);
  });

  it("refuses a mismatch with a 400 naming the missing part, before anything is stored", async () => {
    const c = await rig.client({ templates: [INVITE, CONTRACT] });
    const phone = newPhone();
    const { templateHeader: _h, ...noHeader } = inviteBody(phone);
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [noHeader, "TEMPLATE_HEADER_MISSING", /IMAGE header: templateHeader/],
      [
        { ...inviteBody(phone), templateHeader: { type: "video", link: "https://cdn.linkojob.ma/v.mp4" } },
        "TEMPLATE_HEADER_FORMAT",
        /IMAGE header, templateHeader is video/,
      ],
      [
        { ...inviteBody(phone), templateButtons: [] },
        "TEMPLATE_BUTTON_MISSING",
        /button 0 \(url\) needs the value of its URL variable/,
      ],
      [
        { ...inviteBody(phone), templateButtons: [{ index: 0, subType: "quick_reply", parameter: "x" }] },
        "TEMPLATE_BUTTON_MISMATCH",
        /button 0 is url/,
      ],
      [
        { ...inviteBody(phone), templateVars: { candidate_name: "Yasmine", job_title: "Comptable" } },
        "TEMPLATE_PARAM_NAMES",
        /missing date/,
      ],
      [
        { ...inviteBody(phone), templateVars: ["Yasmine", "Comptable"] },
        "TEMPLATE_PARAM_COUNT",
        /expects 3 variable\(s\) \(header 0, body 3\), got 2/,
      ],
      [
        { candidatePhone: phone, templateName: "contract_ready", templateVars: ["Yasmine"] },
        "TEMPLATE_HEADER_MISSING",
        /DOCUMENT header/,
      ],
    ];
    for (const [body, code, message] of cases) {
      const res = await rig.send(c.jwt, body);
      expect(res.status, code).toBe(400);
      expect(res.body.error?.code).toBe(code);
      expect(res.body.error?.message).toMatch(message);
    }
    const schema = await rig.send(c.jwt, {
      ...inviteBody(phone),
      templateHeader: { type: "image", link: "http://insecure.example.com/a.jpg" },
    });
    expect(schema.status).toBe(400);
    expect(JSON.stringify(schema.body)).toMatch(/https/);
    expect(await rig.trunk.db.messages.countDocuments({ clientId: c._id })).toBe(0);
    expect(await rig.trunk.db.conversations.countDocuments({ clientId: c._id })).toBe(0);
    expect(rig.sim.accepted.filter((m) => m.phoneNumberId === c.phoneNumberId)).toHaveLength(0);
  });

  it("a template changed after acceptance fails at send time with a clear code (never Meta's 132000)", async () => {
    const c = await rig.client({ templates: [INVITE] });
    // Stop the worker's sends for a moment: the message waits, the template changes, then it goes.
    await rig.outbound.bullWorker!.pause();
    const res = await rig.send(c.jwt, inviteBody(newPhone()));
    expect(res.status).toBe(202);
    const changed = {
      ...INVITE,
      components: [
        INVITE.components[0]!,
        { type: "BODY", text: "Bonjour {{candidate_name}}, nouveau créneau le {{date}} à {{time}}." },
        INVITE.components[2]!,
      ],
    };
    rig.sim.templates.set(c.wabaId, [changed]);
    await rig.outbound.syncTemplates(c._id.toHexString());
    await eventually(async () =>
      (await rig.trunk.db.forTenant(c._id).templates.find("interview_invite", "fr"))?.bodyParams.includes("time")
        ? true
        : null,
    );
    rig.outbound.bullWorker!.resume();
    const m = await rig.until(c, res.body.messageId, ["failed"]);
    expect(m.reasonCode).toBe("TEMPLATE_PARAM_NAMES");
    expect(m.reason).toMatch(/missing time; not in the template: job_title/);
    expect(rig.acceptedFor(res.body.messageId)).toHaveLength(0);
  });
});

describe("template webhooks", () => {
  it("template_category_update changes the stored category and the price of the next send", async () => {
    const c = await rig.client();
    const first = await rig.send(c.jwt, { candidatePhone: newPhone(), candidateName: "Amal", jobTitle: "Comptable" });
    expect(first.body.cost).toBe(rateFor(SHIPPED_RATE_CARD, "utility", "MA"));
    const res = await rig.trunk.sim.deliver(
      fieldDelivery(c.wabaId, "template_category_update", {
        message_template_id: 4242,
        message_template_name: "application_received",
        message_template_language: "fr",
        previous_category: "UTILITY",
        new_category: "MARKETING",
      }),
    );
    expect(res.status).toBe(200);
    await rig.trunk.drain();
    const t = await eventually(async () => {
      const doc = await rig.trunk.db.forTenant(c._id).templates.find("application_received", "fr");
      return doc?.category === "MARKETING" ? doc : null;
    });
    expect(t.previousCategory).toBe("UTILITY");
    const marketing = rateFor(SHIPPED_RATE_CARD, "marketing", "MA")!;
    expect(marketing).not.toBe(first.body.cost);
    await eventually(async () => {
      const next = await rig.send(c.jwt, { candidatePhone: newPhone(), candidateName: "Amal", jobTitle: "Comptable" });
      return next.body.cost === marketing ? next : null;
    });
  });

  it("message_template_quality_update records the score; a pause then a disable are refused locally (409 naming it)", async () => {
    const c = await rig.client({ templates: [APPLICATION_RECEIVED()] });
    await rig.trunk.sim.deliver(
      fieldDelivery(c.wabaId, "message_template_quality_update", {
        previous_quality_score: "GREEN",
        new_quality_score: "RED",
        message_template_id: 4243,
        message_template_name: "application_received",
        message_template_language: "fr",
      }),
    );
    await rig.trunk.drain();
    await eventually(async () =>
      (await rig.trunk.db.forTenant(c._id).templates.find("application_received", "fr"))?.qualityScore === "RED"
        ? true
        : null,
    );
    await rig.trunk.sim.deliver(
      templateStatusDelivery(c.wabaId, {
        event: "DISABLED",
        templateId: 4243,
        name: "application_received",
        language: "fr",
        reason: "LOW_QUALITY",
      }),
    );
    await rig.trunk.drain();
    const refused = await eventually(async () => {
      const r = await rig.send(c.jwt, { candidatePhone: newPhone(), candidateName: "Amal", jobTitle: "Comptable" });
      return r.status === 409 ? r : null;
    });
    expect(refused.body.error).toMatchObject({ code: "TEMPLATE_NOT_APPROVED" });
    expect(refused.body.error?.message).toMatch(/application_received \(fr\) is disabled by Meta/);
    expect(await rig.trunk.db.messages.countDocuments({ clientId: c._id })).toBe(0);
  });
});
