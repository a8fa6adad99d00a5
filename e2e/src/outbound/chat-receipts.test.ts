import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { Queue } from "bullmq";
import type { ClientDoc } from "@linkojob/db";
import { RECEIPT_QUEUE, createRedis } from "@linkojob/queues";
import { eventually } from "@linkojob/testing";
import { startOutbound, type OutboundRig } from "../harness/outbound.harness.js";

let rig: OutboundRig;
beforeAll(async () => {
  rig = await startOutbound("outreceipt");
});
afterAll(async () => {
  await rig?.close();
});

let phoneSeq = 0;
const newPhone = () => `2126${String(30_000_000 + ++phoneSeq * 7919).slice(-8)}`;

/** Read receipts the simulator received for this wamid (the Graph calls it records). */
const receiptsFor = (wamid: string) =>
  rig.trunk.sim.state
    .requestsTo(/\/messages$/, "POST")
    .filter(
      (r) =>
        (r.body as { status?: string; message_id?: string } | undefined)?.status === "read" &&
        (r.body as { message_id?: string }).message_id === wamid,
    )
    .map((r) => r.body as Record<string, unknown>);

async function call(method: "PATCH" | "POST", path: string, jwt: string) {
  const res = await request(`${rig.trunk.ingressUrl}${path}`, { method, headers: { authorization: `Bearer ${jwt}` } });
  return { status: res.statusCode, body: await res.body.json() };
}

async function conversationWith(c: ClientDoc, phone: string) {
  const conv = await rig.trunk.db.conversations.findOne({ clientId: c._id, candidatePhone: phone }).lean();
  if (!conv) throw new Error("no conversation");
  const last = await rig.trunk.db.messages
    .findOne({ conversationId: conv._id, direction: "inbound" })
    .sort({ timestamp: -1, _id: -1 })
    .lean();
  return { id: conv._id.toHexString(), wamid: last!.wamid! };
}

describe("read receipts and typing at Meta", () => {
  it("opening a conversation marks the candidate's last message read at Meta, once per message", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Bonjour, je suis disponible", 5_000);
    const conv = await conversationWith(c, phone);

    expect((await call("PATCH", `/api/messages/conversation/${conv.id}/read`, c.jwt)).status).toBe(200);
    const first = await eventually(() => (receiptsFor(conv.wamid).length ? receiptsFor(conv.wamid) : null));
    expect(first).toEqual([{ messaging_product: "whatsapp", status: "read", message_id: conv.wamid }]);
    const stored = await rig.trunk.db.conversations.collection.findOne({
      _id: (await rig.trunk.db.conversations.findOne({ candidatePhone: phone }).lean())!._id,
    });
    expect(stored?.readReceiptWamid).toBe(conv.wamid);

    // Opening again: nothing new is queued, Meta is not called again.
    expect((await call("PATCH", `/api/messages/conversation/${conv.id}/read`, c.jwt)).status).toBe(200);
    const queue = new Queue(RECEIPT_QUEUE, {
      connection: createRedis(rig.trunk.services.redisUrl),
      prefix: rig.trunk.services.prefix,
    });
    try {
      const counts = await queue.getJobCounts("completed", "waiting", "active", "delayed", "failed");
      const mine = (await queue.getJobs(["completed", "waiting", "active", "delayed", "failed"])).filter(
        (j) => j.data.wamid === conv.wamid,
      );
      expect(mine).toHaveLength(1);
      expect(counts.failed).toBe(0);
    } finally {
      await queue.close();
    }
    expect(receiptsFor(conv.wamid)).toHaveLength(1);

    // A new message from the candidate: the next open marks that one.
    await rig.candidateWrites(c, phone, "Vous avez reçu mon CV ?");
    const next = await conversationWith(c, phone);
    expect(next.wamid).not.toBe(conv.wamid);
    await call("PATCH", `/api/messages/conversation/${conv.id}/read`, c.jwt);
    await eventually(() => (receiptsFor(next.wamid).length === 1 ? true : null));
  });

  it("typing shows the typing indicator on the last inbound message, at most once per 20 s per conversation", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Je peux passer demain ?");
    const conv = await conversationWith(c, phone);
    const t1 = await call("POST", `/api/messages/conversation/${conv.id}/typing`, c.jwt);
    expect(t1).toEqual({ status: 202, body: { success: true, typing: true } });
    const sent = await eventually(() => (receiptsFor(conv.wamid).length ? receiptsFor(conv.wamid) : null));
    expect(sent).toEqual([
      { messaging_product: "whatsapp", status: "read", message_id: conv.wamid, typing_indicator: { type: "text" } },
    ]);
    const t2 = await call("POST", `/api/messages/conversation/${conv.id}/typing`, c.jwt);
    expect(t2.body).toEqual({ success: true, typing: false, reason: "rate_limited" });
    // Typing already marked it read: opening the conversation now calls Meta no more.
    await call("PATCH", `/api/messages/conversation/${conv.id}/read`, c.jwt);
    await rig.trunk.drain();
    expect(receiptsFor(conv.wamid)).toHaveLength(1);
  });

  it("a receipt Meta refuses changes nothing else: the read still succeeds, sends still go", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Bonjour");
    const conv = await conversationWith(c, phone);
    // The client's token is refused at Meta: the receipt gets 190 and is dropped, without a retry.
    rig.sim.revokedTokens.add(c.token);
    const res = await call("PATCH", `/api/messages/conversation/${conv.id}/read`, c.jwt);
    expect(res).toEqual({ status: 200, body: { success: true } });
    const queue = new Queue(RECEIPT_QUEUE, {
      connection: createRedis(rig.trunk.services.redisUrl),
      prefix: rig.trunk.services.prefix,
    });
    try {
      const failed = await eventually(
        async () => (await queue.getJobs(["failed"])).find((j) => j.data.wamid === conv.wamid) ?? null,
      );
      expect(failed.attemptsMade).toBe(1);
      expect(failed.failedReason).toMatch(/190/);
    } finally {
      await queue.close();
    }
    expect(receiptsFor(conv.wamid)).toHaveLength(1);
    // A receipt never changes the client: it stays active (only a send's 190 asks to reconnect).
    expect((await rig.trunk.db.clients.findById(c._id).lean())?.status).toBe("active");
    rig.sim.revokedTokens.delete(c.token);
    const other = await call("PATCH", `/api/messages/conversation/${"0".repeat(24)}/read`, c.jwt);
    expect(other.status).toBe(404);
    const send = await rig.send(c.jwt, { candidatePhone: phone, message: "Merci !" });
    expect(send.status).toBe(202);
    await rig.until(c, send.body.messageId, ["sent", "delivered", "read"]);
  });
});
