/**
 * Candidates known only by their business-scoped user id (username adopters who hide their
 * phone). The send API takes `candidateUserId`, the message lands in the conversation the inbound
 * side keyed by that user id, the worker sends with `recipient`, and Meta's 131062 (unknown user id)
 * fails that message with its code and a clear reason. Real ingress, Redis, FerretDB, both workers
 * and the simulator with its window / user-id checks on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { simTemplate } from "@linkojob/meta-simulator";
import { startOutbound, type OutboundRig } from "../harness/outbound.harness.js";

let rig: OutboundRig;

beforeAll(async () => {
  rig = await startOutbound("i9users");
  rig.sim.enforcement.window = true;
}, 120_000);

afterAll(async () => {
  await rig?.close();
});

const simPost = async (path: string, body: unknown) => {
  const res = await request(`${rig.trunk.sim.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await res.body.json();
  if (res.statusCode !== 200) throw new Error(`simulator answered ${res.statusCode}: ${JSON.stringify(json)}`);
  return json;
};

describe("candidateUserId", () => {
  it("refuses neither or both ids with a 400 naming the problem, storing nothing", async () => {
    const c = await rig.client();
    for (const body of [
      { candidateName: "Amal", message: "Bonjour" },
      { candidatePhone: "212611000010", candidateUserId: "MA.12345678901234567890", message: "Bonjour" },
    ]) {
      const res = await rig.send(c.jwt, body);
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toMatch(/exactly one of candidatePhone and candidateUserId/);
    }
    const bad = await rig.send(c.jwt, { candidateUserId: "212611000010", message: "Bonjour" });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/user id/);
    expect(await rig.trunk.db.messages.countDocuments({ clientId: c._id })).toBe(0);
  });

  it("answers a username-only candidate in the same conversation, sent with recipient", async () => {
    const c = await rig.client();
    const userId = "MA.77001122334455667788";
    await simPost("/_sim/candidates/reply", {
      phoneNumberId: c.phoneNumberId,
      wabaId: c.wabaId,
      userId,
      name: "Salma",
      username: "salma.dev",
      type: "text",
      text: "Bonjour, je suis intéressée",
    });
    await rig.trunk.drain();
    const inbound = await rig.trunk.db.conversations.find({ clientId: c._id }).lean();
    expect(inbound).toHaveLength(1);
    const res = await rig.send(c.jwt, {
      candidateUserId: userId,
      message: "Merci Salma, êtes-vous disponible demain ?",
    });
    expect(res.status).toBe(202);
    expect(res.body.kind).toBe("text");
    const sent = await rig.until(c, res.body.messageId, ["sent", "delivered", "read"]);
    expect(String(sent.conversationId)).toBe(String(inbound[0]!._id));
    expect(sent.request.candidateUserId).toBe(userId);
    const [call] = rig.acceptedFor(res.body.messageId);
    expect(call!.body.recipient).toBe(userId);
    expect(call!.body.to).toBeUndefined();
    expect(await rig.trunk.db.conversations.countDocuments({ clientId: c._id })).toBe(1);
  });

  it("refuses an authentication template to a user id alone (Meta needs a phone), storing nothing", async () => {
    const otp = simTemplate({
      name: "code_verification",
      language: "fr",
      body: "Votre code : {{1}}",
      category: "AUTHENTICATION",
    });
    const c = await rig.client({ templates: [otp] });
    const res = await rig.send(c.jwt, {
      candidateUserId: "MA.77001122334455660000",
      templateName: "code_verification",
      templateVars: ["123456"],
    });
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe("TEMPLATE_NEEDS_PHONE");
    expect(await rig.trunk.db.messages.countDocuments({ clientId: c._id })).toBe(0);
  });

  it("fails a send to a user id Meta does not know with 131062 and a clear reason", async () => {
    const c = await rig.client();
    const res = await rig.send(c.jwt, {
      candidateUserId: "MA.00000000000000000001",
      candidateName: "Inconnu",
      jobTitle: "Chauffeur",
    });
    expect(res.status).toBe(202);
    const failed = await rig.until(c, res.body.messageId, ["failed"]);
    expect(failed.reasonCode).toBe("131062");
    expect(failed.error?.code).toBe(131062);
    expect(failed.reason).toMatch(/user id/i);
    expect(failed.sendAttempts).toBe(1);
    expect(rig.acceptedFor(res.body.messageId)).toHaveLength(0);
  });
});
