import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { z } from "zod";
import { verifyWebhookSignature, type statusSchema } from "@linkojob/whatsapp";
import { MetaSimulator } from "../simulator.js";
import { ERROR_CODES_URL } from "../webhooks/payloads.js";
import { startRecordingReceiver, type RecordingReceiver } from "../webhooks/recording-receiver.js";
import { userIdForPhone } from "../webhooks/user-ids.js";
import { messagingState, settleStatusFlows } from "./messaging-state.js";

/**
 * The send API of the simulator with Meta's 2026 behaviour turned on (enforceWindow,
 * enforceTemplateParams), over real HTTP: the 24-hour window as the simulator learns it from what it
 * delivers, unknown user ids, template parameters, `recipient` sends, and statuses with
 * recipient_user_id and pricing on `sent` and one of `delivered` / `read`, as Meta's status reference has it.
 */

const secret = "sim-messaging-test-secret";
const business = { phoneNumberId: "555000222", wabaId: "100200400", displayPhoneNumber: "212522000002" };
const token = "sim-test-token";

let receiver: RecordingReceiver;
let sim: MetaSimulator;
let phoneSeq = 0;
const newPhone = () => `2126${String(10_000_000 + ++phoneSeq * 7919).slice(-8)}`;

beforeAll(async () => {
  receiver = await startRecordingReceiver((post) =>
    verifyWebhookSignature(post.raw, post.headers["x-hub-signature-256"], secret) ? 200 : 401,
  );
  sim = await MetaSimulator.create({
    appSecret: secret,
    webhookUrl: receiver.url,
    enforceWindow: true,
    enforceTemplateParams: true,
  });
  await sim.listen();
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
});

const TEMPLATES = [
  {
    name: "application_received",
    language: "fr",
    category: "UTILITY",
    components: [{ type: "BODY", text: "Bonjour {{1}}, votre candidature pour {{2}} est bien reçue." }],
  },
  {
    name: "job_offer",
    language: "fr",
    category: "MARKETING",
    components: [{ type: "BODY", text: "Nouvelle offre : {{1}}" }],
  },
  {
    name: "interview_invite",
    language: "fr",
    category: "UTILITY",
    components: [
      { type: "HEADER", format: "IMAGE" },
      { type: "BODY", text: "Bonjour {{1}}, entretien le {{2}}." },
      {
        type: "BUTTONS",
        buttons: [
          { type: "QUICK_REPLY", text: "Oui, disponible" },
          { type: "URL", text: "Détails", url: "https://linkojob.ma/o/{{1}}" },
        ],
      },
    ],
  },
  {
    name: "named_hello",
    language: "fr",
    category: "UTILITY",
    parameter_format: "NAMED",
    components: [{ type: "BODY", text: "Bonjour {{first_name}}, poste {{job}}" }],
  },
  { name: "paused_one", language: "fr", status: "PAUSED", components: [{ type: "BODY", text: "x" }] },
];

beforeEach(async () => {
  await call("POST", "/_sim/messaging/reset");
  await call("PUT", "/_sim/messaging/numbers", { [business.phoneNumberId]: business.wabaId });
  expect((await call("PUT", `/_sim/messaging/templates/${business.wabaId}`, { templates: TEMPLATES })).status).toBe(
    200,
  );
  receiver.received.length = 0;
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(sim.url + path, {
    method,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const send = (body: Record<string, unknown>) =>
  call(
    "POST",
    `/v26.0/${business.phoneNumberId}/messages`,
    { messaging_product: "whatsapp", recipient_type: "individual", ...body },
    { authorization: `Bearer ${token}` },
  );
const text = (to: Record<string, string>, body = "Bonjour") => send({ ...to, type: "text", text: { body } });
const template = (to: Record<string, string>, name: string, components: unknown[]) =>
  send({ ...to, type: "template", template: { name, language: { code: "fr", policy: "deterministic" }, components } });
const bodyParams = (...texts: string[]) => ({
  type: "body",
  parameters: texts.map((t) => ({ type: "text", text: t })),
});

const candidateWrites = (fields: Record<string, unknown>) =>
  call("POST", "/_sim/candidates/reply", { ...business, name: "Yasmine", type: "text", text: "Bonjour", ...fields });

/** A status as the receiver got it (the webhook's own JSON, before any parsing). */
type ReceivedStatus = z.input<typeof statusSchema>;
/** The part of a status delivery these tests read. */
interface StatusDelivery {
  entry: Array<{ changes: Array<{ value: { statuses?: ReceivedStatus[] } }> }>;
}

/** Every status the receiver got for a wamid, in order, after the status flows settled. */
async function statusesOf(wamid: string): Promise<ReceivedStatus[]> {
  await settleStatusFlows(messagingState(sim.state));
  return receiver.received
    .map((p) => JSON.parse(p.raw.toString("utf8")) as StatusDelivery)
    .flatMap((d) => d.entry.flatMap((e) => e.changes.flatMap((c) => c.value.statuses ?? [])))
    .filter((s) => s.id === wamid);
}

describe("the 24-hour window, as the simulator knows it", () => {
  it("a text to someone who never wrote is accepted, then reported failed with 131047 (Meta's details and href)", async () => {
    const phone = newPhone();
    const res = await text({ to: phone });
    expect(res.status).toBe(200);
    const wamid = res.json.messages[0].id;
    const statuses = await statusesOf(wamid);
    expect(statuses).toEqual([
      expect.objectContaining({
        status: "failed",
        recipient_id: phone,
        recipient_user_id: userIdForPhone(phone),
        errors: [
          {
            code: 131047,
            title: "Re-engagement message",
            message: "Re-engagement message",
            error_data: {
              details:
                "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
            },
            href: ERROR_CODES_URL,
          },
        ],
      }),
    ]);
    expect(statuses[0]!.pricing).toBeUndefined();
  });

  it("a failed status for a number that is not on WhatsApp (131026) names the phone only: Meta has no user id to give", async () => {
    const phone = newPhone();
    expect(
      (await call("POST", "/_sim/messaging/faults/recipient", { recipient: phone, code: 131026, async: true })).status,
    ).toBe(200);
    const res = await template({ to: phone }, "application_received", [bodyParams("a", "b")]);
    const statuses = await statusesOf(res.json.messages[0].id);
    expect(statuses).toEqual([expect.objectContaining({ status: "failed", recipient_id: phone })]);
    expect(statuses[0]).not.toHaveProperty("recipient_user_id");
    expect(statuses[0]).not.toHaveProperty("pricing");
    expect(statuses[0]).not.toHaveProperty("conversation");
    expect(statuses[0]!.errors).toEqual([expect.objectContaining({ code: 131026 })]);
  });

  it("after the candidate writes through the simulator, texts go and flow sent → delivered → read", async () => {
    const phone = newPhone();
    expect((await candidateWrites({ from: phone })).status).toBe(200);
    const res = await text({ to: phone });
    expect(res.status).toBe(200);
    expect((await statusesOf(res.json.messages[0].id)).map((s) => s.status)).toEqual(["sent", "delivered", "read"]);
  });

  it("a last message older than 24 h (Meta's timestamp) closes it; a template still goes", async () => {
    const phone = newPhone();
    await candidateWrites({ from: phone, timestamp: Math.floor(Date.now() / 1000) - 25 * 3600 });
    const t = await text({ to: phone });
    expect((await statusesOf(t.json.messages[0].id)).map((s) => [s.status, s.errors?.[0]?.code])).toEqual([
      ["failed", 131047],
    ]);
    const tpl = await template({ to: phone }, "application_received", [bodyParams("Yasmine", "Comptable")]);
    expect(tpl.status).toBe(200);
    expect((await statusesOf(tpl.json.messages[0].id)).map((s) => s.status)).toEqual(["sent", "delivered", "read"]);
  });

  it("learns from payloads delivered as given and from what a test tells it, not from system messages", async () => {
    const [viaDeliver, told, system] = [newPhone(), newPhone(), newPhone()];
    const payload = {
      object: "whatsapp_business_account",
      entry: [
        {
          id: business.wabaId,
          changes: [
            {
              field: "messages",
              value: {
                messaging_product: "whatsapp",
                metadata: {
                  display_phone_number: business.displayPhoneNumber,
                  phone_number_id: business.phoneNumberId,
                },
                contacts: [{ profile: { name: "A" }, wa_id: viaDeliver }],
                messages: [
                  {
                    from: viaDeliver,
                    id: "wamid.given",
                    timestamp: String(Math.floor(Date.now() / 1000)),
                    type: "text",
                    text: { body: "Salam" },
                  },
                ],
              },
            },
          ],
        },
      ],
    };
    expect((await call("POST", "/_sim/webhooks/deliver", { payload })).status).toBe(200);
    const toldRes = await call("POST", "/_sim/messaging/windows", {
      phoneNumberId: business.phoneNumberId,
      waId: told,
    });
    expect(toldRes.json).toMatchObject({ waId: told, open: true, lastInboundAt: expect.any(Number) });
    await candidateWrites({ from: system, type: "system", text: undefined, system: { newWaId: newPhone() } });

    const results = await Promise.all([viaDeliver, told, system].map((p) => text({ to: p })));
    const outcomes = await Promise.all(
      results.map(async (r) => (await statusesOf(r.json.messages[0].id)).at(-1)!.status),
    );
    expect(outcomes).toEqual(["read", "read", "failed"]);
    // The window's state is readable.
    const view = await call(
      "GET",
      `/_sim/messaging/windows?phoneNumberId=${business.phoneNumberId}&waId=${viaDeliver}`,
    );
    expect(view.json).toMatchObject({ waId: viaDeliver, userId: userIdForPhone(viaDeliver), open: true });
    expect(
      (await call("GET", `/_sim/messaging/windows?phoneNumberId=${business.phoneNumberId}&waId=212600000001`)).status,
    ).toBe(404);
    expect((await call("POST", "/_sim/messaging/windows", { phoneNumberId: business.phoneNumberId })).status).toBe(400);
  });

  it("the window is per business number", async () => {
    const phone = newPhone();
    await candidateWrites({ from: phone, phoneNumberId: "555999999" });
    const res = await text({ to: phone });
    expect((await statusesOf(res.json.messages[0].id)).map((s) => s.status)).toEqual(["failed"]);
  });

  it("is off by default and can be switched at run time, so harnesses that seed MongoDB keep working", async () => {
    const plain = await MetaSimulator.create({ appSecret: secret, webhookUrl: receiver.url });
    await plain.listen();
    try {
      const res = await fetch(`${plain.url}/_sim/messaging/enforcement`);
      expect(await res.json()).toEqual({ window: false, templateParams: false });
    } finally {
      await plain.close();
    }
    expect((await call("PUT", "/_sim/messaging/enforcement", { window: false })).json).toEqual({
      window: false,
      templateParams: true,
    });
    const res = await text({ to: newPhone() });
    expect((await statusesOf(res.json.messages[0].id)).map((s) => s.status)).toEqual(["sent", "delivered", "read"]);
    expect((await call("PUT", "/_sim/messaging/enforcement", { window: "yes" })).status).toBe(400);
    // A reset goes back to the simulator's options.
    await call("POST", "/_sim/messaging/reset");
    expect((await call("GET", "/_sim/messaging/enforcement")).json).toEqual({ window: true, templateParams: true });
  });
});

describe("template parameters against the templates the simulator knows", () => {
  const image = { type: "header", parameters: [{ type: "image", image: { link: "https://linkojob.ma/affiche.jpg" } }] };
  const urlButton = { type: "button", sub_type: "url", index: "1", parameters: [{ type: "text", text: "abc123" }] };
  const cases: Array<[string, string, unknown[], number, RegExp?]> = [
    ["right count", "application_received", [bodyParams("Yasmine", "Comptable")], 200],
    [
      "one parameter short",
      "application_received",
      [bodyParams("Yasmine")],
      132000,
      /body: number of localizable_params \(1\) does not match the expected number of params \(2\)/,
    ],
    ["no body at all", "application_received", [], 132000, /\(0\) .* \(2\)/],
    [
      "a header the template does not have",
      "application_received",
      [{ type: "header", parameters: [{ type: "text", text: "x" }] }, bodyParams("a", "b")],
      132000,
      /header/,
    ],
    ["image header, body, url button", "interview_invite", [image, bodyParams("Karim", "lundi"), urlButton], 200],
    [
      "quick reply payload is optional",
      "interview_invite",
      [
        image,
        bodyParams("Karim", "lundi"),
        urlButton,
        { type: "button", sub_type: "quick_reply", index: "0", parameters: [{ type: "payload", payload: "YES" }] },
      ],
      200,
    ],
    [
      "image header missing",
      "interview_invite",
      [bodyParams("Karim", "lundi"), urlButton],
      132000,
      /header: .*\(0\).*\(1\)/,
    ],
    [
      "document where the header is an image",
      "interview_invite",
      [
        { type: "header", parameters: [{ type: "document", document: { id: "1" } }] },
        bodyParams("Karim", "lundi"),
        urlButton,
      ],
      132012,
      /expected IMAGE, received DOCUMENT/,
    ],
    [
      "url button parameter missing",
      "interview_invite",
      [image, bodyParams("Karim", "lundi")],
      132000,
      /button 1 \(url\)/,
    ],
    [
      "a button index the template lacks",
      "interview_invite",
      [image, bodyParams("Karim", "lundi"), urlButton, { type: "button", sub_type: "url", index: "5", parameters: [] }],
      132000,
      /index 5/,
    ],
    [
      "named parameters",
      "named_hello",
      [
        {
          type: "body",
          parameters: [
            { type: "text", parameter_name: "first_name", text: "Sara" },
            { type: "text", parameter_name: "job", text: "Cariste" },
          ],
        },
      ],
      200,
    ],
    [
      "a named parameter missing",
      "named_hello",
      [
        {
          type: "body",
          parameters: [
            { type: "text", parameter_name: "first_name", text: "Sara" },
            { type: "text", parameter_name: "poste", text: "Cariste" },
          ],
        },
      ],
      132000,
      /missing parameter_name job/,
    ],
    ["a paused template", "paused_one", [], 132015],
    ["a template it does not have", "unknown_template", [], 132001],
  ];

  it.each(cases)("%s", async (_label, name, components, expected, details) => {
    const phone = newPhone();
    const before = messagingState(sim.state).accepted.length;
    const res = await template({ to: phone }, name, components);
    if (expected === 200) {
      expect(res.status).toBe(200);
      expect(messagingState(sim.state).accepted).toHaveLength(before + 1);
      return;
    }
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: expected, type: "OAuthException", fbtrace_id: expect.any(String) });
    if (details) expect(res.json.error.error_data.details).toMatch(details);
    // Refused before anything was accepted or any status sent.
    expect(messagingState(sim.state).accepted).toHaveLength(before);
    expect(messagingState(sim.state).rejected.at(-1)).toMatchObject({ code: expected, cause: "template" });
  });
});

describe("username-only candidates and sends by user id (recipient)", () => {
  it("a candidate with a username and no phone writes; the reply goes by recipient; statuses carry only recipient_user_id", async () => {
    const userId = "MA.50000000000000000001";
    const res = await candidateWrites({ userId, username: "yasmine.b", text: "Bonjour, je cherche un poste" });
    expect(res.status).toBe(200);
    const value = res.json.payload.entry[0].changes[0].value;
    expect(value.contacts).toEqual([{ profile: { name: "Yasmine", username: "yasmine.b" }, user_id: userId }]);
    expect(value.messages[0].from).toBeUndefined();
    expect(value.messages[0].from_user_id).toBe(userId);

    const sent = await text({ recipient: userId }, "Merci, êtes-vous disponible ?");
    expect(sent.status).toBe(200);
    expect(sent.json.contacts).toEqual([{ input: userId, user_id: userId }]);
    const statuses = await statusesOf(sent.json.messages[0].id);
    expect(statuses.map((s) => s.status)).toEqual(["sent", "delivered", "read"]);
    for (const s of statuses) {
      expect(s.recipient_user_id).toBe(userId);
      expect(s.recipient_id).toBeUndefined();
    }
    // The status deliveries name the recipient in contacts too, by user id only.
    const values = receiver.received
      .map((p) => JSON.parse(p.raw.toString("utf8")).entry[0].changes[0].value)
      .filter((v) => v.statuses?.[0]?.id === sent.json.messages[0].id);
    expect(values.map((v) => v.contacts)).toEqual([
      [{ user_id: userId }],
      [{ user_id: userId }],
      [{ user_id: userId }],
    ]);
    expect(messagingState(sim.state).accepted.at(-1)).toMatchObject({ to: "", recipientUserId: userId });
  });

  it("an id the simulator never saw fails with 131062; a malformed one with 100; with both, to wins", async () => {
    const unknown = await text({ recipient: "MA.99999999999999999999" });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatchObject({ code: 131062 });
    const malformed = await text({ recipient: "212612345678" });
    expect(malformed.status).toBe(400);
    expect(malformed.json.error).toMatchObject({
      code: 100,
      error_data: { details: expect.stringMatching(/business-scoped user id/) },
    });
    const neither = await send({ type: "text", text: { body: "x" } });
    expect(neither.json.error).toMatchObject({ code: 100 });

    const phone = newPhone();
    await candidateWrites({ from: phone });
    const both = await text({ to: phone, recipient: "MA.99999999999999999999" });
    expect(both.status).toBe(200);
    expect(both.json.contacts).toEqual([{ input: phone, wa_id: phone }]);
    const [first] = await statusesOf(both.json.messages[0].id);
    expect(first).toMatchObject({ recipient_id: phone, recipient_user_id: userIdForPhone(phone) });
  });
});

describe("pricing: on sent and on one of delivered / read, by type and window", () => {
  const pricingOf = async (wamid: string) => (await statusesOf(wamid)).map((s) => [s.status, s.pricing ?? null]);

  /** Replays the rule before 2026-10-01 (service and in-window utility free) for the body of `run`. */
  const beforeServiceBilling = async (run: () => Promise<void>) => {
    const state = messagingState(sim.state);
    const from = state.serviceBilledFrom;
    state.serviceBilledFrom = Number.POSITIVE_INFINITY;
    try {
      await run();
    } finally {
      state.serviceBilledFrom = from;
    }
  };

  it("a text inside the window: billed service since 2026-10-01 (free service before), on sent and delivered, not read", async () => {
    const phone = newPhone();
    await candidateWrites({ from: phone });
    const res = await text({ to: phone });
    const billed = { billable: true, pricing_model: "PMP", type: "regular", category: "service" };
    expect(await pricingOf(res.json.messages[0].id)).toEqual([
      ["sent", billed],
      ["delivered", billed],
      ["read", null],
    ]);
    await beforeServiceBilling(async () => {
      const earlier = await text({ to: phone });
      const free = { billable: false, pricing_model: "PMP", type: "free_customer_service", category: "service" };
      expect(await pricingOf(earlier.json.messages[0].id)).toEqual([
        ["sent", free],
        ["delivered", free],
        ["read", null],
      ]);
    });
  });

  it("a utility template inside the window: billed since 2026-10-01 (free_customer_service before); outside it, or marketing, billed", async () => {
    const inside = newPhone();
    await candidateWrites({ from: inside });
    const a = await template({ to: inside }, "application_received", [bodyParams("a", "b")]);
    const b = await template({ to: newPhone() }, "application_received", [bodyParams("a", "b")]);
    const c = await template({ to: inside }, "job_offer", [bodyParams("Cariste")]);
    const delivered = async (r: Awaited<ReturnType<typeof call>>) =>
      (await statusesOf(r.json.messages[0].id)).find((s) => s.status === "delivered")!.pricing;
    const billedUtility = { billable: true, pricing_model: "PMP", type: "regular", category: "utility" };
    expect(await delivered(a)).toEqual(billedUtility);
    expect(await delivered(b)).toEqual(billedUtility);
    expect(await delivered(c)).toEqual({
      billable: true,
      pricing_model: "PMP",
      type: "regular",
      category: "marketing",
    });
    await beforeServiceBilling(async () => {
      const earlierInside = await template({ to: inside }, "application_received", [bodyParams("a", "b")]);
      const earlierOutside = await template({ to: newPhone() }, "application_received", [bodyParams("a", "b")]);
      expect(await delivered(earlierInside)).toEqual({
        billable: false,
        pricing_model: "PMP",
        type: "free_customer_service",
        category: "utility",
      });
      expect(await delivered(earlierOutside)).toEqual(billedUtility);
    });
  });

  it("when delivered is skipped, read carries the pricing with sent", async () => {
    await call("PUT", "/_sim/messaging/status-flow", { delivered: false });
    const res = await template({ to: newPhone() }, "application_received", [bodyParams("a", "b")]);
    const billed = { billable: true, pricing_model: "PMP", type: "regular", category: "utility" };
    expect(await pricingOf(res.json.messages[0].id)).toEqual([
      ["sent", billed],
      ["read", billed],
    ]);
  });

  it("a chat opened from a click-to-WhatsApp ad is a free entry point, with its conversation object", async () => {
    const phone = newPhone();
    await candidateWrites({ from: phone, referral: true });
    const res = await template({ to: phone }, "job_offer", [bodyParams("Cariste")]);
    const delivered = (await statusesOf(res.json.messages[0].id)).find((s) => s.status === "delivered")!;
    expect(delivered.pricing).toEqual({
      billable: false,
      pricing_model: "PMP",
      type: "free_entry_point",
      category: "marketing",
    });
    expect(delivered.conversation).toMatchObject({
      origin: { type: "referral_conversion" },
      expiration_timestamp: expect.stringMatching(/^\d+$/),
    });
  });
});

describe("identity changes move the window with the person", () => {
  it("user_changed_number: the user id is regenerated with the number; the new number and id are in the window, the old ones no longer reach them", async () => {
    const [old, next] = [newPhone(), newPhone()];
    await candidateWrites({ from: old });
    const res = await call("POST", "/_sim/candidates/identity-change", {
      ...business,
      change: "number",
      from: old,
      newWaId: next,
      name: "Yasmine",
    });
    expect(res.status).toBe(200);
    const value = res.json.payload.entry[0].changes[0].value;
    expect(value.contacts).toBeUndefined();
    const regenerated = res.json.identity.userId as string;
    expect(regenerated).toMatch(/^MA\./);
    expect(regenerated).not.toBe(userIdForPhone(old));
    expect(value.messages[0]).toMatchObject({
      from: old,
      from_user_id: userIdForPhone(old),
      type: "system",
      system: {
        type: "user_changed_number",
        wa_id: next,
        user_id: regenerated,
        previous_user_id: userIdForPhone(old),
        body: `User Yasmine changed from ${old} to ${next}`,
      },
    });
    expect(res.json.identity).toEqual({
      waId: next,
      userId: regenerated,
      previousWaId: old,
      previousUserId: userIdForPhone(old),
    });

    expect((await text({ recipient: userIdForPhone(old) })).json.error).toMatchObject({ code: 131062 });
    const byNewId = await text({ recipient: regenerated });
    expect((await statusesOf(byNewId.json.messages[0].id)).map((s) => s.status)).toEqual(["sent", "delivered", "read"]);
    const toNew = await text({ to: next });
    const toOld = await text({ to: old });
    expect((await statusesOf(toNew.json.messages[0].id)).map((s) => [s.status, s.recipient_user_id])).toEqual([
      ["sent", regenerated],
      ["delivered", regenerated],
      ["read", regenerated],
    ]);
    expect((await statusesOf(toOld.json.messages[0].id)).map((s) => s.status)).toEqual(["failed"]);
  });

  it("user_changed_number with newUserId null plays the older payload: the user id stays", async () => {
    const [old, next] = [newPhone(), newPhone()];
    await candidateWrites({ from: old });
    const res = await call("POST", "/_sim/candidates/identity-change", {
      ...business,
      change: "number",
      from: old,
      newWaId: next,
      newUserId: null,
    });
    expect(res.json.identity).toEqual({ waId: next, userId: userIdForPhone(old), previousWaId: old });
    const system = res.json.payload.entry[0].changes[0].value.messages[0].system;
    expect(system).toMatchObject({ user_id: userIdForPhone(old) });
    expect(system.previous_user_id).toBeUndefined();
  });

  it("user_changed_user_id: previous_user_id → user_id, no phone; sends follow the new id, the old id is unknown", async () => {
    const previous = "MA.60000000000000000001";
    await candidateWrites({ userId: previous, username: "karim" });
    const res = await call("POST", "/_sim/candidates/identity-change", {
      ...business,
      change: "user_id",
      previousUserId: previous,
      newUserId: "MA.60000000000000000002",
    });
    expect(res.status).toBe(200);
    const message = res.json.payload.entry[0].changes[0].value.messages[0];
    expect(message).toMatchObject({
      from_user_id: previous,
      type: "system",
      system: { type: "user_changed_user_id", user_id: "MA.60000000000000000002", previous_user_id: previous },
    });
    expect(message.from).toBeUndefined();
    expect(message.system.wa_id).toBeUndefined();

    const toNew = await text({ recipient: "MA.60000000000000000002" });
    expect((await statusesOf(toNew.json.messages[0].id)).map((s) => s.status)).toEqual(["sent", "delivered", "read"]);
    expect((await text({ recipient: previous })).json.error).toMatchObject({ code: 131062 });
  });

  it("with waId given, user_changed_user_id carries it, and a fresh id is made when none is given", async () => {
    const phone = newPhone();
    const res = await call("POST", "/_sim/candidates/identity-change", { ...business, change: "user_id", waId: phone });
    expect(res.status).toBe(200);
    const message = res.json.payload.entry[0].changes[0].value.messages[0];
    expect(message).toMatchObject({
      from: phone,
      from_user_id: userIdForPhone(phone),
      system: { wa_id: phone, previous_user_id: userIdForPhone(phone), user_id: res.json.identity.userId },
    });
    expect(res.json.identity.userId).toMatch(/^MA\.\d{20}$/);
    expect(res.json.identity.userId).not.toBe(userIdForPhone(phone));
    const bad = await call("POST", "/_sim/candidates/identity-change", { ...business, change: "user_id" });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/previousUserId/);
    const unknownKind = await call("POST", "/_sim/candidates/identity-change", {
      ...business,
      change: "email",
      from: phone,
    });
    expect(unknownKind.status).toBe(400);
  });
});

describe("contact-information requests (interactive request_contact_info)", () => {
  const ask = (interactive: Record<string, unknown>, to: Record<string, string>) =>
    fetch(`${sim.url}/v26.0/${business.phoneNumberId}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ messaging_product: "whatsapp", ...to, type: "interactive", interactive }),
    });

  it("accepts Meta's documented shape to a user id, refuses any other with 100", async () => {
    const userId = "MA.7000000000000042";
    await fetch(`${sim.url}/_sim/candidates/reply`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...business, userId, type: "text", text: "Bonjour" }),
    });
    const ok = await ask(
      { type: "request_contact_info", body: { text: "Votre numéro ?" }, action: { name: "request_contact_info" } },
      { recipient: userId },
    );
    expect(ok.status).toBe(200);
    for (const bad of [
      { type: "request_contact_info", action: { name: "request_contact_info" } },
      { type: "request_contact_info", body: { text: "Votre numéro ?" }, action: { name: "flow" } },
      {
        type: "request_contact_info",
        body: { text: "Votre numéro ?" },
        action: { name: "request_contact_info", buttons: [] },
      },
    ]) {
      const res = await ask(bad, { recipient: userId });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: number } }).error.code).toBe(100);
    }
  });
});
