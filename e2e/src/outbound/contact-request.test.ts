import { randomBytes, randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConversationDoc, MessageDoc } from "@linkojob/db";
import { eventually, testServices } from "@linkojob/testing";
import { startStack, type Stack } from "../harness/stack.harness.js";

/**
 * Asking a username-only candidate (a business-scoped user id, phone hidden) for their number with
 * Meta's contact-information request, through the whole gateway: the send API → the outbound worker
 * → the simulator (`interactive.type: "request_contact_info"` to the user id) → the candidate shares
 * their number (a `contacts` message with `origin: "contact_request"`) → the inbound worker links the
 * number to the conversation, so that sends by phone reach the same conversation. Real ingress,
 * workers, Redis and FerretDB; only Meta is simulated.
 */
const tag = randomBytes(3).toString("hex");
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    services: testServices("contact-request-e2e"),
    concurrency: 2,
    statusStepDelayMs: 20,
    client: {
      companyName: "Contact Recruiting",
      phoneNumberId: `7${randomInt(10_000_000, 99_999_999)}`,
      wabaId: `waba-contact-${tag}`,
      whatsappNumber: `2125${randomInt(10_000_000, 99_999_999)}`,
    },
  });
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

const business = () => ({ phoneNumberId: stack.client.phoneNumberId, wabaId: stack.client.wabaId });
async function simReply(body: Record<string, unknown>): Promise<{ wamid: string }> {
  const res = await fetch(`${stack.sim.url}/_sim/candidates/reply`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...business(), ...body }),
  });
  const answer = (await res.json()) as { wamid: string };
  expect(res.status, JSON.stringify(answer)).toBe(200);
  return answer;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- API answers read by path
type Json = Record<string, any>;
async function send(body: Record<string, unknown>) {
  const res = await fetch(`${stack.ingressUrl}/api/messages/send`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.jwt}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}
const sentMessage = (id: string) =>
  eventually(async () => {
    const m = await stack.db.messages.findById(id).lean<MessageDoc>();
    return m && ["sent", "delivered", "read"].includes(m.status) ? m : null;
  });
const accepted = (id: string) => stack.simState.accepted.filter((a) => a.bizOpaque === id);
const conversation = (id: ConversationDoc["_id"]) => stack.db.conversations.findById(id).lean<ConversationDoc>();

describe("contact-information request", () => {
  it("asks a username-only candidate for their number; their shared contact links the number to the conversation", async () => {
    const userId = `MA.${randomInt(100_000_000, 999_999_999)}${tag}`;
    const phone = `2126${randomInt(10_000_000, 99_999_999)}`;
    await simReply({ userId, username: `amina_${tag}`, type: "text", text: "Bonjour, je postule" });
    const opened = await eventually(() =>
      stack.db.conversations.findOne({ clientId: stack.client._id, candidateUserId: userId }).lean<ConversationDoc>(),
    );
    expect(opened.candidatePhone ?? null).toBeNull();
    // The send API decides from the send state: wait for the worker's copy of the open window.
    const redis = stack.redis();
    await eventually(async () =>
      (await redis.exists(stack.outbound.sendState.windowKey(stack.clientId, userId))) ? true : null,
    );

    const res = await send({
      candidateUserId: userId,
      interactive: { type: "request_contact_info", body: "Pouvez-vous partager votre numéro pour l'entretien ?" },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({ kind: "interactive" });
    const asked = await sentMessage(res.body.messageId);
    expect(asked.conversationId.toHexString()).toBe(opened._id.toHexString());
    const [call] = accepted(res.body.messageId);
    // As Meta documents it: to the user id (no phone known), WhatsApp owns the button.
    expect(call!.body).toMatchObject({
      recipient: userId,
      type: "interactive",
      interactive: {
        type: "request_contact_info",
        body: { text: "Pouvez-vous partager votre numéro pour l'entretien ?" },
        action: { name: "request_contact_info" },
      },
    });
    expect(call!.body).not.toHaveProperty("to");

    // The candidate taps "share": a contacts message from the user id, origin contact_request.
    const shared = await simReply({
      userId,
      type: "contacts",
      contacts: [
        { formattedName: "Amina B.", origin: "contact_request", phones: [{ phone: `+${phone}`, waId: phone }] },
      ],
      context: { id: asked.wamid! },
    });
    const linked = await eventually(async () => {
      const c = await conversation(opened._id);
      return c?.candidatePhone === phone ? c : null;
    });
    expect(linked.candidateUserId).toBe(userId);
    const card = await eventually(() => stack.db.messages.findOne({ wamid: shared.wamid }).lean<MessageDoc>());
    expect(card.conversationId.toHexString()).toBe(opened._id.toHexString());

    // Identity linked: a send by the number goes to the same conversation, and Meta takes it by phone.
    const byPhone = await send({ candidatePhone: phone, message: "Merci Amina, à jeudi 10h." });
    expect(byPhone.status, JSON.stringify(byPhone.body)).toBe(202);
    const m = await sentMessage(byPhone.body.messageId);
    expect(m.conversationId.toHexString()).toBe(opened._id.toHexString());
    expect(accepted(byPhone.body.messageId)[0]!.body).toMatchObject({ to: phone });
    expect(await stack.db.conversations.countDocuments({ clientId: stack.client._id, candidatePhone: phone })).toBe(1);
  });

  it("a contact the candidate shares on their own (origin other) links nothing", async () => {
    const userId = `MA.${randomInt(100_000_000, 999_999_999)}${tag}x`;
    await simReply({ userId, type: "text", text: "Bonjour" });
    const opened = await eventually(() =>
      stack.db.conversations.findOne({ clientId: stack.client._id, candidateUserId: userId }).lean<ConversationDoc>(),
    );
    const friend = `2127${randomInt(10_000_000, 99_999_999)}`;
    const shared = await simReply({
      userId,
      type: "contacts",
      contacts: [{ formattedName: "Un ami", origin: "other", phones: [{ phone: `+${friend}`, waId: friend }] }],
    });
    await eventually(() => stack.db.messages.findOne({ wamid: shared.wamid }).lean<MessageDoc>());
    expect((await conversation(opened._id))?.candidatePhone ?? null).toBeNull();
  });

  it("refuses a malformed request with a 400 naming the field", async () => {
    const res = await send({ candidateUserId: `MA.1${tag}`, interactive: { type: "request_contact_info" } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toMatch(/body/);
  });
});
