/**
 * The candidates' opt-out register honoured on every send, through the real ingress (send API and
 * opt-out API over HTTP), Redis, both workers, FerretDB and the Meta simulator: the candidate's
 * STOP refuses the next send (409 CANDIDATE_OPTED_OUT, nothing stored or sent) and wins over a send
 * already accepted (`suppressed`, nothing at Meta); Meta's user_preferences and 131050 stop marketing
 * templates only; an identity change keeps the opt-out; a recruiter cannot lift the candidate's own;
 * the API lists and adds per tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { sendPreviewSchema } from "@linkojob/events";
import { simTemplate, userIdForPhone } from "@linkojob/meta-simulator";
import { eventually, tokenFor } from "@linkojob/testing";
import { APPLICATION_RECEIVED, startOutbound, type OutboundRig } from "../harness/outbound.harness.js";

let rig: OutboundRig;
beforeAll(async () => {
  rig = await startOutbound("optouts");
}, 120_000);
afterAll(async () => {
  await rig?.close();
});

let seq = 0;
const newPhone = () => `2126${String(30_000_000 + ++seq * 7_919).slice(-8)}`;
const JOB_ALERT = simTemplate({
  name: "job_alert",
  language: "fr",
  body: "Nouvelle offre : {{1}}",
  category: "MARKETING",
});
const marketing = (candidatePhone: string) => ({
  candidatePhone,
  templateName: "job_alert",
  templateLanguage: "fr",
  templateVars: ["Comptable à Rabat"],
});
const firstContact = (candidatePhone: string) => ({ candidatePhone, candidateName: "Yasmine", jobTitle: "Comptable" });
const sentTo = (phone: string) => rig.sim.accepted.filter((m) => m.to === phone);

async function simPost(path: string, body: unknown) {
  const res = await request(`${rig.trunk.sim.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await res.body.json();
  if (res.statusCode !== 200) throw new Error(`simulator answered ${res.statusCode}: ${JSON.stringify(json)}`);
  return json;
}

async function api(method: "GET" | "POST", path: string, jwt: string, body?: unknown) {
  const res = await request(`${rig.trunk.ingressUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${jwt}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON, probed field by field
  return { status: res.statusCode, body: (await res.body.json()) as any };
}

type Client = Awaited<ReturnType<OutboundRig["client"]>>;
const optOutsOf = (c: Client, query = "") =>
  api("GET", `/api/clients/${c._id.toHexString()}/opt-outs${query}`, c.jwt).then((r) => r.body);

describe("the candidate's own words", () => {
  it("STOP refuses the next template and a reply inside the window with 409, nothing stored or sent; START lifts it", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "STOP");
    const messagesBefore = await rig.trunk.db.messages.countDocuments({ clientId: c._id });

    const template = await rig.send(c.jwt, firstContact(phone));
    expect(template.status).toBe(409);
    expect(template.body.error).toMatchObject({
      code: "CANDIDATE_OPTED_OUT",
      details: { scope: "all", source: "candidate_message" },
    });
    expect(template.body.error?.message).toMatch(/START/);
    // The STOP opened the window, and a reply inside it is refused too: scope `all`.
    const reply = await rig.send(c.jwt, { candidatePhone: phone, message: "Bien reçu" });
    expect(reply.status).toBe(409);
    expect(await rig.trunk.db.messages.countDocuments({ clientId: c._id })).toBe(messagesBefore);
    expect(sentTo(phone)).toHaveLength(0);

    // Not a STOP: a sentence that contains the word changes nothing.
    await rig.candidateWrites(c, phone, "stop, je viens demain");
    expect((await rig.send(c.jwt, firstContact(phone))).status).toBe(409);

    await rig.candidateWrites(c, phone, "Reprendre");
    const again = await rig.send(c.jwt, { candidatePhone: phone, message: "Bonjour de nouveau" });
    expect(again.status).toBe(202);
    await rig.until(c, again.body.messageId, ["sent", "delivered", "read"]);
    const trail = await optOutsOf(c, `?candidatePhone=${phone}`);
    expect(trail.scope).toBeNull();
    expect(trail.changes.map((ch: { action: string; source: string }) => [ch.action, ch.source])).toEqual([
      ["resume", "candidate_message"],
      ["opt_out", "candidate_message"],
    ]);
    expect(trail.changes[1].wamid).toMatch(/^wamid\./);
  });

  it("a STOP that arrives between acceptance and sending wins: the message ends suppressed, nothing reaches Meta", async () => {
    // One message per 10 s for this number: the second send waits for its pacing slot in the queue.
    const c = await rig.client({ throughputMps: 0.1 });
    const first = await rig.send(c.jwt, firstContact(newPhone()));
    expect(first.status).toBe(202);
    const phone = newPhone();
    const accepted = await rig.send(c.jwt, firstContact(phone));
    expect(accepted.status).toBe(202);
    await rig.candidateWrites(c, phone, "ARRÊT");
    expect(sentTo(phone)).toHaveLength(0); // still waiting for its slot when the STOP was stored

    const m = await rig.until(
      c,
      accepted.body.messageId,
      ["suppressed", "sent", "delivered", "read", "failed"],
      30_000,
    );
    expect(m).toMatchObject({ status: "suppressed", reasonCode: "CANDIDATE_OPTED_OUT", wamid: null });
    expect(m.reason).toMatch(/asked to stop/);
    expect(rig.acceptedFor(accepted.body.messageId)).toHaveLength(0);
  }, 60_000);
});

describe("Meta's marketing preference", () => {
  it("user_preferences stop refuses marketing templates only; resume lifts it", async () => {
    const c = await rig.client({ templates: [APPLICATION_RECEIVED(), JOB_ALERT] });
    const phone = newPhone();
    await simPost("/_sim/candidates/user-preferences", {
      wabaId: c.wabaId,
      phoneNumberId: c.phoneNumberId,
      from: phone,
      value: "stop",
    });
    await rig.trunk.drain();
    const listed = await eventually(async () => {
      const r = await optOutsOf(c, `?candidatePhone=${phone}`);
      return r.scope === "marketing" ? r : null;
    });
    expect(listed.changes[0]).toMatchObject({ action: "opt_out", scope: "marketing", source: "meta_user_preferences" });

    const refused = await rig.send(c.jwt, marketing(phone));
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: "CANDIDATE_OPTED_OUT", details: { scope: "marketing" } });
    // A utility template still goes.
    const utility = await rig.send(c.jwt, firstContact(phone));
    expect(utility.status).toBe(202);
    await rig.until(c, utility.body.messageId, ["sent", "delivered", "read"]);

    await simPost("/_sim/candidates/user-preferences", {
      wabaId: c.wabaId,
      phoneNumberId: c.phoneNumberId,
      from: phone,
      value: "resume",
    });
    await rig.trunk.drain();
    await eventually(async () => (await optOutsOf(c, `?candidatePhone=${phone}`)).scope === null);
    const allowed = await rig.send(c.jwt, marketing(phone));
    expect(allowed.status).toBe(202);
    await rig.until(c, allowed.body.messageId, ["sent", "delivered", "read"]);
  });

  it("a 131050 failure records a marketing opt-out: the next marketing template is refused at once", async () => {
    const c = await rig.client({ templates: [APPLICATION_RECEIVED(), JOB_ALERT] });
    const phone = newPhone();
    // The user stopped marketing messages in WhatsApp and we were not told: Meta accepts, then fails with 131050.
    await request(`${rig.trunk.sim.url}/_sim/messaging/faults/recipient`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ recipient: phone, code: 131050, async: true, types: ["template"], times: 1 }),
    });
    const first = await rig.send(c.jwt, marketing(phone));
    expect(first.status).toBe(202);
    const failed = await rig.until(c, first.body.messageId, ["failed"]);
    expect(failed.error).toMatchObject({ code: 131050 });
    const listed = await eventually(async () => {
      const r = await optOutsOf(c, `?candidatePhone=${phone}`);
      return r.scope === "marketing" ? r : null;
    });
    expect(listed.changes[0]).toMatchObject({ source: "meta_131050", wamid: failed.wamid });
    // The register writes MongoDB (what the list reads) before the send state in Redis (what the
    // send API reads), then announces: the send path has it once the preview, which reads the same
    // state, says so (a send in between would be accepted, and suppressed by the worker's check).
    const preview = await eventually(async () => {
      const res = await api(
        "GET",
        `/inbox/api/send-preview?clientId=${c._id.toHexString()}&candidatePhone=${phone}`,
        c.jwt,
      );
      return res.body.optOut?.scope === "marketing" ? res.body : null;
    });
    // Exactly the contract's send preview (the inbox types its reads with it): no key missing or added.
    expect(sendPreviewSchema.safeParse(preview).error?.issues ?? []).toEqual([]);

    const next = await rig.send(c.jwt, marketing(phone));
    expect(next.status).toBe(409);
    expect(next.body.error?.code).toBe("CANDIDATE_OPTED_OUT");
    expect(rig.sim.accepted.filter((m) => m.to === phone && m.type === "template")).toHaveLength(1);
    expect((await rig.send(c.jwt, firstContact(phone))).status).toBe(202);
  });
});

describe("identities and who may lift", () => {
  it("an opt-out survives the candidate's number change: a send to the new number, or by user id, is refused", async () => {
    const c = await rig.client();
    const [oldPhone, newNumber] = [newPhone(), newPhone()];
    const userId = userIdForPhone(oldPhone);
    await simPost("/_sim/candidates/reply", {
      wabaId: c.wabaId,
      phoneNumberId: c.phoneNumberId,
      from: oldPhone,
      type: "text",
      text: "DÉSABONNER",
    });
    await rig.trunk.drain();
    await simPost("/_sim/candidates/identity-change", {
      wabaId: c.wabaId,
      phoneNumberId: c.phoneNumberId,
      change: "number",
      from: oldPhone,
      newWaId: newNumber,
      userId,
    });
    await rig.trunk.drain();
    const toNew = await eventually(async () => {
      const r = await rig.send(c.jwt, firstContact(newNumber));
      return r.status === 409 ? r : null;
    });
    expect(toNew.body.error?.code).toBe("CANDIDATE_OPTED_OUT");
    const byUserId = await rig.send(c.jwt, {
      candidateUserId: userId,
      candidateName: "Yasmine",
      jobTitle: "Comptable",
    });
    expect(byUserId.status).toBe(409);
    expect(sentTo(newNumber)).toHaveLength(0);
  });

  it("neither a recruiter nor the platform can lift the candidate's own STOP (403 CANDIDATE_OWN_OPT_OUT)", async () => {
    const c = await rig.client();
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "توقف");
    const lift = await api("POST", `/api/clients/${c._id.toHexString()}/opt-outs`, c.jwt, {
      candidatePhone: phone,
      action: "resume",
    });
    expect(lift.status).toBe(403);
    expect(lift.body.error.code).toBe("CANDIDATE_OWN_OPT_OUT");
    expect((await rig.send(c.jwt, firstContact(phone))).status).toBe(409);
    const service = await tokenFor("platform-backend", "service");
    const asPlatform = await api("POST", `/api/clients/${c._id.toHexString()}/opt-outs`, service, {
      candidatePhone: phone,
      action: "resume",
    });
    expect(asPlatform.status).toBe(403);
  });
});

describe("GET/POST /api/clients/:clientId/opt-outs", () => {
  it("adds and lists per tenant; another tenant's recruiter is refused and its own sends are unaffected", async () => {
    const c = await rig.client();
    const other = await rig.client();
    const phone = newPhone();
    const path = `/api/clients/${c._id.toHexString()}/opt-outs`;

    const bad = await api("POST", path, c.jwt, { scope: "all" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("VALIDATION_ERROR");

    const added = await api("POST", path, c.jwt, { candidatePhone: `0${phone.slice(3)}`, reason: "asked by phone" });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ scope: "all", candidates: [phone] });
    const refused = await rig.send(c.jwt, firstContact(phone));
    expect(refused.status).toBe(409);
    expect(refused.body.error?.details).toMatchObject({ source: "recruiter" });

    const list = await optOutsOf(c);
    expect(list.optOuts).toEqual([
      expect.objectContaining({
        candidate: phone,
        scope: "all",
        all: expect.objectContaining({ source: "recruiter" }),
      }),
    ]);
    const trail = await optOutsOf(c, `?candidatePhone=${phone}`);
    expect(trail.changes[0]).toMatchObject({
      action: "opt_out",
      source: "recruiter",
      actor: { role: "recruiter", userId: c.userId },
      reason: "asked by phone",
    });

    // Another tenant: refused on this client, and its own send to the same candidate goes.
    expect((await api("GET", path, other.jwt)).status).toBe(403);
    expect((await api("POST", path, other.jwt, { candidatePhone: phone, action: "resume" })).status).toBe(403);
    expect((await optOutsOf(other)).optOuts).toEqual([]);
    const elsewhere = await rig.send(other.jwt, firstContact(phone));
    expect(elsewhere.status).toBe(202);

    // The platform lists any client's register; the recruiter lifts the opt-out it recorded.
    const service = await tokenFor("platform-backend", "service");
    expect((await api("GET", path, service)).body.optOuts).toHaveLength(1);
    const lifted = await api("POST", path, c.jwt, { candidatePhone: phone, action: "resume" });
    expect(lifted.status).toBe(201);
    expect(lifted.body.scope).toBeNull();
    expect((await optOutsOf(c)).optOuts).toEqual([]);
    expect((await rig.send(c.jwt, firstContact(phone))).status).toBe(202);
  });
});
