import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenFor } from "@linkojob/testing";
import { callFlowEndpoint, flowsState, messagingState, type FlowEndpointRequest } from "@linkojob/meta-simulator";
import { generateFlowKeyPair } from "@linkojob/whatsapp";
import { startOnboardingHarness, type OnboardingHarness } from "../onboarding/onboarding.harness.js";

let h: OnboardingHarness;
let ingressUrl: string;
beforeAll(async () => {
  h = await startOnboardingHarness("flowroutes");
  ingressUrl = await h.app.listen({ port: 0, host: "127.0.0.1" });
});
afterAll(async () => {
  await h?.close();
});

let seq = 0;
async function client() {
  seq++;
  const token = `tok-flows-${h.services.id}-${seq}`;
  const c = await h.db.clients.create({
    userId: `flows-user-${h.services.id}-${seq}`,
    companyName: "ACME",
    phoneNumberId: `88${Date.now() % 1_000_000}${seq}`,
    wabaId: `waba-flows-${h.services.id}-${seq}`,
    whatsappNumber: "212522000000",
    status: "active",
    accessToken: h.vault.encrypt(token),
  });
  const doc = c.toObject();
  return { doc, id: doc._id.toHexString(), token, jwt: await tokenFor(doc.userId, "recruiter") };
}
type Client = Awaited<ReturnType<typeof client>>;

const call = (method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", url: string, jwt: string, payload?: unknown) =>
  h.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${jwt}` },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });

const form = (id = "FORM") => ({
  version: "7.1",
  screens: [
    {
      id,
      title: "Disponibilités",
      terminal: true,
      layout: {
        type: "SingleColumnLayout",
        children: [
          { type: "TextInput", name: "salaire", label: "Salaire attendu" },
          { type: "Footer", label: "Envoyer", "on-click-action": { name: "complete", payload: {} } },
        ],
      },
    },
  ],
});

const slotsFlow = {
  version: "7.1",
  data_api_version: "3.0",
  routing_model: { INTERVIEW_SLOTS: [] },
  screens: [
    {
      id: "INTERVIEW_SLOTS",
      title: "Entretien",
      terminal: true,
      data: { slots: { type: "array", __example__: [] } },
      layout: {
        type: "SingleColumnLayout",
        children: [
          { type: "RadioButtonsGroup", name: "slot", label: "Créneau", "data-source": "${data.slots}" },
          {
            type: "Footer",
            label: "Réserver",
            "on-click-action": { name: "data_exchange", payload: { slot: "${form.slot}" } },
          },
        ],
      },
    },
  ],
};

describe("flows API (Graph, per tenant)", () => {
  it("creates, refuses a bad Flow JSON before Meta, shows Meta's validation errors, publishes, lists, deprecates", async () => {
    const c = await client();
    const base = `/api/clients/${c.id}/flows`;
    const created = await call("POST", base, c.jwt, { name: "disponibilites", categories: ["SURVEY"] });
    expect(created.statusCode).toBe(201);
    const flowId = created.json().id as string;
    expect(flowId).toMatch(/^\d+$/);

    // Checked here: nothing reaches Meta.
    const before = h.sim.state.requestsTo(/\/assets$/).length;
    const bad = await call("PUT", `${base}/${flowId}/json`, c.jwt, {
      screens: [{ id: "A", layout: { type: "Column" } }],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("FLOW_JSON_INVALID");
    expect(bad.json().error.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: "version" }),
        expect.objectContaining({ path: "screens.0.layout.type" }),
      ]),
    );
    expect(h.sim.state.requestsTo(/\/assets$/).length).toBe(before);

    // Well formed at the top, refused by Meta's validation: Meta's errors as given.
    const wrong = form();
    wrong.screens[0]!.layout.children[0] = { type: "TextImput", name: "salaire", label: "Salaire attendu" };
    const metaBad = await call("PUT", `${base}/${flowId}/json`, c.jwt, wrong);
    expect(metaBad.statusCode).toBe(422);
    expect(metaBad.json().error.code).toBe("META_VALIDATION_ERRORS");
    expect(metaBad.json().error.details.flowId).toBe(flowId);
    expect(metaBad.json().error.details.validationErrors).toEqual([
      expect.objectContaining({
        error: "INVALID_PROPERTY_VALUE",
        message: "Invalid value found for property 'type'.",
        pointers: [expect.objectContaining({ path: "screens[0].layout.children[0].type" })],
      }),
    ]);
    // The upload was Meta's multipart assets call.
    const upload = h.sim.state.requestsTo(new RegExp(`/${flowId}/assets$`), "POST").at(-1)!;
    expect(upload.token).toBe(c.token);

    const refused = await call("POST", `${base}/${flowId}/publish`, c.jwt);
    expect(refused.statusCode).toBe(422);
    expect(refused.json().error).toMatchObject({ code: "META_REFUSED", details: { metaCode: 139002 } });
    expect(refused.json().error.message).toContain("validation errors");

    expect((await call("PUT", `${base}/${flowId}/json`, c.jwt, form())).json()).toEqual({
      id: flowId,
      validationErrors: [],
      endpointUri: null,
    });
    expect((await call("POST", `${base}/${flowId}/publish`, c.jwt)).json()).toEqual({ success: true });
    const listed = await call("GET", base, c.jwt);
    expect(listed.statusCode).toBe(200);
    expect(listed.json().flows).toEqual([
      { id: flowId, name: "disponibilites", status: "PUBLISHED", categories: ["SURVEY"], validationErrors: [] },
    ]);

    // Meta's refusals, passed through with their codes.
    const update = await call("PUT", `${base}/${flowId}/json`, c.jwt, form());
    expect(update.json().error.details.metaCode).toBe(139001);
    const del = await call("DELETE", `${base}/${flowId}`, c.jwt);
    expect(del.statusCode).toBe(422);
    expect(del.json().error.details.metaCode).toBe(139004);

    expect((await call("POST", `${base}/${flowId}/deprecate`, c.jwt)).statusCode).toBe(200);
    expect((await call("GET", base, c.jwt)).json().flows[0].status).toBe("DEPRECATED");

    // Metadata: renamed and recategorised at Meta; an empty change is refused here.
    expect(
      (await call("PATCH", `${base}/${flowId}`, c.jwt, { name: "dispo-2026", categories: ["SIGN_UP"] })).json(),
    ).toEqual({
      success: true,
    });
    expect((await call("GET", base, c.jwt)).json().flows[0]).toMatchObject({
      name: "dispo-2026",
      categories: ["SIGN_UP"],
    });
    expect((await call("PATCH", `${base}/${flowId}`, c.jwt, {})).statusCode).toBe(400);
  });

  it("a draft cannot be deprecated (139003) and can be deleted; a flow created with a bad JSON exists as a draft with Meta's errors", async () => {
    const c = await client();
    const base = `/api/clients/${c.id}/flows`;
    const wrong = form();
    wrong.screens[0]!.layout.children[1] = { type: "Fotter", label: "x" } as never;
    const created = await call("POST", base, c.jwt, { name: "f", categories: ["OTHER"], flowJson: wrong });
    expect(created.statusCode).toBe(422);
    const flowId = created.json().error.details.flowId as string;
    expect(created.json().error.details.validationErrors).toHaveLength(1);
    const dep = await call("POST", `${base}/${flowId}/deprecate`, c.jwt);
    expect(dep.statusCode).toBe(422);
    expect(dep.json().error.details).toMatchObject({ metaCode: 139003 });
    expect((await call("DELETE", `${base}/${flowId}`, c.jwt)).json()).toEqual({ success: true });
    expect((await call("GET", base, c.jwt)).json().flows).toEqual([]);
    const gone = await call("POST", `${base}/${flowId}/publish`, c.jwt);
    expect(gone.json().error.details).toMatchObject({ metaCode: 100, metaSubcode: 33 });
  });

  it("gives a data-exchange flow this number's endpoint at Meta", async () => {
    const c = await client();
    const res = await call("POST", `/api/clients/${c.id}/flows`, c.jwt, {
      name: "entretien",
      categories: ["APPOINTMENT_BOOKING"],
      flowJson: slotsFlow,
    });
    expect(res.statusCode).toBe(201);
    const uri = `http://ingress.test/flows/data-exchange/${c.doc.phoneNumberId}`;
    expect(res.json().endpointUri).toBe(uri);
    expect(flowsState(h.sim.state).flows.get(res.json().id)?.endpointUri).toBe(uri);
  });

  it("keeps tenants apart, validates input, and says when the client is not connected or Meta refuses the token", async () => {
    const a = await client();
    const b = await client();
    expect((await call("GET", `/api/clients/${b.id}/flows`, a.jwt)).statusCode).toBe(403);
    const badBody = await call("POST", `/api/clients/${a.id}/flows`, a.jwt, { name: "x", categories: ["NOPE"] });
    expect(badBody.statusCode).toBe(400);
    expect(badBody.json().error.code).toBe("VALIDATION_ERROR");
    expect((await call("POST", `/api/clients/${a.id}/flows/abc/publish`, a.jwt)).statusCode).toBe(400);

    messagingState(h.sim.state).revokedTokens.add(b.token);
    const revoked = await call("GET", `/api/clients/${b.id}/flows`, b.jwt);
    expect(revoked.statusCode).toBe(422);
    expect(revoked.json().error.details).toMatchObject({ metaCode: 190 });
    expect(revoked.body).not.toContain(b.token);

    await h.db.clients.updateOne({ _id: a.doc._id }, { status: "reauth_required" });
    expect((await call("GET", `/api/clients/${a.id}/flows`, a.jwt)).json().error.code).toBe("CLIENT_NOT_CONNECTED");
  });
});

describe("data-exchange endpoint", () => {
  async function withKeyAndSlots() {
    const c = await client();
    const key = await call("POST", `/api/clients/${c.id}/flows/keys`, c.jwt);
    expect(key.statusCode).toBe(201);
    const soon = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();
    const slots = await call("PUT", `/api/clients/${c.id}/flows/interview-slots`, c.jwt, {
      slots: [
        { id: "late", title: "Vendredi 14:00", startsAt: soon(48) },
        { id: "past", title: "Hier", startsAt: soon(-24) },
        { id: "early", title: "Jeudi 10:00", startsAt: soon(24), description: "Agence Casablanca" },
      ],
    });
    expect(slots.statusCode).toBe(200);
    return { c, key: key.json<{ keyId: string; publicKey: string }>() };
  }

  /** A flow message of this client carrying `token`, stored as the outbound worker stores it (or a template's FLOW button). */
  async function sentFlow(c: Client, token: string, via: "interactive" | "template" = "interactive") {
    const request =
      via === "interactive"
        ? { candidatePhone: "212600000001", interactive: { type: "flow", body: "b", cta: "c", flowToken: token } }
        : {
            candidatePhone: "212600000001",
            templateName: "entretien",
            templateButtons: [
              { index: 0, subType: "quick_reply" as const, parameter: "oui" },
              { index: 1, subType: "flow" as const, parameter: token },
            ],
          };
    const res = await h.db.forTenant(c.doc._id).outbound.create({
      conversationId: new Types.ObjectId(),
      request,
      kind: via === "interactive" ? "interactive" : "template",
      cost: 0.4,
      costCategory: "utility",
    });
    expect(res.created).toBe(true);
  }

  const exchange = (c: Client, payload: FlowEndpointRequest, options = {}) =>
    callFlowEndpoint(
      h.sim,
      {
        endpointUrl: `${ingressUrl}/flows/data-exchange/${c.doc.phoneNumberId}`,
        phoneNumberId: c.doc.phoneNumberId,
        payload,
      },
      options,
    );

  it("stores the private key only encrypted, sets the public key at Meta, and never logs or answers the private key", async () => {
    const { c, key } = await withKeyAndSlots();
    expect(flowsState(h.sim.state).publicKeys.get(c.doc.phoneNumberId)).toBe(key.publicKey.trim());
    const raw = await h.db.connection.collection("flow_endpoints").findOne({ clientId: c.doc._id });
    const text = JSON.stringify(raw);
    expect(text).not.toContain("PRIVATE KEY");
    expect(raw?.keys[0]).toMatchObject({
      keyId: key.keyId,
      privateKey: { keyId: expect.any(String), iv: expect.any(String) },
    });
    const listed = await call("GET", `/api/clients/${c.id}/flows/keys`, c.jwt);
    expect(listed.json().keys).toEqual([expect.objectContaining({ keyId: key.keyId, uploadedAt: expect.any(String) })]);
    expect(listed.body).not.toContain("PRIVATE KEY");
    expect(h.logs.join("\n")).not.toContain("PRIVATE KEY");
  });

  it("answers ping, gives the slots screen on INIT, books a slot, and refuses a slot no longer offered", async () => {
    const { c } = await withKeyAndSlots();
    const ping = await exchange(c, { action: "ping" });
    expect(ping.status).toBe(200);
    expect(ping.contentType).toMatch(/^text\/plain/);
    expect(ping.response).toEqual({ data: { status: "active" } });

    const token = `lj1.1234567.INIT.${c.id}`;
    await sentFlow(c, token);
    const init = await exchange(c, { action: "INIT", flow_token: token });
    expect(init.status).toBe(200);
    expect(init.response).toEqual({
      screen: "INTERVIEW_SLOTS",
      data: {
        slots: [
          { id: "early", title: "Jeudi 10:00", description: "Agence Casablanca" },
          { id: "late", title: "Vendredi 14:00" },
        ],
        has_slots: true,
      },
    });

    const booked = await exchange(c, {
      action: "data_exchange",
      screen: "INTERVIEW_SLOTS",
      flow_token: token,
      data: { slot: "late" },
    });
    expect(booked.response).toEqual({
      screen: "SUCCESS",
      data: {
        extension_message_response: {
          params: {
            flow_token: token,
            slot_id: "late",
            slot_title: "Vendredi 14:00",
            slot_starts_at: expect.any(String),
          },
        },
      },
    });
    const stale = await exchange(c, {
      action: "data_exchange",
      screen: "INTERVIEW_SLOTS",
      flow_token: token,
      data: { slot: "past" },
    });
    expect(stale.response).toMatchObject({
      screen: "INTERVIEW_SLOTS",
      data: { error_message: expect.stringContaining("plus disponible"), has_slots: true },
    });
    // A template's FLOW button carries a token of ours too.
    const buttonToken = `lj1.1234567.INIT.button${c.id}`;
    await sentFlow(c, buttonToken, "template");
    expect((await exchange(c, { action: "INIT", flow_token: buttonToken })).status).toBe(200);
    const back = await exchange(c, { action: "BACK", screen: "INTERVIEW_SLOTS", flow_token: token });
    expect(back.response).toMatchObject({ screen: "INTERVIEW_SLOTS" });
    const notice = await exchange(c, {
      action: "data_exchange",
      screen: "INTERVIEW_SLOTS",
      flow_token: token,
      data: { error: "x", error_message: "y" },
    });
    expect(notice.response).toEqual({ data: { acknowledged: true } });
  });

  it("427 for a token this client never sent (another client's included), 421 for what cannot be decrypted, 432 for a bad signature", async () => {
    const { c } = await withKeyAndSlots();
    const { c: other } = await withKeyAndSlots();
    const othersToken = `lj1.99.INIT.${other.id}`;
    await sentFlow(other, othersToken);
    expect((await exchange(c, { action: "INIT", flow_token: "lj1.1.INIT.nope" })).status).toBe(427);
    expect((await exchange(c, { action: "INIT", flow_token: othersToken })).status).toBe(427);
    expect((await exchange(c, { action: "INIT" })).status).toBe(427);

    const garbage = await exchange(c, { action: "ping" }, { rawBody: "not json at all" });
    expect(garbage.status).toBe(421);
    expect(JSON.parse(garbage.text).error.code).toBe("DECRYPTION_FAILED");
    expect((await exchange(c, { action: "ping" }, { rawBody: JSON.stringify({ a: 1 }) })).status).toBe(421);
    // Encrypted with a key that is not this number's.
    const stranger = generateFlowKeyPair();
    expect((await exchange(c, { action: "ping" }, { publicKeyPem: stranger.publicKey })).status).toBe(421);

    const forged = await exchange(c, { action: "ping" }, { appSecret: "not-the-app-secret" });
    expect(forged.status).toBe(432);
    expect(JSON.parse(forged.text).error.code).toBe("INVALID_SIGNATURE");
  });

  it("after a rotation, requests encrypted with the previous key still decrypt", async () => {
    const { c, key } = await withKeyAndSlots();
    const rotated = await call("POST", `/api/clients/${c.id}/flows/keys`, c.jwt);
    expect(rotated.json().keyId).not.toBe(key.keyId);
    expect((await exchange(c, { action: "ping" }, { publicKeyPem: key.publicKey })).status).toBe(200);
    expect((await exchange(c, { action: "ping" })).status).toBe(200);
  });
});
