import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { io as connect, type Socket } from "socket.io-client";
import {
  contactOf,
  delivery,
  inboundMessage,
  messagesValue,
  newUserId,
  systemContent,
  systemMessagesDelivery,
  userIdForPhone,
} from "@linkojob/meta-simulator";
import { createRedis } from "@linkojob/queues";
import { createRealtimeServer, type RealtimeServer } from "@linkojob/realtime";
import { TEST_SECRETS, eventually, tokenFor } from "@linkojob/testing";
import type { ClientDoc } from "@linkojob/db";
import { EVENTS, type ConversationPayload, type MessagePayload } from "@linkojob/events";
import { startTrunk, type Trunk } from "../harness/trunk.harness.js";
import { isEvent, recordEvents, type ReceivedEvent } from "../harness/dashboard-events.harness.js";

/**
 * One conversation per person, whichever id a message carries (phone, business-scoped user id, or
 * both), and identity changes that move the conversation to the new id with its history. Real
 * parts: the simulator's control API builds and signs the deliveries, the ingress queues them, the
 * worker stores them in the MongoDB-protocol server, the realtime server relays the events.
 */
let t: Trunk;
let client: ClientDoc;
let realtime: { server: RealtimeServer; pub: Redis; sub: Redis; url: string };
let socket: Socket;
let received: ReceivedEvent[] = [];
let seq = 0;
const phone = () => `2126${String(Date.now() % 1_000_000).padStart(6, "0")}${String(++seq).padStart(2, "0")}`;

beforeAll(async () => {
  t = await startTrunk({ label: "identity" });
  client = await t.createClient();
  const pub = createRedis(t.services.redisUrl);
  const sub = createRedis(t.services.redisUrl, { autoPipelining: false });
  const server = createRealtimeServer({ pub, sub, db: t.db, jwtSecret: TEST_SECRETS.jwtSecret });
  const port = await server.listen(0, "127.0.0.1");
  realtime = { server, pub, sub, url: `http://127.0.0.1:${port}` };
  socket = connect(realtime.url, {
    transports: ["websocket"],
    auth: { token: await tokenFor(client.userId) },
    reconnection: false,
  });
  received = recordEvents(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once("auth:session", () => resolve());
    socket.once("connect_error", reject);
  });
});
afterAll(async () => {
  socket?.disconnect();
  if (realtime) {
    await realtime.server.close();
    await Promise.allSettled([realtime.pub.quit(), realtime.sub.quit()]);
  }
  await t?.close();
});

const business = () => ({ phoneNumberId: client.phoneNumberId, wabaId: client.wabaId });

async function sim<Extra = unknown>(path: string, body: Record<string, unknown>) {
  const res = await fetch(`${t.sim.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...business(), ...body }),
  });
  const answer = (await res.json()) as { delivery: { status: number }; wamid: string } & Extra;
  expect(res.status, JSON.stringify(answer)).toBe(200);
  expect(answer.delivery.status).toBe(200);
  await t.drain();
  return answer;
}

const conversations = () => t.db.conversations.find({ clientId: client._id }).lean();
const byUserId = (userId: string) => t.db.conversations.find({ clientId: client._id, candidateUserId: userId }).lean();
const byPhone = (p: string) => t.db.conversations.find({ clientId: client._id, candidatePhone: p }).lean();

async function rest<T>(url: string): Promise<T> {
  const res = await t.app.inject({
    method: "GET",
    url,
    headers: { authorization: `Bearer ${await tokenFor(client.userId)}` },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<T>();
}

describe("people without a phone number (business-scoped user ids)", () => {
  it("a username-only candidate gets a conversation the recruiter reads over REST; the same person later showing a phone keeps it", async () => {
    const userId = newUserId("MA");
    await sim("/_sim/candidates/reply", {
      userId,
      name: "Salma",
      username: "salma.dev",
      type: "text",
      text: "Bonjour, je postule",
    });

    const [conv] = await byUserId(userId);
    expect(conv).toMatchObject({
      candidateKey: userId,
      candidateUserId: userId,
      candidateUsername: "salma.dev",
      candidateName: "Salma",
      messageCount: 1,
    });
    expect(conv!.candidatePhone ?? null).toBeNull();

    const list = await rest<{ conversations: ConversationPayload[] }>("/api/messages/conversations?limit=100");
    const listed = list.conversations.find((c) => c.id === conv!._id.toHexString());
    expect(listed).toMatchObject({
      candidateUserId: userId,
      candidatePhone: null,
      candidateUsername: "salma.dev",
      unreadCount: 1,
    });
    const thread = await rest<{ messages: MessagePayload[] }>(`/api/messages/conversation/${conv!._id.toHexString()}`);
    expect(thread.messages.map((m) => m.text)).toEqual(["Bonjour, je postule"]);

    // She shows her number now: same conversation, both ids recorded.
    const p = phone();
    await sim("/_sim/candidates/reply", {
      from: p,
      userId,
      name: "Salma",
      type: "text",
      text: "Mon numéro est visible",
    });
    const after = await byUserId(userId);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({
      _id: conv!._id,
      candidateKey: userId,
      candidatePhone: p,
      candidateUserId: userId,
      messageCount: 2,
    });
    expect(await byPhone(p)).toHaveLength(1);

    // And hides it again: still the same conversation.
    await sim("/_sim/candidates/reply", { userId, type: "text", text: "Numéro caché de nouveau" });
    expect((await byUserId(userId)).map((c) => [c._id.toHexString(), c.messageCount])).toEqual([
      [conv!._id.toHexString(), 3],
    ]);

    // The send API's lookup finds it by either id, and creates nothing.
    const tenant = t.db.forTenant(client._id);
    expect((await tenant.conversations.ensure({ candidateKey: userId, candidateUserId: userId })).toHexString()).toBe(
      conv!._id.toHexString(),
    );
    expect((await tenant.conversations.ensure({ candidateKey: p, candidatePhone: p })).toHexString()).toBe(
      conv!._id.toHexString(),
    );
    expect(await byUserId(userId)).toHaveLength(1);
  });

  it("a message with the phone, then one with the user id only: one conversation", async () => {
    const p = phone();
    // The simulator adds the person's user id to a message given by phone, as Meta does since 2026.
    await sim("/_sim/candidates/reply", { from: p, name: "Karim", type: "text", text: "Salam" });
    const userId = userIdForPhone(p);
    await sim("/_sim/candidates/reply", { userId, type: "text", text: "C'est encore moi" });
    const convs = await byUserId(userId);
    expect(convs).toHaveLength(1);
    expect(convs[0]).toMatchObject({ candidateKey: p, candidatePhone: p, candidateUserId: userId, messageCount: 2 });

    // The send API opens the same conversation whether the recruiter names the phone or the user id.
    const conversations = t.db.forTenant(client._id).conversations;
    for (const named of [
      { candidatePhone: null, candidateUserId: userId },
      { candidatePhone: p, candidateUserId: null },
    ]) {
      expect((await conversations.openForSend(named))._id.toHexString()).toBe(convs[0]!._id.toHexString());
    }
    expect(await byUserId(userId)).toHaveLength(1);
  });

  it("a legacy phone-only conversation learns the user id from the first message that carries both", async () => {
    const p = phone();
    await sim("/_sim/candidates/reply", { from: p, userId: null, type: "text", text: "Ancien format" });
    const legacy = await byPhone(p);
    expect(legacy).toHaveLength(1);
    expect(legacy[0]!.candidateUserId ?? null).toBeNull();
    const userId = newUserId("MA");
    await sim("/_sim/candidates/reply", { from: p, userId, type: "text", text: "Nouveau format" });
    await sim("/_sim/candidates/reply", { userId, type: "text", text: "Sans numéro" });
    const convs = await byPhone(p);
    expect(convs).toHaveLength(1);
    expect(convs[0]).toMatchObject({ candidateKey: p, candidateUserId: userId, messageCount: 3 });
  });

  it("a new person's messages with the phone only, both ids, and the user id only, in one delivery (one batch): one conversation", async () => {
    const p = phone();
    const userId = newUserId("MA");
    const biz = business();
    const payload = delivery([
      {
        wabaId: biz.wabaId,
        changes: [
          {
            field: "messages",
            value: messagesValue(biz, {
              contacts: [contactOf({ waId: p, userId, name: "Nadia" })],
              messages: [
                inboundMessage({ waId: p, userId: null }, "text", { body: "un" }),
                inboundMessage({ userId }, "text", { body: "deux" }),
                inboundMessage({ waId: p, userId }, "text", { body: "trois" }),
              ],
            }),
          },
        ],
      },
    ]);
    expect((await t.sim.deliver(payload)).status).toBe(200);
    await t.drain();
    const convs = (await conversations()).filter(
      (c) => c.candidatePhone === p || c.candidateUserId === userId || c.candidateKey === p,
    );
    expect(convs).toHaveLength(1);
    expect(convs[0]).toMatchObject({ candidatePhone: p, candidateUserId: userId, messageCount: 3 });
    expect(await t.db.messages.countDocuments({ conversationId: convs[0]!._id })).toBe(3);
  });

  it("the parent user id Meta sends (one id across the portfolio's numbers) is kept on the conversation and shown", async () => {
    const p = phone();
    const parent = "MA.90000000000000000001";
    await sim("/_sim/candidates/reply", { from: p, parentUserId: parent, type: "text", text: "Bonjour" });
    const [conv] = await byPhone(p);
    expect(conv).toMatchObject({ candidatePhone: p, candidateParentUserId: parent });
    const list = await rest<{ conversations: ConversationPayload[] }>("/api/messages/conversations?limit=100");
    expect(list.conversations.find((c) => c.id === conv!._id.toHexString())?.candidateParentUserId).toBe(parent);
  });

  it("user_changed_number moves the conversation to the new number and the regenerated user id, keeps its history and tells the dashboard", async () => {
    const oldPhone = phone();
    const oldUserId = userIdForPhone(oldPhone);
    await sim("/_sim/candidates/reply", { from: oldPhone, name: "Youssef", type: "text", text: "Avant le changement" });
    const [before] = await byPhone(oldPhone);
    const newPhone = phone();
    const since = received.length;
    // Meta regenerates the user id with the number (system.user_id beside previous_user_id).
    const change = await sim<{ identity: { userId: string; previousUserId: string } }>(
      "/_sim/candidates/identity-change",
      {
        change: "number",
        from: oldPhone,
        newWaId: newPhone,
        userId: oldUserId,
      },
    );
    const userId = change.identity.userId;
    expect(change.identity.previousUserId).toBe(oldUserId);
    expect(userId).not.toBe(oldUserId);

    const [after] = await byUserId(userId);
    expect(after).toMatchObject({
      _id: before!._id,
      candidateKey: oldPhone,
      candidatePhone: newPhone,
      candidateUserId: userId,
      messageCount: 2,
    });
    expect(await byUserId(oldUserId)).toHaveLength(0);
    const thread = await rest<{ messages: MessagePayload[] }>(
      `/api/messages/conversation/${before!._id.toHexString()}`,
    );
    expect(thread.messages.map((m) => m.type).sort()).toEqual(["system", "text"]);
    const event = await eventually(() =>
      received
        .slice(since)
        .filter(isEvent(EVENTS.conversationUpdated))
        .find((e) => e.payload.conversationId === before!._id.toHexString() && "candidatePhone" in e.payload.updates),
    );
    expect(event.payload.updates.candidatePhone).toBe(newPhone);
    expect(event.payload.conversation).toMatchObject({ candidatePhone: newPhone, candidateUserId: userId });

    // A message from the new number, even one without the user id, lands in the same conversation.
    await sim("/_sim/candidates/reply", {
      from: newPhone,
      userId: null,
      type: "text",
      text: "Depuis mon nouveau numéro",
    });
    expect((await byPhone(newPhone)).map((c) => [c._id.toHexString(), c.messageCount])).toEqual([
      [before!._id.toHexString(), 3],
    ]);
    expect(await byPhone(oldPhone)).toHaveLength(0);
  });

  it("user_changed_user_id moves the conversation to the new user id (system.user_id, previous_user_id), history kept, dashboard told", async () => {
    const oldUserId = newUserId("MA");
    await sim("/_sim/candidates/reply", { userId: oldUserId, username: "amine.m", type: "text", text: "Bonjour" });
    const [before] = await byUserId(oldUserId);
    const newId = newUserId("MA");
    const since = received.length;
    await sim("/_sim/candidates/identity-change", { change: "user_id", previousUserId: oldUserId, newUserId: newId });

    const [after] = await byUserId(newId);
    expect(after).toMatchObject({ _id: before!._id, candidateKey: oldUserId, candidateUserId: newId, messageCount: 2 });
    expect(await byUserId(oldUserId)).toHaveLength(0);
    const event = await eventually(() =>
      received
        .slice(since)
        .filter(isEvent(EVENTS.conversationUpdated))
        .find((e) => e.payload.conversationId === before!._id.toHexString() && "candidateUserId" in e.payload.updates),
    );
    expect(event.payload.updates.candidateUserId).toBe(newId);

    await sim("/_sim/candidates/reply", { userId: newId, type: "text", text: "Avec mon nouvel identifiant" });
    expect((await byUserId(newId)).map((c) => [c._id.toHexString(), c.messageCount])).toEqual([
      [before!._id.toHexString(), 3],
    ]);
    const thread = await rest<{ messages: MessagePayload[] }>(
      `/api/messages/conversation/${before!._id.toHexString()}`,
    );
    expect(thread.messages.map((m) => m.text)).toContain("Bonjour");
  });

  it("the older customer_changed_number (new_wa_id) still moves the conversation", async () => {
    const oldPhone = phone();
    await sim("/_sim/candidates/reply", { from: oldPhone, userId: null, type: "text", text: "Ancien numéro" });
    const [before] = await byPhone(oldPhone);
    const newPhone = phone();
    await sim("/_sim/candidates/reply", {
      from: oldPhone,
      userId: null,
      type: "system",
      system: {
        type: "customer_changed_number",
        body: `changed from ${oldPhone} to ${newPhone}`,
        waId: oldPhone,
        newWaId: newPhone,
      },
    });
    expect(await byPhone(newPhone)).toMatchObject([{ _id: before!._id, candidateKey: oldPhone, messageCount: 2 }]);
  });
});

describe("a number given up, which the carrier gives to someone else", () => {
  // Meta: user_changed_number carries user_id and previous_user_id (a user id is regenerated with the
  // number). Webhooks are unordered: the new owner's first message may be stored before the change.
  for (const order of ["the number change first", "the new owner's message first"] as const) {
    it(`the new owner never enters the previous owner's thread, who keeps it under the new number and user id (${order})`, async () => {
      const [oldPhone, newPhone] = [phone(), phone()];
      const [before, regenerated, stranger] = [newUserId("MA"), newUserId("MA"), newUserId("MA")];
      const t0 = Math.floor(Date.now() / 1000) - 600;
      const at = (s: number) => String(t0 + s);
      const biz = business();
      const text = (c: { waId?: string; userId?: string | null }, body: string, s: number) =>
        systemMessagesDelivery(biz, [inboundMessage(c, "text", { body }, { timestamp: at(s) })]);
      const deliver = async (payload: unknown) => {
        expect((await t.sim.deliver(payload)).status).toBe(200);
        await t.drain();
      };
      const change = systemMessagesDelivery(biz, [
        inboundMessage(
          { waId: oldPhone, userId: before },
          "system",
          systemContent({
            type: "user_changed_number",
            previousWaId: oldPhone,
            waId: newPhone,
            userId: regenerated,
            previousUserId: before,
          }),
          { timestamp: at(10) },
        ),
      ]);
      // The new owner's first message: an older payload without a user id when the change came first
      // (the key alone would match), with their own user id otherwise.
      const newOwnerFirst = text(
        { waId: oldPhone, userId: order === "the number change first" ? null : stranger },
        "Salam",
        20,
      );

      await deliver(text({ waId: oldPhone, userId: before }, "Mon CV", 0));
      const [thread] = await byUserId(before);
      if (order === "the number change first") {
        await deliver(change);
        await deliver(newOwnerFirst);
      } else {
        await deliver(newOwnerFirst);
        await deliver(change);
      }
      await deliver(text({ waId: newPhone, userId: regenerated }, "Depuis mon nouveau numéro", 30));
      await deliver(text({ waId: oldPhone, userId: stranger }, "Bonjour ?", 40));

      const previousOwner = await t.db.conversations.findById(thread!._id).lean();
      expect(previousOwner).toMatchObject({ candidatePhone: newPhone, candidateUserId: regenerated, messageCount: 3 });
      const stored = await t.db.messages.find({ conversationId: thread!._id }).lean();
      expect(stored.map((m) => m.type).sort()).toEqual(["system", "text", "text"]);
      expect(stored.map((m) => m.text)).toEqual(expect.arrayContaining(["Mon CV", "Depuis mon nouveau numéro"]));
      const newOwner = await byPhone(oldPhone);
      expect(newOwner).toHaveLength(1);
      expect(newOwner[0]!._id.toHexString()).not.toBe(thread!._id.toHexString());
      expect(newOwner[0]).toMatchObject({ candidateUserId: stranger, messageCount: 2 });
      expect(await byUserId(regenerated)).toHaveLength(1);
    });
  }
});
