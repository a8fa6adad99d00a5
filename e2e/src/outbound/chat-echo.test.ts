import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { Types } from "mongoose";
import pino from "pino";
import {
  DashboardEvents,
  conversationUpdatedSchema,
  messageSentSchema,
  type DashboardEventMap,
  type DashboardEventName,
  type MessagePayload,
} from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { normalizeDelivery } from "@linkojob/whatsapp";
import { storeEcho, type EchoEvent } from "@linkojob/inbound-worker";
import { startOutbound, type OutboundRig } from "../harness/outbound.harness.js";

let rig: OutboundRig;
beforeAll(async () => {
  rig = await startOutbound("outecho");
});
afterAll(async () => {
  await rig?.close();
});

let phoneSeq = 0;
const newPhone = () => `2126${String(70_000_000 + ++phoneSeq * 7919).slice(-8)}`;

async function echo(body: Record<string, unknown>) {
  const res = await request(`${rig.trunk.sim.url}/_sim/business/echo`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.body.json()) as { delivery: { status: number }; wamid: string };
  if (res.statusCode !== 200 || json.delivery.status !== 200)
    throw new Error(`echo: ${res.statusCode} ${JSON.stringify(json)}`);
  await rig.trunk.drain();
  return json.wamid;
}

describe("app echoes (smb_message_echoes) on a coexistence number", () => {
  it("a message typed in the WhatsApp Business app appears in the conversation as outbound, once", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Bonjour, j'ai postulé hier", 60_000);
    const conv = (await rig.trunk.db.conversations.findOne({ clientId: c._id, candidatePhone: phone }).lean())!;

    const wamid = await echo({
      phoneNumberId: c.phoneNumberId,
      wabaId: c.wabaId,
      to: phone,
      text: "Je vous appelle à 15 h",
    });
    const stored = await rig.trunk.db.messages.find({ clientId: c._id, wamid }).lean();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      conversationId: conv._id,
      direction: "outbound",
      source: "app_echo",
      type: "text",
      text: "Je vous appelle à 15 h",
      status: "sent",
    });
    const after = (await rig.trunk.db.conversations.findById(conv._id).lean())!;
    expect(after).toMatchObject({
      messageCount: conv.messageCount + 1,
      lastMessageFrom: "recruiter",
      lastMessagePreview: "Je vous appelle à 15 h",
    });

    // Meta delivers it again: still one message, counted once.
    await echo({
      phoneNumberId: c.phoneNumberId,
      wabaId: c.wabaId,
      to: phone,
      text: "Je vous appelle à 15 h",
      id: wamid,
    });
    expect(await rig.trunk.db.messages.countDocuments({ clientId: c._id, wamid })).toBe(1);
    expect((await rig.trunk.db.conversations.findById(conv._id).lean())!.messageCount).toBe(conv.messageCount + 1);

    // The inbox API shows it among the conversation's messages, from the recruiter.
    const page = await request(`${rig.trunk.ingressUrl}/api/messages/conversation/${conv._id.toHexString()}`, {
      headers: { authorization: `Bearer ${c.jwt}` },
    });
    const { messages } = (await page.body.json()) as { messages: MessagePayload[] };
    expect(messages.find((x) => x.wamid === wamid)).toMatchObject({
      direction: "outbound",
      from: "recruiter",
      source: "app_echo",
      text: "Je vous appelle à 15 h",
    });
  });

  it("an echo to a username-only candidate finds the conversation by user id; a new candidate gets one", async () => {
    const c = await rig.client();
    const userId = `MA.${Date.now()}${phoneSeq++}`;
    const wamid = await echo({
      phoneNumberId: c.phoneNumberId,
      wabaId: c.wabaId,
      toUserId: userId,
      text: "Bonjour depuis l'application",
    });
    const m = (await rig.trunk.db.messages.findOne({ clientId: c._id, wamid }).lean())!;
    const conv = (await rig.trunk.db.conversations.findById(m.conversationId).lean())!;
    expect(conv).toMatchObject({ candidateUserId: userId, messageCount: 1, lastMessageFrom: "recruiter" });
    const again = await echo({
      phoneNumberId: c.phoneNumberId,
      wabaId: c.wabaId,
      toUserId: userId,
      text: "Un second message",
    });
    expect((await rig.trunk.db.messages.findOne({ clientId: c._id, wamid: again }).lean())!.conversationId).toEqual(
      conv._id,
    );
  });

  it("an echo naming the phone finds the conversation a username-only candidate started (by user id): no second conversation", async () => {
    const c = await rig.client();
    const userId = `MA.${Date.now()}${++phoneSeq}`;
    const res = await request(`${rig.trunk.sim.url}/_sim/candidates/reply`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        phoneNumberId: c.phoneNumberId,
        wabaId: c.wabaId,
        userId,
        type: "text",
        text: "Bonjour, je préfère garder mon numéro privé",
      }),
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    await rig.trunk.drain();
    const started = (await rig.trunk.db.conversations.findOne({ clientId: c._id }).lean())!;
    expect(started.candidateKey).toBe(userId);
    const wamid = await echo({
      phoneNumberId: c.phoneNumberId,
      wabaId: c.wabaId,
      to: newPhone(),
      toUserId: userId,
      text: "Bien reçu",
    });
    expect((await rig.trunk.db.messages.findOne({ clientId: c._id, wamid }).lean())!.conversationId).toEqual(
      started._id,
    );
    expect(await rig.trunk.db.conversations.countDocuments({ clientId: c._id })).toBe(1);
  });

  it("announces message:sent and conversation:updated in the event contract's shapes", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Bonjour", 60_000);
    const wamid = `wamid.echo${new Types.ObjectId().toHexString()}`;
    const [event] = normalizeDelivery({
      object: "whatsapp_business_account",
      entry: [
        {
          id: c.wabaId,
          changes: [
            {
              field: "smb_message_echoes",
              value: {
                messaging_product: "whatsapp",
                metadata: { display_phone_number: "212500000000", phone_number_id: c.phoneNumberId },
                message_echoes: [
                  {
                    from: "212500000000",
                    to: phone,
                    id: wamid,
                    timestamp: String(Math.floor(Date.now() / 1000)),
                    type: "text",
                    text: { body: "Rendez-vous confirmé" },
                  },
                ],
              },
            },
          ],
        },
      ],
    });
    // The real emitter (it publishes on Redis), recording what it is asked to send.
    const redis = createRedis(rig.trunk.services.redisUrl);
    const sent: Array<{ event: string; payload: unknown }> = [];
    class Recording extends DashboardEvents {
      override toClient<E extends DashboardEventName>(clientId: string, name: E, payload: DashboardEventMap[E]): void {
        sent.push({ event: name, payload });
        super.toClient(clientId, name, payload);
      }
    }
    try {
      const deps = { db: rig.trunk.db, events: new Recording(redis), logger: pino({ level: "silent" }) };
      expect(await storeEcho(deps, c._id, event as EchoEvent, new Date())).toBe("stored");
      expect(await storeEcho(deps, c._id, event as EchoEvent, new Date())).toBe("duplicate");
    } finally {
      await redis.quit();
    }
    expect(sent.map((e) => e.event)).toEqual(["message:sent", "conversation:updated"]);
    const msg = messageSentSchema.parse(sent[0]!.payload);
    expect(msg).toMatchObject({
      clientId: c._id.toHexString(),
      wamid,
      status: "sent",
      message: { direction: "outbound", text: "Rendez-vous confirmé" },
    });
    const conv = conversationUpdatedSchema.parse(sent[1]!.payload);
    expect(conv.conversation).toMatchObject({
      lastMessageFrom: "recruiter",
      lastMessagePreview: "Rendez-vous confirmé",
      messageCount: 2,
    });
  });

  it("an echo for a number no client has is recorded as unrouted, nothing stored", async () => {
    const wamid = await echo({ phoneNumberId: "999000111222", wabaId: "888000111222", to: newPhone(), text: "x" });
    expect(await rig.trunk.db.messages.countDocuments({ wamid })).toBe(0);
    expect(
      await rig.trunk.db.webhookEvents.countDocuments({ kind: "unrouted", field: "smb_message_echoes" }),
    ).toBeGreaterThanOrEqual(1);
  });
});
