import { seededShuffle } from "@linkojob/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contactOf, delivery, inboundMessage, messagesValue } from "@linkojob/meta-simulator";
import type { ClientDoc } from "@linkojob/db";
import { startTrunk, type Trunk } from "../harness/trunk.harness.js";

let t: Trunk;
let client: ClientDoc;

beforeAll(async () => {
  t = await startTrunk({ label: "atleastonce" });
  client = await t.createClient();
});
afterAll(async () => t?.close());

describe("at least once, in any order", () => {
  it("gives each message exactly once and exact summaries when deliveries repeat three times, shuffled", async () => {
    const biz = { wabaId: client.wabaId, phoneNumberId: client.phoneNumberId };
    const candidates = [
      { waId: "212650000001", name: "Youssef" },
      { waId: "212650000002", name: "Imane" },
    ];
    const base = Math.floor(Date.now() / 1000) - 3_600;
    // 2 candidates × 12 messages with distinct Meta timestamps, spread over 8 deliveries.
    const messages = candidates.flatMap((c, ci) =>
      Array.from({ length: 12 }, (_, i) => ({
        c,
        msg: inboundMessage(
          { waId: c.waId },
          "text",
          { body: `${c.name} message ${i}` },
          { timestamp: String(base + i * 60 + ci) },
        ),
      })),
    );
    const deliveries = Array.from({ length: 8 }, (_, d) => {
      const part = messages.filter((_, i) => i % 8 === d);
      return delivery([
        {
          wabaId: biz.wabaId,
          changes: part.map(({ c, msg }) => ({
            field: "messages",
            value: messagesValue(biz, { contacts: [contactOf(c)], messages: [msg] }),
          })),
        },
      ]);
    });
    const posts = seededShuffle([...deliveries, ...deliveries, ...deliveries], 20261124);
    // Several at once, as Meta does.
    for (let i = 0; i < posts.length; i += 6) {
      const results = await Promise.all(posts.slice(i, i + 6).map((p) => t.sim.deliver(p)));
      expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    }
    await t.drain();

    expect(await t.db.messages.countDocuments({ clientId: client._id })).toBe(24);
    const tenant = t.db.forTenant(client._id);
    const { conversations, total } = await tenant.conversations.list(1, 10);
    expect(total).toBe(2);
    for (const [ci, c] of candidates.entries()) {
      const conv = conversations.find((x) => x.candidateKey === c.waId)!;
      const lastTs = (base + 11 * 60 + ci) * 1000;
      expect(conv.messageCount).toBe(12);
      expect(conv.unreadCount).toBe(12);
      expect(conv.candidateName).toBe(c.name);
      expect(conv.lastMessageAt!.getTime()).toBe(lastTs);
      expect(conv.lastInboundAt!.getTime()).toBe(lastTs);
      expect(conv.windowExpiresAt!.getTime()).toBe(lastTs + 24 * 3_600_000);
      expect(conv.lastMessagePreview).toBe(`${c.name} message 11`);
      expect(conv.inWindow).toBe(true);
    }

    // Marking read, then a new message: exactly one unread.
    const first = conversations[0]!;
    await tenant.conversations.markRead(first._id);
    expect((await tenant.conversations.get(first._id))!.unreadCount).toBe(0);
    const again = candidates.find((c) => c.waId === first.candidateKey)!;
    const late = delivery([
      {
        wabaId: biz.wabaId,
        changes: [
          {
            field: "messages",
            value: messagesValue(biz, {
              contacts: [contactOf(again)],
              messages: [inboundMessage(again, "text", { body: "encore moi" })],
            }),
          },
        ],
      },
    ]);
    await t.sim.deliver(late);
    await t.sim.deliver(late);
    await t.drain();
    const after = (await tenant.conversations.get(first._id))!;
    expect(after.unreadCount).toBe(1);
    expect(after.messageCount).toBe(13);
  });

  it("an older delivery arriving last does not move the summary back", async () => {
    const c2 = await t.createClient();
    const biz = { wabaId: c2.wabaId, phoneNumberId: c2.phoneNumberId };
    const who = { waId: "212650000009", name: "Nadia" };
    const now = Math.floor(Date.now() / 1000);
    const newer = delivery([
      {
        wabaId: biz.wabaId,
        changes: [
          {
            field: "messages",
            value: messagesValue(biz, {
              contacts: [contactOf({ ...who, name: "Nadia B." })],
              messages: [inboundMessage(who, "text", { body: "newer" }, { timestamp: String(now) })],
            }),
          },
        ],
      },
    ]);
    const older = delivery([
      {
        wabaId: biz.wabaId,
        changes: [
          {
            field: "messages",
            value: messagesValue(biz, {
              contacts: [contactOf(who)],
              messages: [inboundMessage(who, "text", { body: "older" }, { timestamp: String(now - 30 * 3600) })],
            }),
          },
        ],
      },
    ]);
    await t.sim.deliver(newer);
    await t.drain();
    await t.sim.deliver(older);
    await t.drain();
    const conv = (await t.db.forTenant(c2._id).conversations.list(1, 5)).conversations[0]!;
    expect(conv.lastMessagePreview).toBe("newer");
    expect(conv.candidateName).toBe("Nadia B.");
    expect(conv.windowExpiresAt!.getTime()).toBe(now * 1000 + 24 * 3_600_000);
    expect(conv.messageCount).toBe(2);
  });
});
