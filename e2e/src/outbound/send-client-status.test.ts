/**
 * A send to a client whose recruiter disconnected is refused (409 CLIENT_DISCONNECTED,
 * nothing stored); a client waiting for re-authorisation accepts and holds (202 `held`), and the
 * held message goes once the client is active again. Real ingress, Redis, FerretDB, worker, simulator.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DashboardEvents } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { ClientStatusAnnouncer } from "@linkojob/outbound";
import { startOutbound, type OutboundRig } from "../harness/outbound.harness.js";

let rig: OutboundRig;
let announcer: ClientStatusAnnouncer;
const conns: Array<{ quit(): Promise<unknown> }> = [];

beforeAll(async () => {
  rig = await startOutbound("i9state");
  const pub = createRedis(rig.trunk.services.redisUrl);
  conns.push(pub);
  announcer = new ClientStatusAnnouncer({ db: rig.trunk.db, events: new DashboardEvents(pub), publisher: pub });
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(conns.map((c) => c.quit()));
  await rig?.close();
});

describe("send API and the client's status", () => {
  it("refuses a disconnected client with 409 CLIENT_DISCONNECTED and stores nothing", async () => {
    const c = await rig.client();
    await announcer.markDisconnected(c._id, "USER_DISCONNECTED");
    const before = await rig.trunk.db.messages.countDocuments({ clientId: c._id });
    const res = await rig.send(c.jwt, { candidatePhone: "212611000001", candidateName: "Amal", jobTitle: "Comptable" });
    expect(res.status).toBe(409);
    expect(res.body.error?.code).toBe("CLIENT_DISCONNECTED");
    expect(res.body.error?.message).toMatch(/disconnected/);
    expect(await rig.trunk.db.messages.countDocuments({ clientId: c._id })).toBe(before);
    expect(await rig.trunk.db.conversations.countDocuments({ clientId: c._id })).toBe(0);
  });

  it("accepts and holds for a client in reauth_required, then sends once it is active", async () => {
    const c = await rig.client();
    await announcer.markReauthRequired(c._id, "ACCOUNT_RESTRICTION", { detail: "RESTRICTED_BIZ_INITIATED_MESSAGING" });
    await rig.outbound.caches.client(c._id.toHexString()); // warm, then dropped by clients:changed
    const res = await rig.send(c.jwt, { candidatePhone: "212611000002", candidateName: "Amal", jobTitle: "Comptable" });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe("held");
    const held = await rig.until(c, res.body.messageId, ["held"]);
    expect(held.reason).toMatch(/reauth_required/);
    expect(rig.acceptedFor(res.body.messageId)).toHaveLength(0);
    await announcer.markActive(c._id, "ACCOUNT_RECONNECTED");
    const sent = await rig.until(c, res.body.messageId, ["sent", "delivered", "read"]);
    expect(sent.wamid).toBeTruthy();
    expect(rig.acceptedFor(res.body.messageId)).toHaveLength(1);
  });
});
