import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import type { ClientDoc } from "@linkojob/db";
import type { MessagePayload } from "@linkojob/events";
import { startOutbound, type OutboundRig } from "../harness/outbound.harness.js";

let rig: OutboundRig;
beforeAll(async () => {
  rig = await startOutbound("outchat");
});
afterAll(async () => {
  await rig?.close();
});

let phoneSeq = 0;
const newPhone = () => `2126${String(50_000_000 + ++phoneSeq * 7919).slice(-8)}`;
const question = {
  type: "button",
  body: "Êtes-vous disponible pour un entretien jeudi ?",
  footer: "Linkojob",
  buttons: [
    { id: "yes", title: "Oui, disponible" },
    { id: "no", title: "Non" },
  ],
};

async function lastInbound(c: ClientDoc, phone: string) {
  const conv = await rig.trunk.db.conversations.findOne({ clientId: c._id, candidatePhone: phone }).lean();
  const m = await rig.trunk.db.messages
    .findOne({ conversationId: conv!._id, direction: "inbound" })
    .sort({ timestamp: -1, _id: -1 })
    .lean();
  return { conversationId: conv!._id.toHexString(), wamid: m!.wamid!, id: m!._id.toHexString() };
}

async function simControl(path: string, body: unknown) {
  const res = await request(`${rig.trunk.sim.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await res.body.json();
  if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${JSON.stringify(json)}`);
  return json;
}

/** Once the candidate's answer is stored: their conversation's messages, as the REST API gives them. */
async function threadAfterReply(
  c: Awaited<ReturnType<OutboundRig["client"]>>,
  phone: string,
): Promise<MessagePayload[]> {
  await rig.trunk.drain();
  const conv = await lastInbound(c, phone);
  const page = await request(`${rig.trunk.ingressUrl}/api/messages/conversation/${conv.conversationId}`, {
    headers: { authorization: `Bearer ${c.jwt}` },
  });
  return ((await page.body.json()) as { messages: MessagePayload[] }).messages;
}

describe("interactive messages", () => {
  it("reply buttons go inside the window, as Meta spells them; the candidate's tap is stored against the question", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Bonjour", 60_000);
    const res = await rig.send(c.jwt, { candidatePhone: phone, interactive: question });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ kind: "interactive", cost: 0.4 }); // a service message
    const m = await rig.until(c, res.body.messageId, ["sent", "delivered", "read"]);
    expect(m).toMatchObject({
      kind: "interactive",
      type: "interactive",
      text: "Êtes-vous disponible pour un entretien jeudi ? [Oui, disponible / Non]",
    });
    const sent = rig.acceptedFor(res.body.messageId);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toMatchObject({
      type: "interactive",
      interactive: {
        type: "button",
        body: { text: question.body },
        footer: { text: "Linkojob" },
        action: {
          buttons: [
            { type: "reply", reply: { id: "yes", title: "Oui, disponible" } },
            { type: "reply", reply: { id: "no", title: "Non" } },
          ],
        },
      },
    });

    // The candidate taps "Oui, disponible": the reply points at our question (context.id).
    await simControl("/_sim/candidates/reply", {
      phoneNumberId: c.phoneNumberId,
      wabaId: c.wabaId,
      from: phone,
      type: "interactive",
      interactive: { type: "button_reply", id: "yes", title: "Oui, disponible" },
      context: { id: m.wamid },
    });
    const messages = await threadAfterReply(c, phone);
    const reply = messages.find((x) => x.direction === "inbound" && x.type === "interactive");
    const asked = messages.find((x) => x.id === res.body.messageId);
    expect((reply?.context as { id?: string } | undefined)?.id).toBe(m.wamid);
    expect(asked).toMatchObject({ wamid: m.wamid, text: expect.stringContaining("Êtes-vous disponible") });
  });

  it("a flow (application form) goes with its first screen and our token; the candidate's answers are stored as a form with the flow and screen", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Je suis intéressée", 60_000);
    const form = {
      type: "flow",
      body: "Complétez votre candidature (1 minute)",
      cta: "Remplir",
      flowId: "778899001122",
      screen: "DISPONIBILITES",
      data: { poste: "Cariste" },
    };
    const res = await rig.send(c.jwt, { candidatePhone: phone, interactive: form });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ kind: "interactive" });
    const m = await rig.until(c, res.body.messageId, ["sent", "delivered", "read"]);
    const sent = rig.acceptedFor(res.body.messageId)[0]!.body.interactive as {
      type: string;
      action: { name: string; parameters: Record<string, unknown> };
    };
    expect(sent).toMatchObject({
      type: "flow",
      body: { text: form.body },
      action: {
        name: "flow",
        parameters: {
          flow_message_version: "3",
          flow_id: "778899001122",
          flow_cta: "Remplir",
          flow_action: "navigate",
          flow_action_payload: { screen: "DISPONIBILITES", data: { poste: "Cariste" } },
          flow_token: expect.stringMatching(/^lj1\.778899001122\.DISPONIBILITES\./),
        },
      },
    });
    const token = sent.action.parameters.flow_token as string;
    // A retried send uses the token stored with the message, not a new one.
    expect(rig.acceptedFor(res.body.messageId).every((a) => JSON.stringify(a.body).includes(token))).toBe(true);

    await simControl("/_sim/candidates/reply", {
      phoneNumberId: c.phoneNumberId,
      wabaId: c.wabaId,
      from: phone,
      type: "interactive",
      interactive: {
        type: "nfm_reply",
        response: { flow_token: token, disponibilite: "immediate", salaire_attendu: "6500", permis: ["B", "C"] },
      },
      context: { id: m.wamid },
    });
    const messages = await threadAfterReply(c, phone);
    const answer = messages.find((x) => x.direction === "inbound" && x.type === "interactive");
    expect(answer?.content).toMatchObject({
      type: "nfm_reply",
      flow: {
        token,
        flowId: "778899001122",
        screen: "DISPONIBILITES",
        answers: { disponibilite: "immediate", salaire_attendu: "6500", permis: ["B", "C"] },
      },
    });
    expect((answer?.context as { id?: string } | undefined)?.id).toBe(m.wamid);
  });

  it("a list goes with its sections and rows", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Quels créneaux ?", 60_000);
    const list = {
      type: "list",
      body: "Choisissez un créneau",
      button: "Créneaux",
      sections: [
        {
          title: "Jeudi",
          rows: [{ id: "thu-10", title: "10 h", description: "Agence Casablanca" }, { title: "14 h" }],
        },
        { title: "Vendredi", rows: [{ title: "9 h" }] },
      ],
    };
    const res = await rig.send(c.jwt, { candidatePhone: phone, interactive: list });
    expect(res.body).toMatchObject({ kind: "interactive" });
    await rig.until(c, res.body.messageId, ["sent", "delivered", "read"]);
    expect(rig.acceptedFor(res.body.messageId)[0]!.body.interactive).toEqual({
      type: "list",
      body: { text: "Choisissez un créneau" },
      action: {
        button: "Créneaux",
        sections: [
          {
            title: "Jeudi",
            rows: [
              { id: "thu-10", title: "10 h", description: "Agence Casablanca" },
              { id: "row_2", title: "14 h" },
            ],
          },
          { title: "Vendredi", rows: [{ id: "row_3", title: "9 h" }] },
        ],
      },
    });
  });

  it("Meta's limits are refused with a 400 naming the field; nothing is stored", async () => {
    const c = await rig.client();
    const phone = newPhone();
    const bad = [
      { ...question, buttons: [...question.buttons, { title: "Peut-être" }, { title: "Plus tard" }] },
      { ...question, buttons: [{ title: "Oui, je suis disponible" }] },
      { ...question, buttons: [{ title: "Oui" }, { title: "Oui" }] },
      {
        type: "list",
        body: "x",
        button: "Voir",
        sections: [
          { title: "A", rows: Array.from({ length: 6 }, (_, i) => ({ title: `a${i}` })) },
          { title: "B", rows: Array.from({ length: 5 }, (_, i) => ({ title: `b${i}` })) },
        ],
      },
      { type: "list", body: "x", button: "Voir", sections: [{ rows: [{ title: "a" }] }, { rows: [{ title: "b" }] }] },
      { type: "list", body: "x", button: "Voir", sections: [{ rows: [{ title: "un titre de plus de 24 car." }] }] },
    ];
    for (const interactive of bad) {
      const res = await rig.send(c.jwt, { candidatePhone: phone, interactive });
      expect(res.status, JSON.stringify(interactive)).toBe(400);
      expect(JSON.stringify(res.body.error)).toMatch(/interactive/);
    }
    const withText = await rig.send(c.jwt, { candidatePhone: phone, interactive: question, message: "x" });
    expect(withText.status).toBe(400);
    expect(await rig.trunk.db.messages.countDocuments({ clientId: c._id })).toBe(0);
  });

  it("outside the window the template goes instead, as for text", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Bonjour", 25 * 3_600_000);
    const res = await rig.send(c.jwt, {
      candidatePhone: phone,
      candidateName: "Salma",
      jobTitle: "Caissière",
      interactive: question,
    });
    expect(res.body).toMatchObject({ kind: "template" });
    await rig.until(c, res.body.messageId, ["sent", "delivered", "read"]);
    expect(rig.sim.accepted.filter((x) => x.to === phone).map((x) => x.type)).toEqual(["template"]);
  });

  it("Meta's 131047 on a question our window thought open: the question fails and exactly one template goes", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Bonjour", 60_000); // our window says open; Meta disagrees
    rig.sim.faults.byRecipient.set(phone, { code: 131047, types: ["interactive"] });
    const res = await rig.send(c.jwt, {
      candidatePhone: phone,
      candidateName: "Salma",
      jobTitle: "Caissière",
      interactive: question,
    });
    expect(res.body).toMatchObject({ kind: "interactive" });
    const m = await rig.until(c, res.body.messageId, ["failed"]);
    expect(m.error).toMatchObject({ code: 131047 });
    expect(m.fallbackMessageId).toBeTruthy();
    const fallback = await rig.until(c, m.fallbackMessageId!.toHexString(), ["sent", "delivered", "read"]);
    expect(fallback).toMatchObject({ kind: "template" });
    expect(rig.sim.accepted.filter((x) => x.to === phone).map((x) => x.type)).toEqual(["template"]);
  });
});

describe("replies to a message and reactions", () => {
  it("replyTo (a wamid or our message id) becomes Meta's context; a message of another conversation is a 400", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "J'ai une question sur le salaire", 60_000);
    const inbound = await lastInbound(c, phone);
    const byWamid = await rig.send(c.jwt, {
      candidatePhone: phone,
      message: "Le salaire est de 6 000 MAD",
      replyTo: inbound.wamid,
    });
    expect(byWamid.status).toBe(202);
    await rig.until(c, byWamid.body.messageId, ["sent", "delivered", "read"]);
    expect(rig.acceptedFor(byWamid.body.messageId)[0]!.body.context).toEqual({ message_id: inbound.wamid });

    const byId = await rig.send(c.jwt, { candidatePhone: phone, interactive: question, replyTo: inbound.id });
    await rig.until(c, byId.body.messageId, ["sent", "delivered", "read"]);
    expect(rig.acceptedFor(byId.body.messageId)[0]!.body).toMatchObject({
      type: "interactive",
      context: { message_id: inbound.wamid },
    });
    const stored = await rig.message(c, byId.body.messageId);
    expect(stored.request).toMatchObject({ replyToWamid: inbound.wamid, replyToMessageId: inbound.id });

    // Another candidate's message, and an unknown id: refused, nothing stored.
    const other = newPhone();
    await rig.candidateWrites(c, other, "Bonjour", 60_000);
    const foreign = await lastInbound(c, other);
    const before = await rig.trunk.db.messages.countDocuments({ clientId: c._id });
    for (const replyTo of [foreign.wamid, foreign.id, "wamid.unknown"]) {
      const res = await rig.send(c.jwt, { candidatePhone: phone, message: "x", replyTo });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: "BAD_REQUEST", details: { field: "replyTo" } });
    }
    expect(await rig.trunk.db.messages.countDocuments({ clientId: c._id })).toBe(before);
  });

  it("a reaction goes to the candidate's message; an empty emoji removes it", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Voici mon CV", 60_000);
    const inbound = await lastInbound(c, phone);
    const like = await rig.send(c.jwt, { candidatePhone: phone, reaction: { messageId: inbound.id, emoji: "👍" } });
    expect(like).toMatchObject({ status: 202, body: { kind: "reaction", cost: 0.4 } });
    await rig.until(c, like.body.messageId, ["sent", "delivered", "read"]);
    expect(rig.acceptedFor(like.body.messageId)[0]!.body).toMatchObject({
      type: "reaction",
      reaction: { message_id: inbound.wamid, emoji: "👍" },
    });
    expect(rig.acceptedFor(like.body.messageId)[0]!.body.context).toBeUndefined();

    const remove = await rig.send(c.jwt, { candidatePhone: phone, reaction: { messageId: inbound.wamid, emoji: "" } });
    await rig.until(c, remove.body.messageId, ["sent", "delivered", "read"]);
    expect(rig.acceptedFor(remove.body.messageId)[0]!.body.reaction).toEqual({ message_id: inbound.wamid, emoji: "" });

    const two = await rig.send(c.jwt, { candidatePhone: phone, reaction: { messageId: inbound.id, emoji: "👍👍" } });
    expect(two.status).toBe(400);
    const mixed = await rig.send(c.jwt, {
      candidatePhone: phone,
      message: "x",
      reaction: { messageId: inbound.id, emoji: "👍" },
    });
    expect(mixed.status).toBe(400);
  });

  it("a reaction outside the window fails with WINDOW_CLOSED and nothing reaches Meta", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Bonjour", 25 * 3_600_000);
    const inbound = await lastInbound(c, phone);
    const res = await rig.send(c.jwt, { candidatePhone: phone, reaction: { messageId: inbound.id, emoji: "👍" } });
    expect(res.status).toBe(202);
    const m = await rig.until(c, res.body.messageId, ["failed"]);
    expect(m.reasonCode).toBe("WINDOW_CLOSED");
    expect(rig.acceptedFor(res.body.messageId)).toHaveLength(0);
  });
});
