/**
 * The blocks' and costs' REST answers against their contract (@linkojob/events' strict schemas),
 * through the real ingress (app.inject) on the real MongoDB-protocol server and Redis, with Meta
 * simulated: a key the schema does not name (a subdocument's `_id`, a stored counter, a dedupe key)
 * fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Types } from "mongoose";
import type { z } from "zod";
import {
  blockAnswerSchema,
  blockListSchema,
  clientConnectedSchema,
  clientDisconnectedSchema,
  clientListSchema,
  connectionCheckSchema,
  conversationListSchema,
  conversationPageSchema,
  conversationReadSchema,
  costTotalsSchema,
  erasureSchema,
  flowActionSchema,
  flowKeyListSchema,
  flowKeySchema,
  flowListSchema,
  flowUploadedSchema,
  interviewSlotListSchema,
  mediaUrlSchema,
  onboardingInitiateSchema,
  retentionSchema,
  templateListSchema,
  templateSyncAnswerSchema,
  typingAnswerSchema,
} from "@linkojob/events";
import { messagingState, simTemplate } from "@linkojob/meta-simulator";
import type { NormalizedMessage } from "@linkojob/whatsapp";
import {
  authHeader,
  popupCode,
  seedBusiness,
  startOnboardingHarness,
  type OnboardingHarness,
} from "../onboarding/onboarding.harness.js";
import { storeInbound } from "../ingress.harness.js";

let h: OnboardingHarness;
const recruiter = "recruiter-answers-contract";
let clientId: string;
let wabaId: string;
let connected: unknown;

const inject = async (method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", url: string, payload?: object) => {
  const res = await h.app.inject({
    method,
    url,
    ...(payload !== undefined ? { payload } : {}),
    headers: await authHeader(recruiter),
  });
  return { status: res.statusCode, body: res.json<unknown>(), text: res.body };
};

/** The answer parsed by the contract's schema: no issue, so no key it does not name. */
function fits<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  expect(parsed.error?.issues ?? []).toEqual([]);
  return parsed.data as z.infer<S>;
}

/** A candidate's message stored as the inbound worker stores it; returns the conversation's id. */
async function candidateWrites(phone: string): Promise<string> {
  const tenant = h.db.forTenant(clientId);
  const id = await tenant.conversations.ensure({ candidateKey: phone });
  const at = new Date();
  const message: NormalizedMessage = {
    wamid: `wamid.answers-${phone}-${at.getTime()}`,
    type: "text",
    originalType: "text",
    timestamp: at,
    content: { body: "Bonjour" },
    text: "Bonjour",
  };
  await storeInbound(h.db, tenant.clientId, id, message);
  return id.toHexString();
}

beforeAll(async () => {
  h = await startOnboardingHarness("answers-contract");
  const business = await seedBusiness(h, { phoneNumbers: [{ displayPhoneNumber: "+212 600-777888" }] });
  const res = await h.app.inject({
    method: "POST",
    url: "/api/auth/whatsapp/exchange",
    payload: { code: await popupCode(h, [business.wabaId]) },
    headers: await authHeader(recruiter),
  });
  if (res.statusCode !== 200) throw new Error(`exchange answered ${res.statusCode}: ${res.body}`);
  connected = res.json();
  clientId = res.json().client.id;
  wabaId = business.wabaId;
});
afterAll(async () => {
  await h?.close();
});

describe("/api/clients/:clientId/blocks answers the contract's shapes", () => {
  it("a block already recorded, the list and an unblock fit their strict schemas", async () => {
    const conversationId = await candidateWrites("212611223344");
    // Recorded as blocked already: the POST answers without asking Meta (changed: false).
    const tenant = h.db.forTenant(clientId);
    await tenant.conversations.setBlocked(new Types.ObjectId(conversationId), {
      at: new Date(),
      by: { role: "recruiter", userId: recruiter },
    });
    const path = `/api/clients/${clientId}/blocks`;

    const again = await inject("POST", path, { conversationId });
    expect(again.status, again.text).toBe(200);
    const answer = fits(blockAnswerSchema, again.body);
    expect(answer).toMatchObject({ clientId, conversationId, blocked: true, changed: false });
    expect(answer.blockedAt).toBe(answer.conversation.blockedAt);

    const list = fits(blockListSchema, (await inject("GET", path)).body);
    expect(list.conversations.map((c) => c.id)).toEqual([conversationId]);
    expect(list.nextCursor).toBeNull();

    const unblocked = await inject("DELETE", path, { conversationId });
    expect(unblocked.status, unblocked.text).toBe(200);
    expect(fits(blockAnswerSchema, unblocked.body)).toMatchObject({ blocked: false, changed: true, blockedAt: null });
    // Who blocked stays stored (the conversation's `_id` is a key the contract names).
    expect(JSON.stringify([again.body, list, unblocked.body])).not.toMatch(/"__v"|"blockedBy"/);
  });
});

describe("GET /api/messages/costs answers the contract's shape", () => {
  it("a period with a priced send fits the strict schema", async () => {
    // An outbound row as the outbound worker leaves it once Meta has priced it.
    const conversationId = new Types.ObjectId(await candidateWrites("212638167299"));
    await h.db.messages.collection.insertOne({
      clientId: new Types.ObjectId(clientId),
      conversationId,
      direction: "outbound",
      kind: "template",
      status: "delivered",
      cost: 0.55,
      costExpected: 0.5,
      costCategory: "marketing",
      costSource: "meta",
      dedupeKey: "answers-contract-cost",
      createdAt: new Date(),
    });
    const res = await inject("GET", `/api/messages/costs?clientId=${clientId}&from=2020-01-01`);
    expect(res.status, res.text).toBe(200);
    const totals = fits(costTotalsSchema, res.body);
    expect(totals).toMatchObject({ clientId, currency: "MAD", count: 1, from: "2020-01-01T00:00:00.000Z" });
    expect(totals.byKind).toEqual({ template: { count: 1, cost: 0.55 } });
    expect(res.text).not.toContain("answers-contract-cost");
  });
});

describe("/api/templates answers the contract's shapes", () => {
  it("a sync's answer and the list fit their strict schemas", async () => {
    messagingState(h.sim.state).templates.set(wabaId, [
      simTemplate({ name: "answers_contract", language: "fr", body: "Bonjour {{1}}, votre entretien pour {{2}}" }),
    ]);
    const synced = await inject("POST", "/api/templates/sync", { clientId });
    expect(synced.status, synced.text).toBe(200);
    expect(fits(templateSyncAnswerSchema, synced.body)).toEqual({ success: true, wabaId, count: 1, removed: 0 });

    const list = await inject("GET", `/api/templates?clientId=${clientId}`);
    expect(list.status, list.text).toBe(200);
    const ours = fits(templateListSchema, list.body).templates.find((t) => t.name === "answers_contract");
    expect(ours).toMatchObject({ wabaId, language: "fr", status: "APPROVED", parameterCount: 2 });
    // The parameters' stored positions stay stored.
    expect(list.text).not.toMatch(/"bodyParams"|"headerParams"|"__v"/);
  });
});

describe("GET /api/media/:messageId/url answers the contract's shape", () => {
  it("a media message's signed URL fits the strict schema", async () => {
    const conversationId = new Types.ObjectId(await candidateWrites("212611556677"));
    const { insertedId } = await h.db.messages.collection.insertOne({
      clientId: new Types.ObjectId(clientId),
      conversationId,
      direction: "inbound",
      type: "image",
      wamid: "wamid.answers-contract-media",
      media: { status: "pending", mediaId: "answers-contract-media", attempts: 2 },
      createdAt: new Date(),
    });
    const res = await inject("GET", `/api/media/${insertedId.toHexString()}/url`);
    expect(res.status, res.text).toBe(200);
    const answer = fits(mediaUrlSchema, res.body);
    expect(answer.status).toBe("pending");
    expect(answer.url).toMatch(new RegExp(`^/api/media/${insertedId.toHexString()}\\?sig=`));
    expect(res.text).not.toMatch(/"attempts"|"mediaId"/);
  });
});

describe("the conversations' routes answer the contract's shapes", () => {
  it("the list, a conversation's page, a read and a typing indicator fit their strict schemas", async () => {
    const conversationId = await candidateWrites("212611889900");
    const list = await inject("GET", `/api/messages/conversations?clientId=${clientId}&limit=100`);
    expect(list.status, list.text).toBe(200);
    const listed = fits(conversationListSchema, list.body);
    expect(listed.conversations.map((c) => c.id)).toContain(conversationId);
    expect(listed.total).toBeGreaterThanOrEqual(1);

    const page = await inject("GET", `/api/messages/conversation/${conversationId}?clientId=${clientId}`);
    expect(page.status, page.text).toBe(200);
    const read = fits(conversationPageSchema, page.body);
    expect(read).toMatchObject({ conversation: { id: conversationId }, nextCursor: null, hasMore: false });
    expect(read.messages).toHaveLength(1);
    // The dedupe key, count claim and raw webhook stay stored.
    expect(page.text).not.toMatch(/"dedupeKey"|"countClaim"|"raw"|"__v"/);

    const marked = await inject("PATCH", `/api/messages/conversation/${conversationId}/read?clientId=${clientId}`);
    expect(marked.status, marked.text).toBe(200);
    expect(fits(conversationReadSchema, marked.body)).toEqual({ success: true });

    const typing = await inject("POST", `/api/messages/conversation/${conversationId}/typing?clientId=${clientId}`);
    expect(typing.status, typing.text).toBe(202);
    expect(fits(typingAnswerSchema, typing.body)).toMatchObject({ success: true });
  });
});

describe("the personal-data routes answer the contract's shapes", () => {
  it("retention (read and set) and an erasure (requested and read) fit their strict schemas; no identifier leaves", async () => {
    const path = `/api/clients/${clientId}/retention`;
    expect(fits(retentionSchema, (await inject("GET", path)).body)).toMatchObject({ clientId, overrides: {} });
    const set = await inject("PUT", path, { messagesMonths: 12, deadLettersDays: null });
    expect(set.status, set.text).toBe(200);
    expect(fits(retentionSchema, set.body)).toMatchObject({
      messagesMonths: 12,
      deadLettersDays: null,
      overrides: { messagesMonths: 12, deadLettersDays: null },
    });

    const phone = "212611334455";
    await candidateWrites(phone);
    const erase = `/api/clients/${clientId}/candidates/erase`;
    const requested = await inject("POST", erase, { candidatePhone: phone, reason: "the candidate asked by mail" });
    expect(requested.status, requested.text).toBe(202);
    const erasure = fits(erasureSchema, requested.body);
    expect(erasure.clientIds).toEqual([clientId]);
    const read = await inject("GET", `${erase}/${erasure.erasureId}`);
    expect(read.status, read.text).toBe(200);
    fits(erasureSchema, read.body);
    expect(requested.text + read.text).not.toMatch(new RegExp(`${phone}|the candidate asked|"requestedBy"`));
  });
});

describe("the flows routes answer the contract's shapes", () => {
  it("a created flow, the list, a publish, the keys and the interview slots fit their strict schemas", async () => {
    const base = `/api/clients/${clientId}/flows`;
    const created = await inject("POST", base, { name: "answers_contract", categories: ["APPOINTMENT_BOOKING"] });
    expect(created.status, created.text).toBe(201);
    const flow = fits(flowUploadedSchema, created.body);
    const list = await inject("GET", base);
    expect(list.status, list.text).toBe(200);
    expect(fits(flowListSchema, list.body).flows.map((f) => f.id)).toContain(flow.id);
    const deleted = await inject("DELETE", `${base}/${flow.id}`);
    expect(deleted.status, deleted.text).toBe(200);
    expect(fits(flowActionSchema, deleted.body)).toEqual({ success: true });

    const key = await inject("POST", `${base}/keys`);
    expect(key.status, key.text).toBe(201);
    fits(flowKeySchema, key.body);
    const keys = await inject("GET", `${base}/keys`);
    expect(fits(flowKeyListSchema, keys.body).keys).toHaveLength(1);
    // The private key never leaves the vault.
    expect(key.text + keys.text).not.toMatch(/PRIVATE KEY|"privateKey"/);

    const slots = { slots: [{ id: "s1", title: "Lundi 10h", startsAt: "2026-12-14T10:00:00.000Z" }] };
    const set = await inject("PUT", `${base}/interview-slots`, slots);
    expect(set.status, set.text).toBe(200);
    expect(fits(interviewSlotListSchema, set.body).slots).toEqual([{ ...slots.slots[0], description: null }]);
    fits(interviewSlotListSchema, (await inject("GET", `${base}/interview-slots`)).body);
  });
});

describe("the onboarding routes answer the contract's shapes", () => {
  it("connect, initiate, the connections, a check and a disconnect fit their strict schemas; no token leaves", async () => {
    expect(fits(clientConnectedSchema, connected)).toMatchObject({ success: true, client: { id: clientId } });
    expect(fits(onboardingInitiateSchema, (await inject("POST", "/api/auth/whatsapp/initiate")).body).oauthUrl).toMatch(
      /\/dialog\/oauth\?/,
    );
    const list = await inject("GET", "/api/auth/whatsapp/clients");
    expect(fits(clientListSchema, list.body).clients.map((c) => c.id)).toContain(clientId);
    expect(list.text).not.toMatch(/"accessToken"|"__v"/);

    const checked = await inject("POST", `/api/auth/whatsapp/check?clientId=${clientId}`);
    expect(checked.status, checked.text).toBe(200);
    expect(fits(connectionCheckSchema, checked.body)).toMatchObject({ ok: true, client: { status: "active" } });

    // Last: the other tests use the connection.
    const gone = await inject("DELETE", `/api/auth/whatsapp/disconnect?clientId=${clientId}`);
    expect(gone.status, gone.text).toBe(200);
    expect(fits(clientDisconnectedSchema, gone.body)).toEqual({ success: true });
  });
});

// The schemas refuse what they do not name: the checks above can fail.
it("a key the contract does not name fails its schema", () => {
  const line = { count: 1, cost: 0.5 };
  const totals = {
    clientId: "0".repeat(24),
    from: "2026-01-01T00:00:00.000Z",
    to: "2026-02-01T00:00:00.000Z",
    currency: "MAD",
    total: 0.5,
    count: 1,
    byCategory: { marketing: line },
    byKind: { template: line },
    estimated: { total: 0.5, count: 1, byCategory: { marketing: line } },
    billed: { total: 0, count: 0, billable: 0, free: 0, byCategory: {} },
    unpriced: { count: 1, estimated: 0.5 },
  };
  expect(costTotalsSchema.safeParse(totals).success).toBe(true);
  expect(costTotalsSchema.safeParse({ ...totals, byKind: { template: { ...line, _id: "x" } } }).success).toBe(false);
  expect(blockListSchema.safeParse({ clientId: totals.clientId, conversations: [], nextCursor: null }).success).toBe(
    true,
  );
  expect(
    blockListSchema.safeParse({ clientId: totals.clientId, conversations: [], nextCursor: null, total: 0 }).success,
  ).toBe(false);
});
