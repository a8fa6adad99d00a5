import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  contactOf,
  delivery,
  inboundMessage,
  messagesValue,
  newWamid,
  statusObject,
  textMessageDelivery,
} from "@linkojob/meta-simulator";
import { eventually, tokenFor, sentOutboundMessage } from "@linkojob/testing";
import { CLIENTS_CHANGED_CHANNEL, type ConversationPayload, type MessagePayload } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import type { ClientDoc } from "@linkojob/db";
import { startTrunk, type Trunk } from "../harness/trunk.harness.js";

let t: Trunk;
let client: ClientDoc;
const business = () => ({ wabaId: client.wabaId, phoneNumberId: client.phoneNumberId });

beforeAll(async () => {
  t = await startTrunk({ label: "inbound" });
  client = await t.createClient();
});
afterAll(async () => t?.close());

async function listConversations(c: ClientDoc) {
  const res = await t.app.inject({
    method: "GET",
    url: `/api/messages/conversations?limit=100`,
    headers: { authorization: `Bearer ${await tokenFor(c.userId)}` },
  });
  expect(res.statusCode).toBe(200);
  return res.json<{ conversations: ConversationPayload[]; total: number; hasMore: boolean }>();
}

async function readConversation(c: ClientDoc, id: string, query = "") {
  const res = await t.app.inject({
    method: "GET",
    url: `/api/messages/conversation/${id}?limit=200${query}`,
    headers: { authorization: `Bearer ${await tokenFor(c.userId)}` },
  });
  expect(res.statusCode).toBe(200);
  return res.json<{
    conversation: ConversationPayload;
    messages: MessagePayload[];
    nextCursor: string | null;
    hasMore: boolean;
  }>();
}

describe("inbound path: Meta → ingress → Redis → worker → MongoDB → read API", () => {
  it("stores French, Arabic and emoji text exactly as the candidate wrote it", async () => {
    const texts = [
      "Bonjour, je suis très intéressée par le poste à Rabat",
      "مرحبا، أنا مهتم بالوظيفة",
      "Merci 🙏🏽 à bientôt 👋",
    ];
    const ts = Math.floor(Date.now() / 1000) - 60;
    for (const [i, text] of texts.entries()) {
      const res = await t.sim.deliver(
        textMessageDelivery(business(), { waId: "212612345678", name: "Salma Benali" }, text, {
          timestamp: String(ts + i),
        }),
      );
      expect(res.status).toBe(200);
    }
    await t.drain();
    const { conversations, total } = await listConversations(client);
    expect(total).toBe(1);
    const conv = conversations[0]!;
    expect(conv).toMatchObject({
      candidateKey: "212612345678",
      candidatePhone: "212612345678",
      candidateName: "Salma Benali",
      messageCount: 3,
      unreadCount: 3,
      lastMessageFrom: "candidate",
      lastMessagePreview: texts[2],
      inWindow: true,
    });
    expect(conv.windowExpiresAt).toBe(new Date((ts + 2) * 1000 + 24 * 3600_000).toISOString());
    const { messages } = await readConversation(client, conv.id);
    expect(messages.map((m) => m.text)).toEqual([...texts].reverse());
    expect(messages.every((m) => m.direction === "inbound" && m.from === "candidate" && m.type === "text")).toBe(true);
  });

  it("stores every message of a batch of 3 entries with several changes and messages", async () => {
    const other = await t.createClient();
    const biz = { wabaId: other.wabaId, phoneNumberId: other.phoneNumberId };
    const base = Math.floor(Date.now() / 1000) - 300;
    const entries = [0, 1, 2].map((e) => ({
      wabaId: other.wabaId,
      changes: [0, 1].map((c) => ({
        field: "messages",
        value: messagesValue(biz, {
          contacts: [contactOf({ waId: `21270000000${e}`, name: `Candidate ${e}` })],
          messages: [0, 1, 2].map((m) =>
            inboundMessage(
              { waId: `21270000000${e}` },
              "text",
              { body: `entry ${e} change ${c} message ${m}` },
              { timestamp: String(base + e * 10 + c * 3 + m) },
            ),
          ),
        }),
      })),
    }));
    expect((await t.sim.deliver(delivery(entries))).status).toBe(200);
    await t.drain();
    const { conversations, total } = await listConversations(other);
    expect(total).toBe(3);
    for (const conv of conversations) {
      expect(conv.messageCount).toBe(6);
      const { messages } = await readConversation(other, conv.id);
      expect(messages).toHaveLength(6);
    }
    expect(await t.db.messages.countDocuments({ clientId: other._id })).toBe(18);
  });

  it("records a number that belongs to no client and does not retry it", async () => {
    const res = await t.sim.deliver(
      textMessageDelivery({ wabaId: "999", phoneNumberId: "no-such-number" }, { waId: "212600000001" }, "hello?"),
    );
    expect(res.status).toBe(200);
    await t.drain();
    const unrouted = await t.db.webhookEvents.find({ kind: "unrouted", phoneNumberId: "no-such-number" }).lean();
    expect(unrouted).toHaveLength(1);
    expect(await t.worker.queue.getJobCounts("failed", "delayed")).toEqual({ failed: 0, delayed: 0 });
  });

  it("a delivery that names a tenant's number under another WABA (entry.id) reaches no tenant: recorded as unrouted", async () => {
    const forged = { wabaId: `${client.wabaId}9`, phoneNumberId: client.phoneNumberId };
    const res = await t.sim.deliver(textMessageDelivery(forged, { waId: "212600000031" }, "forged entry"));
    expect(res.status).toBe(200);
    await t.drain();
    expect(
      await t.db.webhookEvents.countDocuments({
        kind: "unrouted",
        wabaId: forged.wabaId,
        phoneNumberId: client.phoneNumberId,
      }),
    ).toBe(1);
    expect(await t.db.messages.countDocuments({ clientId: client._id, text: "forged entry" })).toBe(0);
    // The same number under its own WABA still routes.
    await t.sim.deliver(textMessageDelivery(business(), { waId: "212600000031" }, "genuine entry"));
    await t.drain();
    expect(await t.db.messages.countDocuments({ clientId: client._id, text: "genuine entry" })).toBe(1);
  });

  it("notices a newly connected number at once through clients:changed", async () => {
    const phoneNumberId = `new-${Date.now()}`;
    const biz = { wabaId: "777", phoneNumberId };
    await t.sim.deliver(textMessageDelivery(biz, { waId: "212600000002" }, "before connect"));
    await t.drain();
    expect(await t.db.webhookEvents.countDocuments({ kind: "unrouted", phoneNumberId })).toBe(1);
    // Connecting the number publishes on clients:changed (the onboarding flow does this).
    const fresh = await t.createClient({ phoneNumberId, wabaId: "777" });
    const pub = createRedis(t.services.redisUrl);
    await pub.publish(CLIENTS_CHANGED_CHANNEL, JSON.stringify({ clientId: fresh._id.toString(), phoneNumberId }));
    await pub.quit();
    // Well within the 5 s negative cache: only the invalidation can make this route now.
    await eventually(
      async () => {
        await t.sim.deliver(textMessageDelivery(biz, { waId: "212600000002" }, `after connect ${Date.now()}`));
        await t.drain();
        return (await t.db.messages.countDocuments({ clientId: fresh._id })) > 0;
      },
      3_000,
      100,
    );
  });

  it("keeps the business-scoped user id as the candidate key when wa_id is absent", async () => {
    const c = await t.createClient();
    const payload = delivery([
      {
        wabaId: c.wabaId,
        changes: [
          {
            field: "messages",
            value: messagesValue(
              { wabaId: c.wabaId, phoneNumberId: c.phoneNumberId },
              {
                contacts: [{ profile: { name: "Hidden Number" }, user_id: "MA.123456789" }],
                messages: [
                  {
                    from_user_id: "MA.123456789",
                    id: newWamid(),
                    timestamp: String(Math.floor(Date.now() / 1000)),
                    type: "text",
                    text: { body: "salam" },
                  },
                ],
              },
            ),
          },
        ],
      },
    ]);
    expect((await t.sim.deliver(payload)).status).toBe(200);
    await t.drain();
    const { conversations } = await listConversations(c);
    expect(conversations).toHaveLength(1);
    expect(conversations[0]).toMatchObject({
      candidateKey: "MA.123456789",
      candidateUserId: "MA.123456789",
      candidatePhone: null,
      candidateName: "Hidden Number",
    });
  });

  it("moves outbound statuses forward only, keeps failure details and pricing, and waits for unknown messages", async () => {
    const c = await t.createClient();
    const biz = { wabaId: c.wabaId, phoneNumberId: c.phoneNumberId };
    const tenant = t.db.forTenant(c._id);
    const convId = await tenant.conversations.ensure({ candidateKey: "212611111111", candidatePhone: "212611111111" });
    const wamidA = newWamid();
    const wamidB = newWamid();
    const now = new Date();
    for (const [wamid, key] of [
      [wamidA, "a"],
      [wamidB, "b"],
    ] as const) {
      await t.db.messages.collection.insertOne(
        sentOutboundMessage({
          clientId: c._id,
          conversationId: convId,
          dedupeKey: `out:${key}`,
          wamid,
          type: "template",
          text: "hello",
          at: now,
        }),
      );
    }
    const ts = Math.floor(Date.now() / 1000);
    const pricing = { billable: true, pricing_model: "PMP", type: "regular", category: "marketing" };
    // read before delivered, a late sent, and a duplicate read
    await t.sim.deliver(
      statusDeliveryOf(biz, [statusObject(wamidA, "read", "212611111111", { timestamp: String(ts + 5) })]),
    );
    await t.sim.deliver(
      statusDeliveryOf(biz, [
        statusObject(wamidA, "delivered", "212611111111", { timestamp: String(ts + 3), pricing }),
      ]),
    );
    await t.sim.deliver(
      statusDeliveryOf(biz, [statusObject(wamidA, "sent", "212611111111", { timestamp: String(ts + 1) })]),
    );
    await t.sim.deliver(
      statusDeliveryOf(biz, [statusObject(wamidA, "read", "212611111111", { timestamp: String(ts + 5) })]),
    );
    await t.sim.deliver(
      statusDeliveryOf(biz, [
        statusObject(wamidB, "failed", "212611111111", {
          timestamp: String(ts + 2),
          errors: [
            {
              code: 131026,
              title: "Message undeliverable",
              message: "Message undeliverable",
              error_data: { details: "Receiver is incapable of receiving this message" },
            },
          ],
        }),
        statusObject(wamidB, "sent", "212611111111", { timestamp: String(ts + 1) }),
      ]),
    );
    // A status for a message not stored yet.
    const wamidC = newWamid();
    await t.sim.deliver(
      statusDeliveryOf(biz, [statusObject(wamidC, "delivered", "212611111111", { timestamp: String(ts + 4) })]),
    );
    await t.drain();

    const a = await t.db.messages.findOne({ wamid: wamidA }).lean();
    expect(a!.status).toBe("read");
    expect(a!.pricing).toMatchObject({ billable: true, category: "marketing", pricingModel: "PMP" });
    expect(new Date(a!.statusAt?.delivered ?? NaN).getTime()).toBe((ts + 3) * 1000);
    const b = await t.db.messages.findOne({ wamid: wamidB }).lean();
    expect(b!.status).toBe("failed");
    expect(b!.error).toMatchObject({
      code: 131026,
      title: "Message undeliverable",
      details: "Receiver is incapable of receiving this message",
    });
    expect(await t.db.pendingStatuses.countDocuments({ wamid: wamidC })).toBe(1);

    // The message appears (e.g. its send response is processed late): the waiting status applies.
    await t.db.messages.collection.insertOne(
      sentOutboundMessage({
        clientId: c._id,
        conversationId: convId,
        dedupeKey: "out:c",
        wamid: wamidC,
        text: "late",
        at: now,
      }),
    );
    await tenant.messages.applyPendingFor(wamidC);
    expect((await t.db.messages.findOne({ wamid: wamidC }).lean())!.status).toBe("delivered");
    expect(await t.db.pendingStatuses.countDocuments({ wamid: wamidC })).toBe(0);
  });

  it("records account, template and quality updates and account-level errors", async () => {
    const c = await t.createClient();
    const payload = delivery([
      {
        wabaId: c.wabaId,
        time: Math.floor(Date.now() / 1000),
        changes: [
          {
            field: "account_update",
            value: {
              event: "ACCOUNT_RESTRICTION",
              restriction_info: [{ restriction_type: "RESTRICTED_ADD_PHONE_NUMBER_ACTION" }],
            },
          },
        ],
      },
      {
        wabaId: c.wabaId,
        changes: [
          {
            field: "message_template_status_update",
            value: {
              event: "APPROVED",
              message_template_id: 123,
              message_template_name: "application_received",
              message_template_language: "fr",
              reason: null,
            },
          },
          {
            field: "phone_number_quality_update",
            value: { display_phone_number: "212522000001", event: "FLAGGED", current_limit: "TIER_1K" },
          },
          {
            field: "messages",
            value: messagesValue(
              { wabaId: c.wabaId, phoneNumberId: c.phoneNumberId },
              { errors: [{ code: 131042, title: "Business eligibility payment issue" }] },
            ),
          },
        ],
      },
    ]);
    expect((await t.sim.deliver(payload)).status).toBe(200);
    expect((await t.sim.deliver(payload)).status).toBe(200); // redelivered: still recorded once
    await t.drain();
    const events = await t.db.webhookEvents.find({ wabaId: c.wabaId }).lean();
    expect(events.map((e) => e.field).sort()).toEqual([
      "account_update",
      "message_template_status_update",
      "messages",
      "phone_number_quality_update",
    ]);
    expect(events.every((e) => e.valid)).toBe(true);
    expect(events.find((e) => e.kind === "value_errors")!.clientId!.toString()).toBe(c._id.toString());
  });
});

function statusDeliveryOf(biz: { wabaId: string; phoneNumberId: string }, statuses: unknown[]) {
  return delivery([{ wabaId: biz.wabaId, changes: [{ field: "messages", value: messagesValue(biz, { statuses }) }] }]);
}
