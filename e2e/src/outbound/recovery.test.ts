import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { statusDelivery, statusObject, statusPricing } from "@linkojob/meta-simulator";
import { eventually } from "@linkojob/testing";
import { enqueueSend } from "@linkojob/outbound";
import { outboundJobId } from "@linkojob/queues";
import { Types } from "mongoose";
import { startOutbound, type OutboundRig } from "../harness/outbound.harness.js";

let rig: OutboundRig;
beforeAll(async () => {
  rig = await startOutbound("outrecover");
});
afterAll(async () => {
  await rig?.close();
});

/**
 * A worker that died between marking a message `sending` and Meta's answer leaves it `sending` with
 * no job. Recovery (at start) re-enqueues it; the resumed job must not send it again if Meta had
 * accepted it (its status webhook names our id), and must send it once if Meta had not.
 */
async function orphanInSending(c: Awaited<ReturnType<OutboundRig["client"]>>, phone: string) {
  const tenant = rig.trunk.db.forTenant(c._id);
  const conversationId = await tenant.conversations.ensure({ candidateKey: phone, candidatePhone: phone });
  const { message } = await tenant.outbound.create({
    conversationId,
    request: { candidatePhone: phone, candidateName: "Nadia", jobTitle: "Serveuse" },
    kind: "template",
    cost: 0.4,
    costCategory: "utility",
  });
  await tenant.outbound.markSending(message._id, {
    kind: "template",
    text: null,
    template: null,
    cost: 0.4,
    costCategory: "utility",
  });
  const past = new Date(Date.now() - 60_000);
  await rig.trunk.db.messages.collection.updateOne(
    { _id: message._id },
    { $set: { sendingSince: past, updatedAt: past } },
  );
  return message._id.toHexString();
}

describe("recovery of messages a dead worker left in sending", () => {
  it("Meta had not accepted it: recovered and sent exactly once", async () => {
    const c = await rig.client();
    const phone = "212611223344";
    const id = await orphanInSending(c, phone);
    expect(await rig.outbound.recoverStale(30_000)).toBeGreaterThanOrEqual(1);
    const m = await rig.until(c, id, ["sent", "delivered", "read"]);
    expect(rig.acceptedFor(id)).toHaveLength(1);
    expect(m.wamid).toBe(rig.acceptedFor(id)[0]!.wamid);
  });

  it("Meta had accepted it (its status webhook names our id): recovered without a second send", async () => {
    const c = await rig.client();
    const phone = "212611223355";
    const id = await orphanInSending(c, phone);
    const wamid = "wamid.accepted-before-the-crash";
    const res = await rig.trunk.sim.deliver(
      statusDelivery({ wabaId: c.wabaId, phoneNumberId: c.phoneNumberId }, [
        statusObject(wamid, "sent", phone, { bizOpaque: id, pricing: statusPricing("utility") }),
      ]),
    );
    expect(res.status).toBe(200);
    await rig.trunk.drain();
    // The dead worker's job runs again (BullMQ's stalled-job check does this).
    await enqueueSend(rig.outbound.queue, {
      clientId: c._id.toHexString(),
      messageId: id,
      kind: "template",
      suffix: "stalled",
    });
    const job = await eventually(async () => {
      const j = await rig.outbound.queue.getJob(`send-${id}-stalled`);
      return j && (await j.getState()) === "completed" ? j : null;
    });
    expect(job.returnvalue).toMatchObject({ outcome: "already" });
    const m = await rig.message(c, id);
    expect(m.wamid).toBe(wamid);
    expect(rig.acceptedFor(id)).toHaveLength(0);
    expect((await rig.message(c, id)).status).toBe("sent");
  });

  it("Meta accepted it but recording that failed (MongoDB): the retry records Meta's id and never sends again, with no status webhook", async () => {
    const c = await rig.client();
    // No status webhook will name the send: only the job can tell its retry that Meta has it.
    const flow = { ...rig.sim.statusFlow };
    rig.sim.statusFlow.enabled = false;
    // Every tenant's outbound messages share one prototype: the worker's markSent fails once.
    const outboundMessages = Object.getPrototypeOf(rig.trunk.db.forTenant(c._id).outbound) as {
      markSent: (...args: unknown[]) => Promise<unknown>;
    };
    const markSent = vi
      .spyOn(outboundMessages, "markSent")
      .mockRejectedValueOnce(new Error("MongoDB went away after Meta's answer"));
    try {
      const res = await rig.send(c.jwt, {
        candidatePhone: "212611223366",
        candidateName: "Nadia",
        jobTitle: "Serveuse",
      });
      expect(res.status).toBe(202);
      const id = res.body.messageId;
      // Past the grace (1.5 s here) an unanswered send would be sent again: the retry must not wait for it.
      const m = await rig.until(c, id, ["sent"], 20_000);
      expect(markSent.mock.calls.length).toBeGreaterThanOrEqual(2);
      expect(rig.acceptedFor(id)).toHaveLength(1);
      expect(m.wamid).toBe(rig.acceptedFor(id)[0]!.wamid);
      // Its retry recorded the id the first run got (no second call): it ends `sent` with Meta's id.
      const job = await eventually(async () => {
        const j = await rig.outbound.queue.getJob(outboundJobId(id));
        return j?.returnvalue ? j : null;
      });
      expect(job.returnvalue).toMatchObject({ outcome: "sent", wamid: m.wamid });
      expect(job.data.acceptedWamid).toBe(m.wamid);
      expect(job.attemptsMade).toBeGreaterThanOrEqual(1);
    } finally {
      markSent.mockRestore();
      Object.assign(rig.sim.statusFlow, flow);
    }
  });

  it("a campaign's message goes back to the campaign lane, recovered or resumed after a hold, never to the main queue", async () => {
    const c = await rig.client();
    const campaignId = new Types.ObjectId();
    // Left in `sending` by a dead worker.
    const lost = await orphanInSending(c, "212611223366");
    // Held (the client was paused), now active again.
    const held = await orphanInSending(c, "212611223377");
    const heldAt = new Date(Date.now() - 60_000);
    await rig.trunk.db.messages.collection.updateOne({ _id: new Types.ObjectId(lost) }, { $set: { campaignId } });
    await rig.trunk.db.messages.collection.updateOne(
      { _id: new Types.ObjectId(held) },
      { $set: { campaignId, status: "held", heldAt } },
    );
    const lostAt = ((await rig.message(c, lost)) as { updatedAt: Date }).updatedAt;
    expect(await rig.outbound.recoverStale(30_000)).toBeGreaterThanOrEqual(1);
    expect(await rig.outbound.resumeHeld(c._id.toHexString())).toBe(1);
    const recovered = outboundJobId(lost, `recover-${new Date(lostAt).getTime()}`);
    const resumed = outboundJobId(held, `resume-${heldAt.getTime()}`);
    for (const jobId of [recovered, resumed]) {
      expect(await rig.outbound.campaignQueue.getJob(jobId), jobId).toBeTruthy();
      expect(await rig.outbound.queue.getJob(jobId), jobId).toBeFalsy();
    }
    await rig.until(c, lost, ["sent", "delivered", "read"]);
    await rig.until(c, held, ["sent", "delivered", "read"]);
    expect(rig.acceptedFor(lost)).toHaveLength(1);
    expect(rig.acceptedFor(held)).toHaveLength(1);
  });
});
