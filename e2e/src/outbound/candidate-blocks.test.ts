import { randomBytes, randomInt } from "node:crypto";
import { io as connectSocket, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConversationDoc } from "@linkojob/db";
import { EVENTS, SERVER_EVENT_SCHEMAS } from "@linkojob/events";
import { eventually, testServices, tokenFor } from "@linkojob/testing";
import { startStack, type Stack } from "../harness/stack.harness.js";

/**
 * Blocking a candidate through the whole gateway: the API (recruiter JWT) → Meta's Block Users API
 * on the simulator (with the tenant's token) → the conversation's `blockedAt` → `conversation:blocked`
 * on the recruiter's socket; Meta's limits come back as 4xx; a blocked candidate's messages that
 * still arrive (a redelivery, a late or unordered delivery) are not routed to the recruiter; after an
 * unblock they are again. Real ingress, workers, realtime, Redis and FerretDB; only Meta is simulated.
 */
const tag = randomBytes(3).toString("hex");
let stack: Stack;
const sockets: Socket[] = [];

beforeAll(async () => {
  stack = await startStack({
    services: testServices("blocks-e2e"),
    concurrency: 2,
    statusStepDelayMs: 20,
    client: {
      companyName: "Blocking Recruiting",
      phoneNumberId: `8${randomInt(10_000_000, 99_999_999)}`,
      wabaId: `waba-blocks-${tag}`,
      whatsappNumber: `2125${randomInt(10_000_000, 99_999_999)}`,
    },
  });
}, 60_000);
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await stack?.close();
});

const newPhone = () => `2126${randomInt(10_000_000, 99_999_999)}`;
const business = () => ({ phoneNumberId: stack.client.phoneNumberId, wabaId: stack.client.wabaId });
async function sim<T = { wamid: string }>(method: string, path: string, body?: Record<string, unknown>): Promise<T> {
  const res = await fetch(`${stack.sim.url}${path}`, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer tok-${stack.services.id}` },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const answer = (await res.json()) as T;
  expect(res.status, JSON.stringify(answer)).toBeLessThan(300);
  return answer;
}
/** The candidate writes to the business (the simulator delivers a signed webhook). */
const writes = (from: Record<string, unknown>, text: string, over: Record<string, unknown> = {}) =>
  sim("POST", "/_sim/candidates/reply", { ...business(), type: "text", text, ...from, ...over });

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- API answers read by path
type Json = Record<string, any>;
async function api(method: string, path: string, payload?: unknown, jwt = stack.jwt) {
  const res = await fetch(`${stack.ingressUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${jwt}`, ...(payload ? { "content-type": "application/json" } : {}) },
    ...(payload ? { body: JSON.stringify(payload) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Json };
}
const blocks = () => `/api/clients/${stack.clientId}/blocks`;
/**
 * The candidate's conversation once the inbound worker has counted `messages` in it: its last write to
 * the conversation is done (FerretDB v1, the test database, loses one of two concurrent updates of a
 * document; MongoDB does not), so the block's write that follows is not raced by it.
 */
const conversationOf = (q: Record<string, unknown>, messages = 1) =>
  eventually(async () => {
    const c = await stack.db.conversations.findOne({ clientId: stack.client._id, ...q }).lean<ConversationDoc>();
    return c && c.messageCount >= messages ? c : null;
  });
const messagesIn = (c: ConversationDoc) => stack.db.messages.countDocuments({ conversationId: c._id });
const metaBlocklist = async () =>
  (
    await sim<{ data: Array<{ block_users: Array<{ wa_id?: string; user_id?: string }> }> }>(
      "GET",
      `/v26.0/${stack.client.phoneNumberId}/block_users?limit=100`,
    )
  ).data[0]!.block_users;

async function dashboard(): Promise<Array<{ event: string; payload: Json }>> {
  const socket = connectSocket(stack.realtimeUrl, {
    transports: ["websocket"],
    auth: { token: stack.jwt },
    reconnection: false,
    forceNew: true,
  });
  sockets.push(socket);
  const received: Array<{ event: string; payload: Json }> = [];
  socket.onAny((event: string, payload: Json) => received.push({ event, payload }));
  await new Promise<void>((resolve, reject) => {
    socket.once("auth:session", () => resolve());
    socket.once("connect_error", reject);
  });
  return received;
}

describe("blocking a candidate", () => {
  it("blocks a candidate who wrote today at Meta with the tenant's token, records and announces it; their later deliveries are not routed; unblocking routes them again", async () => {
    const received = await dashboard();
    const phone = newPhone();
    await writes({ from: phone }, `Bonjour ${tag}`);
    const conversation = await conversationOf({ candidatePhone: phone });

    const blocked = await api("POST", blocks(), { candidatePhone: `+${phone}` });
    expect(blocked.status, JSON.stringify(blocked.body)).toBe(200);
    expect(blocked.body).toMatchObject({
      clientId: stack.clientId,
      conversationId: conversation._id.toHexString(),
      blocked: true,
      changed: true,
      blockedAt: expect.any(String),
      conversation: { id: conversation._id.toHexString(), blockedAt: expect.any(String) },
    });
    // At Meta: on this number's blocklist, asked with the tenant's token (the simulator checks a bearer).
    expect(await metaBlocklist()).toEqual(expect.arrayContaining([expect.objectContaining({ wa_id: phone })]));
    const stored = await stack.db.conversations.findById(conversation._id).lean<ConversationDoc>();
    expect(stored?.blockedAt).toBeInstanceOf(Date);
    expect(stored?.blockedBy).toEqual({ role: "recruiter", userId: stack.client.userId });
    const event = await eventually(() => received.find((r) => r.event === EVENTS.conversationBlocked));
    expect(event.payload).toEqual({
      clientId: stack.clientId,
      conversationId: conversation._id.toHexString(),
      blocked: true,
      at: expect.any(String),
      actor: { role: "recruiter", userId: stack.client.userId },
    });
    expect(SERVER_EVENT_SCHEMAS[EVENTS.conversationBlocked].safeParse(event.payload).success).toBe(true);
    // No phone number in the event: it names the conversation only.
    expect(JSON.stringify(event.payload)).not.toContain(phone);

    // Blocking again: already blocked, nothing asked of Meta.
    const again = await api("POST", blocks(), { conversationId: conversation._id.toHexString() });
    expect(again).toMatchObject({ status: 200, body: { blocked: true, changed: false } });

    const listed = await api("GET", blocks());
    expect(listed.status).toBe(200);
    expect(listed.body.conversations.map((c: Json) => c.id)).toContain(conversation._id.toHexString());

    // A delivery that still arrives after the block (Meta's at-least-once redelivery, or an
    // unordered late one): recorded as `blocked`, not stored in the conversation, not announced.
    const late = await writes({ from: phone }, `Message tardif ${tag}`);
    const record = await eventually(() =>
      stack.db.webhookEvents.findOne({ kind: "blocked", "value.wamid": late.wamid }).lean(),
    );
    expect(record).toMatchObject({ clientId: stack.client._id, field: "messages" });
    // Named by its conversation, so that the candidate's erasure finds and deletes it too.
    expect(String((record.value as { conversationId: unknown }).conversationId)).toBe(conversation._id.toHexString());
    expect(JSON.stringify(record)).not.toContain(`Message tardif ${tag}`);
    expect(await stack.db.messages.countDocuments({ wamid: late.wamid })).toBe(0);
    expect(await messagesIn(conversation)).toBe(1);
    expect(received.some((r) => r.event === EVENTS.messageReceived && r.payload.message?.wamid === late.wamid)).toBe(
      false,
    );

    // Unblocked: off Meta's list, the conversation shows it, the candidate's next message is routed.
    const unblocked = await api("DELETE", blocks(), { candidatePhone: phone });
    expect(unblocked).toMatchObject({ status: 200, body: { blocked: false, changed: true, blockedAt: null } });
    expect((await metaBlocklist()).some((u) => u.wa_id === phone)).toBe(false);
    await eventually(() => received.find((r) => r.event === EVENTS.conversationBlocked && r.payload.blocked === false));
    const after = await writes({ from: phone }, `De retour ${tag}`);
    await eventually(() => stack.db.messages.findOne({ wamid: after.wamid }).lean());
    expect(await messagesIn(conversation)).toBe(2);
    await conversationOf({ candidatePhone: phone }, 2);
  });

  it("blocks a username-only candidate by user id (Meta's `user_id`), and drops their later messages", async () => {
    const userId = `MA.${randomInt(100_000_000, 999_999_999)}${tag}`;
    await writes({ userId, username: `candidate_${tag}` }, "Bonjour");
    const conversation = await conversationOf({ candidateUserId: userId });
    const res = await api("POST", blocks(), { candidateUserId: userId });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await metaBlocklist()).toEqual(expect.arrayContaining([expect.objectContaining({ user_id: userId })]));
    const late = await writes({ userId }, "Encore moi");
    await eventually(() => stack.db.webhookEvents.findOne({ kind: "blocked", "value.wamid": late.wamid }).lean());
    expect(await stack.db.messages.countDocuments({ wamid: late.wamid })).toBe(0);
    expect(await messagesIn(conversation)).toBe(1);
  });

  it("answers Meta's limits and bad requests as 4xx JSON naming the problem, and records nothing", async () => {
    // Never wrote: no conversation.
    const unknown = await api("POST", blocks(), { candidatePhone: newPhone() });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: "CANDIDATE_UNKNOWN" } } });

    // Wrote 25 hours ago: Meta refuses (its 24-hour rule), reported with Meta's code.
    const old = newPhone();
    await writes({ from: old }, "Bonjour", { timestamp: String(Math.floor(Date.now() / 1000) - 25 * 3600) });
    const oldConversation = await conversationOf({ candidatePhone: old });
    const stale = await api("POST", blocks(), { candidatePhone: old });
    expect(stale).toMatchObject({
      status: 409,
      body: { error: { code: "CANDIDATE_NOT_RECENT", message: expect.stringMatching(/24 hours/) } },
    });
    expect(stale.body.error.details.metaCode).toBe(139100);
    expect(
      (await stack.db.conversations.findById(oldConversation._id).lean<ConversationDoc>())?.blockedAt ?? null,
    ).toBeNull();

    // The blocklist is full (Meta's 139101; the simulator's limit lowered to what is listed now).
    const full = newPhone();
    await writes({ from: full }, "Bonjour");
    await conversationOf({ candidatePhone: full });
    await sim("PUT", "/_sim/blocking/limit", { limit: Math.max(1, (await metaBlocklist()).length) });
    try {
      const refused = await api("POST", blocks(), { candidatePhone: full });
      expect(refused).toMatchObject({ status: 409, body: { error: { code: "BLOCKLIST_FULL" } } });
      expect(refused.body.error.details.metaCode).toBe(139101);
    } finally {
      await sim("PUT", "/_sim/blocking/limit", { limit: 64_000 });
    }

    // Bad input.
    expect(await api("POST", blocks(), {})).toMatchObject({
      status: 400,
      body: { error: { code: "VALIDATION_ERROR" } },
    });
    expect(await api("POST", blocks(), { candidatePhone: full, conversationId: "0".repeat(24) })).toMatchObject({
      status: 400,
    });
    expect(await api("POST", blocks(), { candidatePhone: "pas un numéro" })).toMatchObject({
      status: 400,
      body: { error: { code: "BAD_REQUEST" } },
    });
    // Another tenant's recruiter cannot block here.
    const stranger = await tokenFor(`someone-else-${tag}`, "recruiter");
    const foreign = await api("POST", blocks(), { candidatePhone: full }, stranger);
    expect([403, 404]).toContain(foreign.status);
    expect(foreign.body.error.code).toEqual(expect.any(String));
  });
});
