import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, tokenFor } from "@linkojob/testing";
import { templateStatusDelivery, simTemplate } from "@linkojob/meta-simulator";
import { startOutbound, type OutboundRig } from "../harness/outbound.harness.js";

let rig: OutboundRig;
beforeAll(async () => {
  rig = await startOutbound("outdecide");
});
afterAll(async () => {
  await rig?.close();
});

let phoneSeq = 0;
const newPhone = () => `2126${String(10_000_000 + ++phoneSeq * 7919).slice(-8)}`;
const textsTo = (to: string) => rig.sim.accepted.filter((m) => m.to === to && m.type === "text");
const templatesTo = (to: string) => rig.sim.accepted.filter((m) => m.to === to && m.type === "template");

describe("send decisions by the 24-hour window", () => {
  it("first contact sends the default template with [candidateName, jobTitle], then statuses and cost follow", async () => {
    const c = await rig.client();
    const phone = newPhone();
    // A Moroccan local number is normalised to 2126…
    const local = `0${phone.slice(3)}`;
    const res = await rig.send(c.jwt, {
      candidatePhone: local,
      candidateName: "Yasmine",
      jobTitle: "Comptable",
      message: "Bonjour",
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ success: true, status: "queued", kind: "template", cost: 0.4 });

    const m = await rig.until(c, res.body.messageId, ["read"]);
    expect(m.kind).toBe("template");
    expect(m.request.candidatePhone).toBe(phone);
    const sent = rig.acceptedFor(res.body.messageId);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.wamid).toBe(m.wamid);
    expect(sent[0]!.body.template).toMatchObject({
      name: "application_received",
      language: { code: "fr", policy: "deterministic" },
      components: [
        {
          type: "body",
          parameters: [
            { type: "text", text: "Yasmine" },
            { type: "text", text: "Comptable" },
          ],
        },
      ],
    });
    expect(textsTo(phone)).toHaveLength(0);
    // Meta's pricing (utility, billable) confirmed the estimate: written by the status hook, after
    // the status itself (a write of its own), so it may follow the `read` by a moment.
    const priced = await eventually(async () => {
      const now = await rig.message(c, res.body.messageId);
      return now.costSource === "meta" ? now : null;
    });
    expect(priced).toMatchObject({ cost: 0.4, costSource: "meta", costCategory: "utility" });
    const tpl = await rig.trunk.db.forTenant(c._id).templates.find("application_received", "fr");
    expect(tpl?.usageCount).toBe(1);
    // The conversation shows the send.
    const conv = await rig.trunk.db.forTenant(c._id).conversations.get(m.conversationId);
    expect(conv).toMatchObject({ lastMessageFrom: "recruiter", messageCount: 1 });
  });

  it("after the candidate replies, free text goes inside the 24 hours", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Bonjour, je suis intéressée", 60_000);
    const res = await rig.send(c.jwt, { candidatePhone: phone, message: "Merci, quand êtes-vous disponible ?" });
    expect(res.body).toMatchObject({ kind: "text", cost: 0.4 }); // a service message, billed since 2026-10-01
    const m = await rig.until(c, res.body.messageId, ["sent", "delivered", "read"]);
    expect(m.kind).toBe("text");
    expect(textsTo(phone).map((x) => (x.body.text as { body: string }).body)).toEqual([
      "Merci, quand êtes-vous disponible ?",
    ]);
    expect(templatesTo(phone)).toHaveLength(0);
  });

  it("more than 24 hours after the candidate's last message, a template goes again, never the text", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Bonjour", 25 * 3_600_000);
    const res = await rig.send(c.jwt, {
      candidatePhone: phone,
      candidateName: "Karim",
      jobTitle: "Chauffeur",
      message: "Toujours disponible ?",
    });
    expect(res.body.kind).toBe("template");
    await rig.until(c, res.body.messageId, ["sent", "delivered", "read"]);
    expect(templatesTo(phone)).toHaveLength(1);
    expect(textsTo(phone)).toHaveLength(0);
  });

  it("a text-only request with the window closed and no usable template fails with a clear reason, nothing sent", async () => {
    const c = await rig.client({ templates: [] });
    const phone = newPhone();
    const res = await rig.send(c.jwt, { candidatePhone: phone, message: "Bonjour" });
    const m = await rig.until(c, res.body.messageId, ["failed"]);
    expect(m.reasonCode).toBe("WINDOW_CLOSED_NO_TEMPLATE");
    expect(m.reason).toMatch(/24-hour window is closed/);
    expect(rig.acceptedFor(res.body.messageId)).toHaveLength(0);
  });

  it("refuses locally a template with the wrong parameter count, or not approved (no 132000 from Meta)", async () => {
    const c = await rig.client({
      templates: [
        simTemplate({ name: "interview_invite", language: "fr", body: "{{1}}, entretien le {{2}} à {{3}}" }),
        simTemplate({ name: "old_offer", language: "fr", body: "Bonjour {{1}}", status: "PAUSED" }),
      ],
    });
    const a = await rig.send(c.jwt, {
      candidatePhone: newPhone(),
      templateName: "interview_invite",
      templateLanguage: "fr",
      templateVars: ["Yasmine", "lundi"],
    });
    const b = await rig.send(c.jwt, {
      candidatePhone: newPhone(),
      templateName: "old_offer",
      templateLanguage: "fr",
      templateVars: ["Yasmine"],
    });
    const ok = await rig.send(c.jwt, {
      candidatePhone: newPhone(),
      templateName: "interview_invite",
      templateLanguage: "fr",
      templateVars: ["Yasmine", "lundi", "10h"],
    });
    // Refused by the send API before anything is stored: 400 for the request, 409 for a paused template.
    expect(a).toMatchObject({ status: 400, body: { error: { code: "TEMPLATE_PARAM_COUNT" } } });
    expect(a.body.error?.message).toMatch(/interview_invite \(fr\) expects 3 variable\(s\)/);
    expect(b).toMatchObject({ status: 409, body: { error: { code: "TEMPLATE_NOT_APPROVED" } } });
    expect(b.body.error?.message).toMatch(/old_offer \(fr\) is paused/);
    const m = await rig.until(c, ok.body.messageId, ["sent", "delivered", "read"]);
    expect(await rig.trunk.db.messages.countDocuments({ clientId: c._id })).toBe(1);
    expect(await rig.trunk.db.conversations.countDocuments({ clientId: c._id })).toBe(1);
    expect(String(m._id)).toBe(ok.body.messageId);
    expect(rig.sim.rejected.filter((r) => r.code >= 132000 && r.code < 133000)).toHaveLength(0);
  });

  it("a message_template_status_update webhook pauses a template: the next send is refused locally", async () => {
    const c = await rig.client();
    const res = await rig.trunk.sim.deliver(
      templateStatusDelivery(c.wabaId, {
        event: "PAUSED",
        templateId: 1234,
        name: "application_received",
        language: "fr",
        reason: "LOW_QUALITY",
      }),
    );
    expect(res.status).toBe(200);
    await eventually(
      async () =>
        (await rig.trunk.db.forTenant(c._id).templates.find("application_received", "fr"))?.status === "PAUSED",
    );
    const s = await rig.send(c.jwt, { candidatePhone: newPhone(), candidateName: "A", jobTitle: "B" });
    expect(s).toMatchObject({ status: 409, body: { error: { code: "TEMPLATE_NOT_APPROVED" } } });
    expect(s.body.error?.message).toMatch(/application_received \(fr\) is paused by Meta \(low quality\): LOW_QUALITY/);
    expect(await rig.trunk.db.messages.countDocuments({ clientId: c._id })).toBe(0);
  });
});

describe("131047 → one template fallback", () => {
  it("answered at send time: the text fails with 131047 and exactly one template goes", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Salut", 60_000); // our window says open; Meta disagrees
    rig.sim.faults.byRecipient.set(phone, { code: 131047, types: ["text"] });
    const res = await rig.send(c.jwt, {
      candidatePhone: phone,
      message: "Bonjour",
      candidateName: "Sara",
      jobTitle: "Vendeuse",
    });
    expect(res.body.kind).toBe("text");
    const m = await rig.until(c, res.body.messageId, ["failed"]);
    expect(m.error).toMatchObject({ code: 131047 });
    expect(m.fallbackMessageId).toBeTruthy();
    const fb = await rig.until(c, m.fallbackMessageId!.toHexString(), ["sent", "delivered", "read"]);
    expect(fb).toMatchObject({ kind: "template" });
    expect(templatesTo(phone)).toHaveLength(1);
  });

  it("reported by a failed status webhook (also redelivered): still exactly one template", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Salut", 60_000);
    rig.sim.faults.byRecipient.set(phone, { code: 131047, types: ["text"], async: true });
    const res = await rig.send(c.jwt, {
      candidatePhone: phone,
      message: "Bonjour",
      candidateName: "Sara",
      jobTitle: "Vendeuse",
    });
    const m = await rig.until(c, res.body.messageId, ["failed"]);
    const fallbackId = (
      await eventually(async () => (await rig.message(c, res.body.messageId)).fallbackMessageId)
    ).toHexString();
    await rig.until(c, fallbackId, ["sent", "delivered", "read"]);
    // Meta redelivers the failed status: no second fallback.
    await rig.trunk.sim.deliver({
      object: "whatsapp_business_account",
      entry: [
        {
          id: c.wabaId,
          changes: [
            {
              field: "messages",
              value: {
                messaging_product: "whatsapp",
                metadata: { display_phone_number: "212500000000", phone_number_id: c.phoneNumberId },
                statuses: [
                  {
                    id: m.wamid,
                    status: "failed",
                    timestamp: String(Math.floor(Date.now() / 1000)),
                    recipient_id: phone,
                    biz_opaque_callback_data: res.body.messageId,
                    errors: [{ code: 131047, title: "Re-engagement message" }],
                  },
                ],
              },
            },
          ],
        },
      ],
    });
    await rig.trunk.drain();
    expect(templatesTo(phone)).toHaveLength(1);
    expect(textsTo(phone)).toHaveLength(1);
  });
});

describe("the send API", () => {
  it("honours the Idempotency-Key: the first answer again, one message, one send", async () => {
    const c = await rig.client();
    const phone = newPhone();
    const body = { candidatePhone: phone, candidateName: "Omar", jobTitle: "Magasinier" };
    const key = `app-${phone}`;
    const [a, b] = await Promise.all([
      rig.send(c.jwt, body, { "idempotency-key": key }),
      rig.send(c.jwt, body, { "idempotency-key": key }),
    ]);
    const c3 = await rig.send(c.jwt, body, { "idempotency-key": key });
    expect(a.status).toBe(202);
    expect(b.body).toEqual(a.body);
    expect(c3.body).toEqual(a.body);
    await rig.until(c, a.body.messageId, ["sent", "delivered", "read"]);
    const stored = await rig.trunk.db.messages.countDocuments({ clientId: c._id, direction: "outbound" });
    expect(stored).toBe(1);
    expect(rig.sim.accepted.filter((m) => m.to === phone)).toHaveLength(1);
  });

  it("a recruiter cannot send for another tenant; the platform service can name any client", async () => {
    const a = await rig.client();
    const b = await rig.client();
    const phone = newPhone();
    const denied = await rig.send(a.jwt, { clientId: b._id.toHexString(), candidatePhone: phone });
    expect(denied.status).toBe(403);
    const service = await rig.send(await tokenFor("platform-backend", "service"), {
      clientId: b._id.toHexString(),
      candidatePhone: phone,
      candidateName: "X",
      jobTitle: "Y",
    });
    expect(service.status).toBe(202);
    expect(await rig.trunk.db.messages.countDocuments({ clientId: a._id })).toBe(0);
  });

  it("refuses a number that cannot be one, and a body that is not valid", async () => {
    const c = await rig.client();
    expect((await rig.send(c.jwt, { candidatePhone: "0123" })).status).toBe(400);
    expect((await rig.send(c.jwt, { candidatePhone: "hello" })).status).toBe(400);
    expect((await rig.send(c.jwt, { candidatePhone: newPhone(), templateVars: "x" })).status).toBe(400);
    expect(await rig.trunk.db.messages.countDocuments({ clientId: c._id })).toBe(0);
  });
});
