import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import type { MessagePayload } from "@linkojob/events";
import { callFlowEndpoint, flowsState, type FlowEndpointRequest } from "@linkojob/meta-simulator";
import { TEST_SECRETS } from "@linkojob/testing";
import { TokenVault } from "@linkojob/vault";
import { GraphClient } from "@linkojob/whatsapp";
import { startOutbound, type OutboundRig } from "../harness/outbound.harness.js";

/**
 * WhatsApp Flows end to end, on real parts (only Meta simulated): the flows API of a listening
 * ingress drives the simulator's Flows API over HTTP; the number's key pair is made and its public key
 * set at "Meta"; a data_exchange flow goes out through the send API, the outbound worker and the
 * simulator; the simulator then plays Meta's flow client against the ingress's data-exchange endpoint
 * (encrypted with the uploaded key, signed with the app secret), and the candidate's completion comes
 * back as a webhook stored with the slot they booked.
 */

/** The ingress's public URL as Meta knows it (BASE_URL); the test reaches it on its listening port. */
const BASE_URL = "https://gateway.linkojob.test";
let rig: OutboundRig;
let graph: GraphClient;
beforeAll(async () => {
  rig = await startOutbound(
    "flowsys",
    {},
    {
      onboarding: (sim) => {
        graph = new GraphClient({ baseUrl: sim.url, version: "v26.0" });
        return {
          config: {
            appId: TEST_SECRETS.appId,
            appSecret: TEST_SECRETS.appSecret,
            apiVersion: "v26.0",
            baseUrl: BASE_URL,
            dashboardUrl: `${BASE_URL}/`,
            dialogUrl: sim.url,
            stateSecret: TEST_SECRETS.jwtSecret,
            keyPrefix: "flowsys",
            checkIntervalSeconds: 0,
          },
          graph,
          vault: new TokenVault([TEST_SECRETS.tokenKey]),
        };
      },
    },
  );
});
afterAll(async () => {
  await rig?.close();
  await graph?.close();
});

async function api(method: string, path: string, jwt: string, body?: unknown) {
  const res = await request(`${rig.trunk.ingressUrl}${path}`, {
    method: method as "GET",
    headers: { authorization: `Bearer ${jwt}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : undefined };
}

const screen = (children: unknown[], extra: Record<string, unknown> = {}) => ({
  id: "DISPONIBILITES",
  title: "Disponibilités",
  terminal: true,
  layout: { type: "SingleColumnLayout", children },
  ...extra,
});
const availability = (inputType = "TextInput") => ({
  version: "7.1",
  screens: [
    screen([
      { type: inputType, name: "salaire", label: "Salaire attendu" },
      { type: "Footer", label: "Envoyer", "on-click-action": { name: "complete", payload: {} } },
    ]),
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

describe("flows, end to end", () => {
  it("creates a flow, shows Meta's validation errors for a bad JSON, publishes, lists and deprecates it", async () => {
    const c = await rig.client();
    const base = `/api/clients/${c._id.toHexString()}/flows`;
    const created = await api("POST", base, c.jwt, { name: "disponibilites", categories: ["SURVEY"] });
    expect(created.status).toBe(201);
    const flowId = created.json.id as string;

    const local = await api("PUT", `${base}/${flowId}/json`, c.jwt, { version: "7.1", screens: [] });
    expect(local.status).toBe(400);
    expect(local.json.error).toMatchObject({ code: "FLOW_JSON_INVALID", details: [{ path: "screens" }] });

    const metaBad = await api("PUT", `${base}/${flowId}/json`, c.jwt, availability("TextImput"));
    expect(metaBad.status).toBe(422);
    expect(metaBad.json.error.details.validationErrors).toEqual([
      expect.objectContaining({
        error: "INVALID_PROPERTY_VALUE",
        pointers: [expect.objectContaining({ path: "screens[0].layout.children[0].type" })],
      }),
    ]);
    const early = await api("POST", `${base}/${flowId}/publish`, c.jwt);
    expect(early.status).toBe(422);
    expect(early.json.error.details.metaCode).toBe(139002);

    expect((await api("PUT", `${base}/${flowId}/json`, c.jwt, availability())).status).toBe(200);
    expect((await api("POST", `${base}/${flowId}/publish`, c.jwt)).json).toEqual({ success: true });
    const listed = await api("GET", base, c.jwt);
    expect(listed.json.flows).toEqual([
      expect.objectContaining({ id: flowId, status: "PUBLISHED", validationErrors: [] }),
    ]);
    expect((await api("POST", `${base}/${flowId}/deprecate`, c.jwt)).status).toBe(200);
    expect((await api("GET", base, c.jwt)).json.flows[0].status).toBe("DEPRECATED");
    // At "Meta", over HTTP, with the tenant's own token.
    expect(flowsState(rig.trunk.sim.state).flows.get(flowId)).toMatchObject({ status: "DEPRECATED", wabaId: c.wabaId });
    expect(rig.trunk.sim.state.requestsTo(new RegExp(`/${flowId}/publish$`)).every((r) => r.token === c.token)).toBe(
      true,
    );
  });

  it("offers the platform's interview slots through the encrypted data-exchange endpoint, and stores the slot the candidate booked", async () => {
    const c = await rig.client();
    const clientId = c._id.toHexString();
    const base = `/api/clients/${clientId}/flows`;
    expect((await api("POST", `${base}/keys`, c.jwt)).status).toBe(201);
    const inDays = (d: number, h: number) => new Date(Date.now() + d * 86_400_000 + h * 3_600_000).toISOString();
    await api("PUT", `${base}/interview-slots`, c.jwt, {
      slots: [
        { id: "thu-10", title: "Jeudi 10:00", startsAt: inDays(2, 0), description: "Agence Casablanca" },
        { id: "fri-14", title: "Vendredi 14:00", startsAt: inDays(3, 4) },
      ],
    });
    const created = await api("POST", base, c.jwt, {
      name: "entretien",
      categories: ["APPOINTMENT_BOOKING"],
      flowJson: slotsFlow,
    });
    expect(created.status).toBe(201);
    const flowId = created.json.id as string;
    expect((await api("POST", `${base}/${flowId}/publish`, c.jwt)).status).toBe(200);
    const endpointUri = flowsState(rig.trunk.sim.state).flows.get(flowId)!.endpointUri!;
    expect(endpointUri).toBe(`${BASE_URL}/flows/data-exchange/${c.phoneNumberId}`);
    // Meta calls BASE_URL; here that is the listening ingress.
    const endpointUrl = rig.trunk.ingressUrl + new URL(endpointUri).pathname;
    const metaCalls = (payload: FlowEndpointRequest, options = {}) =>
      callFlowEndpoint(rig.trunk.sim, { endpointUrl, phoneNumberId: c.phoneNumberId, payload }, options);

    // Meta's health check.
    const ping = await metaCalls({ action: "ping" });
    expect(ping).toMatchObject({ status: 200, response: { data: { status: "active" } } });

    // The recruiter sends the flow (data_exchange: its first screen comes from the endpoint).
    const phone = "212661234567";
    await rig.candidateWrites(c, phone, "Bonjour, je suis disponible", 60_000);
    const sent = await rig.send(c.jwt, {
      candidatePhone: phone,
      interactive: {
        type: "flow",
        body: "Choisissez votre entretien",
        cta: "Choisir",
        flowId,
        action: "data_exchange",
      },
    });
    expect(sent.status).toBe(202);
    const m = await rig.until(c, sent.body.messageId, ["sent", "delivered", "read"]);
    const params = (
      rig.acceptedFor(sent.body.messageId)[0]!.body.interactive as { action: { parameters: Record<string, unknown> } }
    ).action.parameters;
    expect(params).toMatchObject({ flow_id: flowId, flow_action: "data_exchange" });
    const token = params.flow_token as string;

    const init = await metaCalls({ action: "INIT", flow_token: token });
    expect(init.status).toBe(200);
    expect(init.response).toEqual({
      screen: "INTERVIEW_SLOTS",
      data: {
        slots: [
          { id: "thu-10", title: "Jeudi 10:00", description: "Agence Casablanca" },
          { id: "fri-14", title: "Vendredi 14:00" },
        ],
        has_slots: true,
      },
    });
    const booked = await metaCalls({
      action: "data_exchange",
      screen: "INTERVIEW_SLOTS",
      flow_token: token,
      data: { slot: "fri-14" },
    });
    const completion = booked.response as {
      screen: string;
      data: { extension_message_response: { params: Record<string, unknown> } };
    };
    expect(completion.screen).toBe("SUCCESS");
    expect(completion.data.extension_message_response.params).toMatchObject({ flow_token: token, slot_id: "fri-14" });

    // Meta's refusals.
    expect((await metaCalls({ action: "INIT", flow_token: `lj1.${flowId}.INIT.forged` })).status).toBe(427);
    expect((await metaCalls({ action: "ping" }, { rawBody: "{garbage" })).status).toBe(421);
    expect((await metaCalls({ action: "ping" }, { appSecret: "another-apps-secret" })).status).toBe(432);

    // The candidate's completion: Meta's nfm_reply carries the params, stored as the form's answers.
    const reply = await request(`${rig.trunk.sim.url}/_sim/candidates/reply`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        phoneNumberId: c.phoneNumberId,
        wabaId: c.wabaId,
        from: phone,
        type: "interactive",
        interactive: { type: "nfm_reply", response: completion.data.extension_message_response.params },
        context: { id: m.wamid },
      }),
    });
    expect(reply.statusCode).toBe(200);
    await reply.body.dump();
    await rig.trunk.drain();
    const conv = await rig.trunk.db.conversations.findOne({ clientId: c._id, candidatePhone: phone }).lean();
    const thread = await api("GET", `/api/messages/conversation/${conv!._id.toHexString()}`, c.jwt);
    const answer = (thread.json.messages as MessagePayload[]).find(
      (x) => x.direction === "inbound" && x.type === "interactive",
    );
    expect(answer?.content).toMatchObject({
      type: "nfm_reply",
      flow: { token, flowId, answers: { slot_id: "fri-14", slot_title: "Vendredi 14:00" } },
    });
  });
});
