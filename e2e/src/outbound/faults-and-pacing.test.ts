import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import type { CostTotals } from "@linkojob/db";
import { CLIENTS_CHANGED_CHANNEL } from "@linkojob/events";
import { createRedis, outboundJobId } from "@linkojob/queues";
import { eventually } from "@linkojob/testing";
import { startOutbound, type OutboundRig } from "../harness/outbound.harness.js";
import { rateStats, settleStatusFlows } from "@linkojob/meta-simulator";

let rig: OutboundRig;
beforeAll(async () => {
  rig = await startOutbound("outfaults");
});
afterAll(async () => {
  await rig?.close();
});

let phoneSeq = 0;
const newPhone = () => `2127${String(20_000_000 + ++phoneSeq * 104_729).slice(-8)}`;
const DONE = ["sent", "delivered", "read"];

describe("Meta's errors never cost a duplicate or a lost message", () => {
  it("a 30% fault storm (429/130429, 131016, lost answers): every message is sent exactly once", async () => {
    const clients = await Promise.all([rig.client(), rig.client(), rig.client()]);
    rig.sim.faults.storm = { rate: 0.3, codes: [130429, 131016, 4] };
    rig.sim.faults.loseAnswerRate = 0.1;
    const sends = [];
    for (let i = 0; i < 36; i++) {
      const c = clients[i % 3]!;
      sends.push(
        rig
          .send(c.jwt, { candidatePhone: newPhone(), candidateName: `C${i}`, jobTitle: "Agent" })
          .then((r) => ({ c, id: r.body.messageId })),
      );
    }
    const ids = await Promise.all(sends);
    try {
      for (const { c, id } of ids) await rig.until(c, id, DONE, 60_000);
    } finally {
      rig.sim.faults.storm = null;
      rig.sim.faults.loseAnswerRate = 0;
    }
    expect(rig.sim.rejected.filter((r) => r.cause === "storm").length).toBeGreaterThan(0);
    for (const { c, id } of ids) {
      const accepted = rig.acceptedFor(id);
      if (accepted.length !== 1) {
        const m = await rig.message(c, id);
        console.log(
          "DUP",
          JSON.stringify({
            accepted: accepted.map((a) => ({ at: a.at, lost: a.answerLost, wamid: a.wamid })),
            statusAt: m.statusAt,
            sendAttempts: m.sendAttempts,
            sendingSince: m.sendingSince,
            wamid: m.wamid,
          }),
        );
      }
      expect(accepted, `message ${id}`).toHaveLength(1);
      expect((await rig.message(c, id)).wamid).toBe(accepted[0]!.wamid);
    }
  }, 90_000);

  it("an answer lost after Meta accepted: the status webhook's callback data links it, no second send", async () => {
    const c = await rig.client();
    const phone = newPhone();
    rig.sim.faults.loseAnswerFor.set(phone, 1);
    const res = await rig.send(c.jwt, { candidatePhone: phone, candidateName: "Lina", jobTitle: "Caissière" });
    const m = await rig.until(c, res.body.messageId, DONE);
    const accepted = rig.acceptedFor(res.body.messageId);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.answerLost).toBe(true);
    expect(m.wamid).toBe(accepted[0]!.wamid);
    // The job, delayed past the grace period, checked again, found it sent and completed: the last
    // point where a second send could have happened is behind us, and there is still one.
    const jobId = outboundJobId(res.body.messageId);
    await eventually(async () => (await rig.outbound.queue.getJobState(jobId)) === "completed");
    expect(rig.acceptedFor(res.body.messageId)).toHaveLength(1);
  });

  it("a timeout where Meta accepted nothing: re-sent once after the grace period, never stuck in sending", async () => {
    const c = await rig.client();
    const phone = newPhone();
    rig.sim.faults.hangFor.set(phone, 1);
    const res = await rig.send(c.jwt, { candidatePhone: phone, candidateName: "Lina", jobTitle: "Caissière" });
    await eventually(async () => (await rig.message(c, res.body.messageId)).status === "sending");
    const m = await rig.until(c, res.body.messageId, DONE);
    expect(rig.acceptedFor(res.body.messageId)).toHaveLength(1);
    expect(m.sendAttempts).toBe(2);
  });

  it("a permanent error ends failed with Meta's code, title, details and fbtrace id; no retry", async () => {
    const c = await rig.client();
    const phone = newPhone();
    rig.sim.faults.byRecipient.set(phone, { code: 131026 });
    const res = await rig.send(c.jwt, { candidatePhone: phone, candidateName: "N", jobTitle: "J" });
    const m = await rig.until(c, res.body.messageId, ["failed"]);
    expect(m.error).toMatchObject({ code: 131026, details: "Message undeliverable" });
    expect(m.error?.fbtraceId).toMatch(/^Sim/);
    expect(rig.sim.rejected.filter((r) => r.to === phone)).toHaveLength(1);
    expect(m.cost).toBe(0.4); // estimate kept, but a failed message is left out of the totals (below)
  });

  it("190 holds the client's sends (client reauth_required); they resume once it is active again", async () => {
    const c = await rig.client();
    rig.sim.revokedTokens.add(c.token);
    const phones = [newPhone(), newPhone()];
    const ids = [];
    for (const p of phones)
      ids.push((await rig.send(c.jwt, { candidatePhone: p, candidateName: "H", jobTitle: "J" })).body.messageId);
    for (const id of ids) expect((await rig.until(c, id, ["held"])).reasonCode).toBe("CLIENT_NOT_ACTIVE");
    expect((await rig.trunk.db.clients.findById(c._id).lean())?.status).toBe("reauth_required");
    expect(ids.flatMap((id) => rig.acceptedFor(id))).toHaveLength(0);

    // The tenant reconnects (onboarding sets active and announces it).
    rig.sim.revokedTokens.delete(c.token);
    await rig.trunk.db.clients.updateOne({ _id: c._id }, { $set: { status: "active" } });
    const pub = createRedis(rig.trunk.services.redisUrl);
    try {
      await pub.publish(CLIENTS_CHANGED_CHANNEL, JSON.stringify({ clientId: c._id.toHexString(), status: "active" }));
    } finally {
      await pub.quit();
    }
    for (const id of ids) await rig.until(c, id, DONE);
    for (const id of ids) expect(rig.acceptedFor(id)).toHaveLength(1);
  });
});

describe("pacing, measured at the simulator", () => {
  it("never exceeds a number's throughput: over-limit sends wait instead of failing", async () => {
    const c = await rig.client({ throughputMps: 10 });
    rig.sim.limits.mpsByNumber.set(c.phoneNumberId, 10);
    await Promise.all(
      Array.from({ length: 40 }, () =>
        rig.send(c.jwt, { candidatePhone: newPhone(), candidateName: "R", jobTitle: "J" }),
      ),
    );
    await eventually(() => rig.sim.accepted.filter((m) => m.phoneNumberId === c.phoneNumberId).length >= 40, 30_000);
    const mine = rig.sim.accepted.filter((m) => m.phoneNumberId === c.phoneNumberId).map((m) => m.at);
    expect(mine).toHaveLength(40);
    const stats = rateStats({
      ...rig.sim,
      accepted: rig.sim.accepted.filter((m) => m.phoneNumberId === c.phoneNumberId),
    });
    expect(stats.maxPerSecondByNumber[c.phoneNumberId]).toBeLessThanOrEqual(10);
    expect(
      rig.sim.rejected.filter((r) => r.phoneNumberId === c.phoneNumberId && r.cause === "throughput"),
    ).toHaveLength(0);
  }, 60_000);

  it("never exceeds the pair rate to one recipient (burst, then spaced); none fails", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Bonjour", 1_000);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await rig.send(c.jwt, { candidatePhone: phone, message: `Message ${i}` })).body.messageId);
    for (const id of ids) await rig.until(c, id, DONE, 30_000);
    const times = rig.sim.accepted
      .filter((m) => m.to === phone)
      .map((m) => m.at)
      .sort((a, b) => a - b);
    expect(times).toHaveLength(5);
    // The simulator enforces Meta's pair rule (burst 2, then one per second here) and refused none.
    expect(rig.sim.rejected.filter((r) => r.to === phone)).toHaveLength(0);
    expect(times[4]! - times[0]!).toBeGreaterThanOrEqual(3_000);
  }, 60_000);

  it("one tenant's bulk does not starve another tenant's reply", async () => {
    const bulk = await rig.client({ throughputMps: 5 });
    rig.sim.limits.mpsByNumber.set(bulk.phoneNumberId, 5);
    const other = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(other, phone, "Bonjour", 1_000);
    const bulkIds = await Promise.all(
      Array.from(
        { length: 40 },
        async () =>
          (await rig.send(bulk.jwt, { candidatePhone: newPhone(), candidateName: "B", jobTitle: "J" })).body.messageId,
      ),
    );
    const reply = await rig.send(other.jwt, { candidatePhone: phone, message: "Réponse" });
    await rig.until(other, reply.body.messageId, DONE, 10_000);
    // Measured at the simulator: the reply went while much of the campaign (40 at 4.5/s ≈ 9 s) still
    // waited for its number's slots.
    const replyAt = rig.acceptedFor(reply.body.messageId)[0]!.at;
    await eventually(
      () => rig.sim.accepted.filter((m) => m.phoneNumberId === bulk.phoneNumberId).length >= bulkIds.length,
      40_000,
    );
    expect(
      new Set(rig.sim.accepted.filter((m) => m.phoneNumberId === bulk.phoneNumberId).map((m) => m.bizOpaque)),
    ).toEqual(new Set(bulkIds));
    const bulkAfterReply = rig.sim.accepted.filter(
      (m) => m.phoneNumberId === bulk.phoneNumberId && m.at > replyAt,
    ).length;
    expect(bulkAfterReply).toBeGreaterThanOrEqual(10);
  }, 90_000);
});

describe("costs", () => {
  it("GET /api/messages/costs adds up by category and kind, from Meta's pricing", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Bonjour", 1_000);
    const t1 = await rig.send(c.jwt, { candidatePhone: newPhone(), candidateName: "A", jobTitle: "J" });
    const t2 = await rig.send(c.jwt, { candidatePhone: newPhone(), candidateName: "B", jobTitle: "J" });
    const tx = await rig.send(c.jwt, { candidatePhone: phone, message: "Merci" });
    for (const r of [t1, t2, tx]) await rig.until(c, r.body.messageId, ["delivered", "read"]);
    await settleStatusFlows(rig.sim);
    await rig.trunk.drain();
    const res = await request(`${rig.trunk.ingressUrl}/api/messages/costs?clientId=${c._id.toHexString()}`, {
      headers: { authorization: `Bearer ${c.jwt}` },
    });
    expect(res.statusCode).toBe(200);
    const body = (await res.body.json()) as CostTotals;
    expect(body).toMatchObject({
      currency: "MAD",
      // Two first-contact templates and a service reply, billed since 2026-10-01 (Morocco's utility rate).
      total: 1.2,
      count: 3,
      byKind: { template: { count: 2, cost: 0.8 }, text: { count: 1, cost: 0.4 } },
      byCategory: { utility: { count: 2, cost: 0.8 }, service: { count: 1, cost: 0.4 } },
    });
    const m = await rig.message(c, t1.body.messageId);
    expect(m.costSource).toBe("meta");
  });
});
