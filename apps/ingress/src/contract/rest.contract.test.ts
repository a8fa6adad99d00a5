/**
 * The REST API as the platform's contract writes it (its endpoints and key workflows), one
 * test per route, through the real ingress (app.inject) on the real MongoDB-protocol server and
 * Redis, with Meta simulated. A client written against that contract reads these shapes: a change that
 * breaks one fails here. The gateway adds fields; none of the contract's may go.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conversationSchema, messageSchema, sendAnswerSchema, type SendAnswerPayload } from "@linkojob/events";
import type { SendAnswerWithSchedule } from "../sends/send-acceptance.js";
import { TEST_SECRETS } from "@linkojob/testing";
import { signWebhookBody, type NormalizedMessage } from "@linkojob/whatsapp";
import {
  DASHBOARD_URL,
  authHeader,
  popupCode,
  redirectFlow,
  seedBusiness,
  startOnboardingHarness,
  type OnboardingHarness,
} from "../onboarding/onboarding.harness.js";
import { storeInbound } from "../ingress.harness.js";

// The send route's answer type fits the contract's: this fails to compile when they drift.
const sendAnswerFits = (a: SendAnswerWithSchedule): SendAnswerPayload => a;
void sendAnswerFits;

let h: OnboardingHarness;
const recruiter = "recruiter-contract";
let clientId: string;
let phoneNumberId: string;

const hex24 = /^[0-9a-f]{24}$/;
const inject = async (
  method: "GET" | "POST" | "PATCH" | "DELETE",
  url: string,
  payload?: unknown,
  userId: string | null = recruiter,
) =>
  h.app.inject({
    method,
    url,
    ...(payload !== undefined ? { payload: payload as object } : {}),
    headers: userId ? await authHeader(userId) : {},
  });

/** A candidate's message stored as the inbound worker stores it: the conversation gets an unread message. */
async function candidateWrites(phone: string, text: string): Promise<string> {
  const tenant = h.db.forTenant(clientId);
  const id = await tenant.conversations.ensure({ candidateKey: phone });
  const at = new Date();
  const message: NormalizedMessage = {
    wamid: `wamid.contract-${phone}-${at.getTime()}`,
    type: "text",
    originalType: "text",
    timestamp: at,
    content: { body: text },
    text,
  };
  await storeInbound(h.db, tenant.clientId, id, message);
  return id.toHexString();
}

/** Connects a new number for userId through Embedded Signup's popup flow; returns the client's id. */
async function connect(userId: string, display: string): Promise<{ clientId: string; phoneNumberId: string }> {
  const business = await seedBusiness(h, { phoneNumbers: [{ displayPhoneNumber: display }] });
  const res = await inject(
    "POST",
    "/api/auth/whatsapp/exchange",
    { code: await popupCode(h, [business.wabaId]) },
    userId,
  );
  if (res.statusCode !== 200) throw new Error(`exchange answered ${res.statusCode}: ${res.body}`);
  return { clientId: res.json().client.id, phoneNumberId: business.phoneNumbers[0]!.id };
}

beforeAll(async () => {
  h = await startOnboardingHarness("rest-contract");
  ({ clientId, phoneNumberId } = await connect(recruiter, "+212 600-111222"));
});
afterAll(async () => {
  await h?.close();
});

describe("POST /api/auth/whatsapp/initiate → { oauthUrl: string }", () => {
  it("answers the OAuth URL to open, and requires a JWT", async () => {
    const res = await inject("POST", "/api/auth/whatsapp/initiate");
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(typeof body.oauthUrl).toBe("string");
    expect(new URL(body.oauthUrl).pathname).toMatch(/\/dialog\/oauth$/);
    expect((await inject("POST", "/api/auth/whatsapp/initiate", undefined, null)).statusCode).toBe(401);
  });
});

describe("GET /api/auth/whatsapp/callback?code&state → redirect to the dashboard with success/error", () => {
  it("redirects to the dashboard with the outcome, success or error", async () => {
    await seedBusiness(h, { phoneNumbers: [{ displayPhoneNumber: "+212 600-555666" }] });
    const ok = await redirectFlow(h, "recruiter-contract-2");
    const dashboard = new URL(DASHBOARD_URL);
    expect(ok.location.origin + ok.location.pathname).toBe(dashboard.origin + dashboard.pathname);
    expect(ok.location.searchParams.get("whatsapp_status")).toBe("connected");

    const failed = await h.app.inject({ method: "GET", url: "/api/auth/whatsapp/callback?code=ABC123&state=forged" });
    expect(failed.statusCode).toBe(302);
    const to = new URL(failed.headers.location as string);
    expect(to.origin + to.pathname).toBe(dashboard.origin + dashboard.pathname);
    expect(to.searchParams.get("whatsapp_status")).toBe("error");
  });
});

describe("connecting returns { success: true, client: { phoneNumberId, whatsappNumber } } (workflow 1, popup flow)", () => {
  it("answers the connected client", async () => {
    const business = await seedBusiness(h, { phoneNumbers: [{ displayPhoneNumber: "+212 600-333444" }] });
    const res = await inject(
      "POST",
      "/api/auth/whatsapp/exchange",
      { code: await popupCode(h, [business.wabaId]) },
      "recruiter-contract-3",
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      success: true,
      client: { phoneNumberId: business.phoneNumbers[0]!.id, whatsappNumber: "212600333444" },
    });
  });
});

describe("POST /api/messages/send → { success, messageId, cost }", () => {
  it("accepts the platform's body and answers success, the message id and the cost; requires a JWT", async () => {
    // Workflow 2's body, with the route's clientId.
    const body = {
      clientId,
      candidatePhone: "212638167216",
      candidateName: "Ahmed Hassan",
      jobTitle: "Developer PHP",
      companyName: "Acme Corp",
    };
    const res = await inject("POST", "/api/messages/send", body);
    expect(res.statusCode, res.body).toBeGreaterThanOrEqual(200);
    expect(res.statusCode).toBeLessThan(300);
    const answer = res.json();
    expect(answer.success).toBe(true);
    expect(answer.messageId).toMatch(hex24);
    expect(typeof answer.cost).toBe("number");
    // First contact: a template, 0.40 MAD.
    expect(answer.cost).toBeCloseTo(0.4);
    // Exactly the contract's answer, no other key.
    expect(sendAnswerSchema.safeParse(answer).error?.issues ?? []).toEqual([]);
    expect((await inject("POST", "/api/messages/send", body, null)).statusCode).toBe(401);
  });

  it("takes { message, templateName, templateVars } too", async () => {
    const res = await inject("POST", "/api/messages/send", {
      clientId,
      candidatePhone: "212638167217",
      templateName: "application_received",
      templateVars: ["Sara", "Designer"],
    });
    expect(res.statusCode).toBeLessThan(300);
    expect(res.json()).toMatchObject({
      success: true,
      messageId: expect.stringMatching(hex24),
      cost: expect.any(Number),
    });
  });
});

describe("GET /api/messages/conversations?clientId&page&limit → { conversations: [], total, hasMore }", () => {
  it("lists the client's conversations with the collection's fields, paginated", async () => {
    await candidateWrites("212638167218", "Bonjour");
    await candidateWrites("212638167228", "Salam");
    const all = await inject("GET", `/api/messages/conversations?clientId=${clientId}&page=1&limit=100`);
    expect(all.statusCode).toBe(200);
    const body = all.json();
    expect(Array.isArray(body.conversations)).toBe(true);
    expect(typeof body.total).toBe("number");
    expect(typeof body.hasMore).toBe("boolean");
    expect(body.total).toBeGreaterThanOrEqual(2);
    expect(body.hasMore).toBe(false);
    for (const c of body.conversations) {
      expect(Object.keys(c)).toEqual(
        expect.arrayContaining([
          "_id",
          "clientId",
          "candidatePhone",
          "candidateName",
          "messageCount",
          "lastMessageAt",
          "lastMessageFrom",
          "unreadCount",
          "inWindow",
          "windowExpiresAt",
          "createdAt",
          "updatedAt",
        ]),
      );
      expect(c.clientId).toBe(clientId);
      // The same shape conversation:updated carries.
      expect(conversationSchema.safeParse(c).success).toBe(true);
    }

    const first = (await inject("GET", `/api/messages/conversations?clientId=${clientId}&page=1&limit=1`)).json();
    expect(first.conversations).toHaveLength(1);
    expect(first.total).toBe(body.total);
    expect(first.hasMore).toBe(true);
    expect((await inject("GET", "/api/messages/conversations", undefined, null)).statusCode).toBe(401);
  });
});

describe("GET /api/messages/conversation/:conversationId → { conversation, messages: [] }", () => {
  it("answers the conversation and its messages", async () => {
    const id = await candidateWrites("212638167219", "Yes interested");
    const res = await inject("GET", `/api/messages/conversation/${id}?clientId=${clientId}`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.conversation._id).toBe(id);
    expect(conversationSchema.safeParse(body.conversation).success).toBe(true);
    expect(Array.isArray(body.messages)).toBe(true);
    expect(body.messages).toHaveLength(1);
    const [m] = body.messages;
    expect(m).toMatchObject({
      from: "candidate",
      type: "text",
      text: "Yes interested",
      status: expect.any(String),
      timestamp: expect.any(String),
    });
    // The same shape message:received carries.
    expect(messageSchema.safeParse(m).success).toBe(true);
    expect((await inject("GET", `/api/messages/conversation/${id}`, undefined, null)).statusCode).toBe(401);
  });

  // Divergences from the platform's `messages[]` item, reported to the lead rather than changed here.
  it.todo("each message carries the platform's messageId (the wamid) and content: { text, templateName, mediaUrl }");
  it.todo(
    'a recruiter\'s message has from: "client" as the platform\'s collection writes it (the API says "recruiter")',
  );
});

describe("PATCH /api/messages/conversation/:conversationId/read → { success }", () => {
  it("answers success and resets unreadCount", async () => {
    const id = await candidateWrites("212638167220", "Allô ?");
    const before = (await inject("GET", `/api/messages/conversation/${id}?clientId=${clientId}`)).json();
    expect(before.conversation.unreadCount).toBe(1);
    const res = await inject("PATCH", `/api/messages/conversation/${id}/read?clientId=${clientId}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ success: true });
    const after = (await inject("GET", `/api/messages/conversation/${id}?clientId=${clientId}`)).json();
    expect(after.conversation.unreadCount).toBe(0);
    expect((await inject("PATCH", `/api/messages/conversation/${id}/read`, undefined, null)).statusCode).toBe(401);
  });
});

describe("DELETE /api/auth/whatsapp/disconnect → { success: boolean }", () => {
  it("answers success and the client is disconnected; requires a JWT", async () => {
    expect((await inject("DELETE", "/api/auth/whatsapp/disconnect", undefined, null)).statusCode).toBe(401);
    const { clientId: id } = await connect("recruiter-contract-4", "+212 600-777888");
    const res = await inject(
      "DELETE",
      `/api/auth/whatsapp/disconnect?clientId=${id}`,
      undefined,
      "recruiter-contract-4",
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ success: true });
    expect((await h.db.clients.findById(id).lean())?.status).toBe("disconnected");
  });
});

describe("GET /webhook?hub.mode&hub.verify_token&hub.challenge → hub.challenge (or 403)", () => {
  it("echoes the challenge for the right token, 403 otherwise; no JWT needed", async () => {
    const ok = await h.app.inject({
      method: "GET",
      url: `/webhook?hub.mode=subscribe&hub.verify_token=${TEST_SECRETS.verifyToken}&hub.challenge=yyy`,
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe("yyy");
    const wrong = await h.app.inject({
      method: "GET",
      url: "/webhook?hub.mode=subscribe&hub.verify_token=xxx&hub.challenge=yyy",
    });
    expect(wrong.statusCode).toBe(403);
  });
});

describe("POST /webhook → 200 OK, even when the content cannot be processed", () => {
  const signedPost = (payload: string) =>
    h.app.inject({
      method: "POST",
      url: "/webhook",
      payload,
      headers: {
        "content-type": "application/json",
        "x-hub-signature-256": signWebhookBody(payload, TEST_SECRETS.appSecret),
      },
    });

  it("answers 200 to Meta's signed message notification (workflow 3), without a JWT", async () => {
    const payload = JSON.stringify({
      object: "whatsapp_business_account",
      entry: [
        {
          id: "waba",
          changes: [
            {
              field: "messages",
              value: {
                messaging_product: "whatsapp",
                metadata: { phone_number_id: phoneNumberId, display_phone_number: "212600111222" },
                contacts: [{ profile: { name: "Ahmed" }, wa_id: "212638167216" }],
                messages: [
                  {
                    from: "212638167216",
                    id: "wamid.contract-in",
                    timestamp: String(Math.floor(Date.now() / 1000)),
                    type: "text",
                    text: { body: "Yes interested" },
                  },
                ],
              },
            },
          ],
        },
      ],
    });
    expect((await signedPost(payload)).statusCode).toBe(200);
  });

  it("answers 200 to a signed notification for a number nobody connected (an error is not Meta's to retry)", async () => {
    const payload = JSON.stringify({
      object: "whatsapp_business_account",
      entry: [
        {
          id: "waba",
          changes: [
            {
              field: "messages",
              value: {
                messaging_product: "whatsapp",
                metadata: { phone_number_id: "999000999", display_phone_number: "1" },
                messages: [
                  { from: "1", id: "wamid.contract-unknown", timestamp: "1", type: "text", text: { body: "?" } },
                ],
              },
            },
          ],
        },
      ],
    });
    expect((await signedPost(payload)).statusCode).toBe(200);
  });
});
