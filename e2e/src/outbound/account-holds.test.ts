/**
 * Account-level errors stop the tenant, not one message at a time. 131048 (spam limit),
 * 131042 (payment), 133010 (number not registered, one re-registration first) and an
 * `account_update` restriction pause the client's sends with the reason on the dashboard
 * (`client:status` over the real realtime server); queued sends are held without spending attempts;
 * they resume when the pause is lifted (time-based re-check, ACCOUNT_RECONNECTED, restriction
 * lifted). Real ingress, Redis, FerretDB, workers, realtime, simulator.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import type { ClientDoc } from "@linkojob/db";
import { EVENTS } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { TEST_SECRETS, eventually } from "@linkojob/testing";
import { accountUpdateDelivery } from "@linkojob/meta-simulator";
import { createRealtimeServer, type RealtimeServer } from "@linkojob/realtime";
import { closeAllSockets, connect } from "@linkojob/realtime/testing";
import { startOutbound, type OutboundRig } from "../harness/outbound.harness.js";

let rig: OutboundRig;
let realtime: RealtimeServer;
let realtimeUrl: string;
const conns: Array<{ quit(): Promise<unknown> }> = [];
let seq = 0;
const newPhone = () => `2126${String(Date.now() % 1e5).padStart(5, "0")}${String(++seq).padStart(3, "0")}`.slice(0, 12);

beforeAll(async () => {
  rig = await startOutbound("i9hold", { accountHoldCheckEveryMs: 0 });
  const pub = createRedis(rig.trunk.services.redisUrl);
  const sub = createRedis(rig.trunk.services.redisUrl, { autoPipelining: false });
  conns.push(pub, sub);
  realtime = createRealtimeServer({ pub, sub, db: rig.trunk.db, jwtSecret: TEST_SECRETS.jwtSecret });
  realtimeUrl = `http://127.0.0.1:${await realtime.listen(0, "127.0.0.1")}`;
}, 120_000);

afterAll(async () => {
  closeAllSockets();
  await realtime?.close();
  await Promise.allSettled(conns.map((c) => c.quit()));
  await rig?.close();
});

const clientDoc = async (c: ClientDoc) => (await rig.trunk.db.clients.findById(c._id).lean<ClientDoc>())!;
const graphSends = (c: ClientDoc) => rig.trunk.sim.state.requestsTo(new RegExp(`/${c.phoneNumberId}/messages$`)).length;

describe("account-level errors pause the tenant", () => {
  it("131048: one refusal pauses the client (client:status with the reason); later sends are held, no attempt spent; the re-check resumes them", async () => {
    const c = await rig.client();
    const socket = await connect(realtimeUrl, { token: c.jwt, clientId: c._id.toHexString() });
    const spammed = newPhone();
    rig.sim.faults.byRecipient.set(spammed, { code: 131048 });
    const first = await rig.send(c.jwt, { candidatePhone: spammed, candidateName: "Amal", jobTitle: "Comptable" });
    const held = await rig.until(c, first.body.messageId, ["held"]);
    expect(held.reasonCode).toBe("SPAM_RATE_LIMITED");
    expect(held.reason).toMatch(/spam rate limit.*\(Meta 131048\)/);
    expect(held.sendAttempts).toBe(0);
    expect(await clientDoc(c)).toMatchObject({ status: "reauth_required", statusReason: "SPAM_RATE_LIMITED" });
    const event = await eventually(
      () =>
        (socket.payloads(EVENTS.clientStatus) as Array<{ reason?: string }>).find(
          (p) => p.reason === "SPAM_RATE_LIMITED",
        ) ?? null,
    );
    expect(event).toMatchObject({ clientId: c._id.toHexString(), status: "reauth_required", previousStatus: "active" });

    const later = [];
    for (let i = 0; i < 3; i++)
      later.push(await rig.send(c.jwt, { candidatePhone: newPhone(), candidateName: "Karim", jobTitle: "Chauffeur" }));
    for (const r of later) {
      expect(r.status).toBe(202);
      expect(r.body.status).toBe("held");
    }
    const callsWhileHeld = graphSends(c);
    for (const r of later) expect((await rig.until(c, r.body.messageId, ["held"])).sendAttempts).toBe(0);
    expect(graphSends(c)).toBe(callsWhileHeld);
    expect(callsWhileHeld).toBe(1);

    // Not yet: the spam pause lasts an hour.
    expect(await rig.outbound.recheckAccountHolds(new Date(Date.now() + 10 * 60_000))).toEqual([]);
    rig.sim.faults.byRecipient.delete(spammed);
    expect(await rig.outbound.recheckAccountHolds(new Date(Date.now() + 61 * 60_000))).toEqual([c._id.toHexString()]);
    for (const r of [first, ...later]) {
      const m = await rig.until(c, r.body.messageId, ["sent", "delivered", "read"]);
      expect(m.sendAttempts).toBe(1);
      expect(rig.acceptedFor(r.body.messageId)).toHaveLength(1);
    }
    expect((await clientDoc(c)).status).toBe("active");
  });

  it("131042 on concurrent sends: every one held, none failed; ACCOUNT_RECONNECTED resumes them", async () => {
    const c = await rig.client();
    rig.sim.faults.storm = { rate: 1, codes: [131042] };
    try {
      const sends = await Promise.all(
        [0, 1, 2, 3].map(() =>
          rig.send(c.jwt, { candidatePhone: newPhone(), candidateName: "Sara", jobTitle: "Vendeuse" }),
        ),
      );
      for (const s of sends)
        expect((await rig.until(c, s.body.messageId, ["held"])).reasonCode).toMatch(
          /PAYMENT_PROBLEM|CLIENT_NOT_ACTIVE/,
        );
      expect(await clientDoc(c)).toMatchObject({ status: "reauth_required", statusReason: "PAYMENT_PROBLEM" });
      expect(await rig.trunk.db.messages.countDocuments({ clientId: c._id, status: "failed" })).toBe(0);
      rig.sim.faults.storm = null;
      const res = await rig.trunk.sim.deliver(accountUpdateDelivery(c.wabaId, { event: "ACCOUNT_RECONNECTED" }));
      expect(res.status).toBe(200);
      await rig.trunk.drain();
      for (const s of sends) await rig.until(c, s.body.messageId, ["sent", "delivered", "read"]);
    } finally {
      rig.sim.faults.storm = null;
    }
  });

  it("133010: one re-registration (POST /{phone-number-id}/register), then the send goes; a second 133010 pauses the client", async () => {
    const c0 = await rig.client();
    // The simulator's onboarding side knows this number (unregistered, with a PIN) and a token for its WABA.
    const sim = async <T = unknown>(path: string, body: unknown) => {
      const r = await request(`${rig.trunk.sim.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return (await r.body.json()) as T;
    };
    await sim("/_sim/onboarding/businesses", {
      wabaId: c0.wabaId,
      phoneNumbers: [{ id: c0.phoneNumberId, registered: false, pin: "246810" }],
    });
    const { accessToken } = await sim<{ accessToken: string }>("/_sim/onboarding/tokens", { wabaIds: [c0.wabaId] });
    await rig.trunk.db.clients.updateOne(
      { _id: c0._id },
      {
        $set: {
          accessToken: rig.vault.encrypt(accessToken, c0._id.toHexString()),
          registrationPin: rig.vault.encrypt("246810", c0._id.toHexString()),
        },
      },
    );
    await rig.outbound.caches.freshClient(c0._id.toHexString());
    const phone = newPhone();
    rig.sim.faults.byRecipient.set(phone, { code: 133010, times: 1 });
    const res = await rig.send(c0.jwt, { candidatePhone: phone, candidateName: "Nadia", jobTitle: "Infirmière" });
    await rig.until(c0, res.body.messageId, ["sent", "delivered", "read"]);
    const registers = () => rig.trunk.sim.state.requestsTo(new RegExp(`/${c0.phoneNumberId}/register$`));
    expect(registers()).toHaveLength(1);
    expect((await clientDoc(c0)).status).toBe("active");

    const again = newPhone();
    rig.sim.faults.byRecipient.set(again, { code: 133010, times: 1 });
    const second = await rig.send(c0.jwt, { candidatePhone: again, candidateName: "Nadia", jobTitle: "Infirmière" });
    expect((await rig.until(c0, second.body.messageId, ["held"])).reasonCode).toBe("NUMBER_NOT_REGISTERED");
    expect(registers()).toHaveLength(1);
    expect(await clientDoc(c0)).toMatchObject({ status: "reauth_required", statusReason: "NUMBER_NOT_REGISTERED" });
  });

  it("131048 reported in a failed status webhook (after Meta accepted the send) pauses the tenant the same way", async () => {
    const c = await rig.client();
    const phone = newPhone();
    rig.sim.faults.byRecipient.set(phone, { code: 131048, async: true, times: 1 });
    const first = await rig.send(c.jwt, { candidatePhone: phone, candidateName: "Amal", jobTitle: "Comptable" });
    expect((await rig.until(c, first.body.messageId, ["failed"])).error?.code).toBe(131048);
    await eventually(async () => ((await clientDoc(c)).statusReason === "SPAM_RATE_LIMITED" ? true : null));
    // The send API reads the client's state from Redis, which the announcer writes after MongoDB: a
    // send may still be answered `queued` for a moment (the worker holds it anyway, see below).
    const next = await eventually(async () => {
      const r = await rig.send(c.jwt, { candidatePhone: newPhone(), candidateName: "Amal", jobTitle: "Comptable" });
      return r.body.status === "held" ? r : null;
    });
    expect((await rig.until(c, next.body.messageId, ["held"])).reasonCode).toBe("SPAM_RATE_LIMITED");
  });

  it("transient per-message codes keep their policy: 131000 retried, 131026 fails that message only", async () => {
    const c = await rig.client();
    const flaky = newPhone();
    const gone = newPhone();
    rig.sim.faults.byRecipient.set(flaky, { code: 131000, times: 1 });
    rig.sim.faults.byRecipient.set(gone, { code: 131026 });
    const a = await rig.send(c.jwt, { candidatePhone: flaky, candidateName: "A", jobTitle: "B" });
    const b = await rig.send(c.jwt, { candidatePhone: gone, candidateName: "A", jobTitle: "B" });
    await rig.until(c, a.body.messageId, ["sent", "delivered", "read"]);
    expect((await rig.until(c, b.body.messageId, ["failed"])).reasonCode).toBe("131026");
    expect((await clientDoc(c)).status).toBe("active");
  });

  it("an account_update restriction holds sends; its lifting resumes them", async () => {
    const c = await rig.client();
    await rig.trunk.sim.deliver(
      accountUpdateDelivery(c.wabaId, {
        event: "ACCOUNT_RESTRICTION",
        restrictionInfo: [{ restriction_type: "RESTRICTED_BIZ_INITIATED_MESSAGING", expiration: "2026-12-01" }],
      }),
    );
    await rig.trunk.drain();
    await eventually(async () => ((await clientDoc(c)).status === "reauth_required" ? true : null));
    const s = await eventually(async () => {
      const r = await rig.send(c.jwt, { candidatePhone: newPhone(), candidateName: "A", jobTitle: "B" });
      return r.body.status === "held" ? r : null;
    });
    await rig.until(c, s.body.messageId, ["held"]);
    expect(rig.acceptedFor(s.body.messageId), "nothing reached Meta while held").toHaveLength(0);
    await rig.trunk.sim.deliver(accountUpdateDelivery(c.wabaId, { event: "ACCOUNT_RESTRICTION", restrictionInfo: [] }));
    await rig.trunk.drain();
    const resumed = await rig.until(c, s.body.messageId, ["sent", "delivered", "read"]);
    expect(resumed.wamid).toBeTruthy();
    expect(rig.acceptedFor(s.body.messageId), "sent once after the lifting").toHaveLength(1);
    expect((await clientDoc(c)).status).toBe("active");
  });
});
