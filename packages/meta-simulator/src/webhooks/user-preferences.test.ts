import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { normalizeDelivery, userPreferencesValueSchema, verifyWebhookSignature } from "@linkojob/whatsapp";
import { eventually } from "@linkojob/testing";
import { MetaSimulator } from "../simulator.js";
import { messagingState, type MessagingState } from "../graph/messaging-state.js";
import { simTemplate } from "../graph/templates.routes.js";
import { startRecordingReceiver, type RecordingReceiver } from "./recording-receiver.js";
import { userIdForPhone } from "./user-ids.js";

// The simulator's marketing preference: the user_preferences control endpoint delivers Meta's webhook,
// signed, and Meta's consequence follows (131050 on marketing templates, until the user resumes).

const secret = "sim-preferences-test-secret";
const business = { phoneNumberId: "555000222", wabaId: "100200400" };
let receiver: RecordingReceiver;
let sim: MetaSimulator;
let st: MessagingState;

beforeAll(async () => {
  receiver = await startRecordingReceiver((post) =>
    verifyWebhookSignature(post.raw, post.headers["x-hub-signature-256"], secret) ? 200 : 401,
  );
  sim = await MetaSimulator.create({ appSecret: secret, webhookUrl: receiver.url });
  await sim.listen();
  st = messagingState(sim.state);
  st.numbers.set(business.phoneNumberId, business.wabaId);
  st.templates.set(business.wabaId, [
    simTemplate({ name: "job_alert", language: "fr", body: "Nouvelle offre : {{1}}", category: "MARKETING" }),
    simTemplate({ name: "interview_reminder", language: "fr", body: "Rappel : {{1}}", category: "UTILITY" }),
  ]);
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
});
beforeEach(() => {
  receiver.received.length = 0;
});

const post = async (path: string, body: unknown) => {
  const res = await fetch(sim.url + path, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer tok" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};
const sendTemplate = (to: string, name: string) =>
  post(`/v21.0/${business.phoneNumberId}/messages`, {
    messaging_product: "whatsapp",
    to,
    type: "template",
    template: {
      name,
      language: { code: "fr" },
      components: [{ type: "body", parameters: [{ type: "text", text: "x" }] }],
    },
  });
/** The statuses the receiver got for a wamid. */
const statusesOf = (wamid: string) =>
  receiver.received
    .flatMap((p) => normalizeDelivery(JSON.parse(p.raw.toString("utf8"))))
    .flatMap((e) => (e.kind === "status" && e.status.wamid === wamid ? [e.status] : []));

describe("POST /_sim/candidates/user-preferences", () => {
  it("delivers Meta's user_preferences webhook, signed, with the stop and its timestamp", async () => {
    const res = await post("/_sim/candidates/user-preferences", {
      ...business,
      from: "212612000001",
      value: "stop",
      timestamp: 1_790_000_000,
    });
    expect(res.status).toBe(200);
    expect(receiver.received).toHaveLength(1);
    const [event] = normalizeDelivery(JSON.parse(receiver.received[0]!.raw.toString("utf8")));
    expect(event).toMatchObject({ kind: "account", field: "user_preferences", wabaId: business.wabaId, valid: true });
    const value = userPreferencesValueSchema.parse((event as { value: unknown }).value);
    expect(value.metadata?.phone_number_id).toBe(business.phoneNumberId);
    expect(value.user_preferences).toEqual([
      expect.objectContaining({
        wa_id: "212612000001",
        category: "marketing_messages",
        value: "stop",
        timestamp: 1_790_000_000,
      }),
    ]);
  });

  it("a user who hides the number is named by user id; a body naming nobody is refused", async () => {
    const userId = userIdForPhone("212612000009");
    expect((await post("/_sim/candidates/user-preferences", { ...business, userId, value: "resume" })).status).toBe(
      200,
    );
    const [event] = normalizeDelivery(JSON.parse(receiver.received[0]!.raw.toString("utf8")));
    const value = userPreferencesValueSchema.parse((event as { value: unknown }).value);
    expect(value.user_preferences[0]).toMatchObject({ user_id: userId, value: "resume" });
    const bad = await post("/_sim/candidates/user-preferences", { ...business, value: "stop" });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toMatch(/from/);
  });

  it("after a stop, a marketing template is accepted then failed with 131050; utility goes; after resume, marketing goes", async () => {
    const to = "212612000002";
    await post("/_sim/candidates/user-preferences", { ...business, from: to, value: "stop" });
    const marketing = await sendTemplate(to, "job_alert");
    expect(marketing.status).toBe(200);
    const wamid = (marketing.json.messages as Array<{ id: string }>)[0]!.id;
    const failed = await eventually(() => statusesOf(wamid).find((s) => s.status === "failed"));
    expect(failed.errors?.[0]).toMatchObject({ code: 131050 });

    const utility = await sendTemplate(to, "interview_reminder");
    const utilityWamid = (utility.json.messages as Array<{ id: string }>)[0]!.id;
    await eventually(() => statusesOf(utilityWamid).some((s) => s.status === "sent"));
    expect(statusesOf(utilityWamid).some((s) => s.status === "failed")).toBe(false);

    await post("/_sim/candidates/user-preferences", { ...business, from: to, value: "resume" });
    const again = await sendTemplate(to, "job_alert");
    const againWamid = (again.json.messages as Array<{ id: string }>)[0]!.id;
    await eventually(() => statusesOf(againWamid).some((s) => s.status === "sent"));
    expect(statusesOf(againWamid).some((s) => s.status === "failed")).toBe(false);
  });
});
