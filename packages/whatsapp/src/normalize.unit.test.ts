import { BSON } from "bson";
import { describe, expect, it } from "vitest";
import type { InboundEvent } from "./inbound-event.js";
import { mongoSafetyProblems } from "./mongo-safety.js";
import { normalizeDelivery } from "./normalize.js";
import {
  change,
  contact,
  delivery,
  deliveryOf,
  entry,
  freshWamid,
  message,
  messagesValue,
  nestedArrays,
  samples,
  status,
  statusSamples,
  valueError,
  withOwnKeys,
  WABA,
} from "./webhook-fixtures.harness.js";

type MessageEvent = Extract<InboundEvent, { kind: "message" }>;
type MalformedEvent = Extract<InboundEvent, { kind: "malformed" }>;
const messages = (events: InboundEvent[]) => events.filter((e): e is MessageEvent => e.kind === "message");
const malformedOf = (events: InboundEvent[]) => events.filter((e): e is MalformedEvent => e.kind === "malformed");
const PROTOTYPE_NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"] as const;
const receivedAt = new Date("2026-11-29T08:00:00Z");

/** Every event is storable: no refused key or value anywhere, and BSON with key checks takes it. */
function expectStorable(events: InboundEvent[]) {
  for (const e of events) {
    expect(mongoSafetyProblems(e, { maxDepth: 40 })).toEqual([]);
    expect(() => BSON.serialize({ e }, { checkKeys: true })).not.toThrow();
  }
}

/** A valid text message with its own wamid, and the check that it came out exactly once, as sent. */
function sibling() {
  const wamid = freshWamid("SIB");
  const raw = message("text", { body: "le message valide" }, { wamid });
  return {
    raw,
    expectOnce(events: InboundEvent[]) {
      const found = messages(events).filter((e) => e.message.wamid === wamid);
      expect(found).toHaveLength(1);
      expect(found[0]!.message).toMatchObject({
        type: "text",
        content: { body: "le message valide" },
        text: "le message valide",
      });
    },
  };
}

describe("regression: a type or field named after a built-in property (poison delivery)", () => {
  it.each(PROTOTYPE_NAMES)(
    "message type %s is an unsupported message with its raw payload; its sibling is stored",
    (name) => {
      const s = sibling();
      const poison = JSON.parse(
        JSON.stringify(message("text", { body: "x" }, { wamid: "wamid.POISON" })).replace(
          '"type":"text","text"',
          `"type":"${name}","${name}"`,
        ),
      );
      const events = normalizeDelivery(deliveryOf([poison, s.raw]), { receivedAt });
      s.expectOnce(events);
      const [bad] = messages(events).filter((e) => e.message.wamid === "wamid.POISON");
      expect(bad!.message).toMatchObject({
        type: "unsupported",
        originalType: name,
        content: { type: name },
        text: "[unsupported message]",
      });
      expect(bad!.message.raw).toMatchObject({ id: "wamid.POISON", type: name });
      expect(malformedOf(events)).toEqual([]);
      expectStorable(events);
    },
  );

  it.each(PROTOTYPE_NAMES)("interactive.type %s is unsupported, not a crash", (name) => {
    const m = message("interactive", { type: name, [name === "__proto__" ? "x" : name]: { id: "1" } });
    const [event] = messages(normalizeDelivery(deliveryOf([m]), { receivedAt }));
    expect(event!.message).toMatchObject({ type: "unsupported", originalType: "interactive" });
    expect(event!.message.problems?.[0]).toMatch(/^interactive:/);
  });

  it.each(PROTOTYPE_NAMES)("change field %s is recorded as an unknown field; the next change is read", (name) => {
    const s = sibling();
    const payload = delivery([
      entry([change({ event: "x" }, name), change(messagesValue({ contacts: [contact()], messages: [s.raw] }))]),
    ]);
    const events = normalizeDelivery(payload, { receivedAt });
    s.expectOnce(events);
    expect(events[0]).toMatchObject({
      kind: "account",
      field: name,
      valid: true,
      value: { event: "x" },
      location: { path: "$.entry[0].changes[0]" },
    });
  });

  it("keys named after built-ins are kept as data, `__proto__` escaped; nothing is polluted", () => {
    const content = withOwnKeys([
      ["body", "hi"],
      ["__proto__", { polluted: true }],
      ["constructor", "c"],
      ["toString", 1],
    ]);
    const m = message("text", content);
    const [event] = messages(normalizeDelivery(deliveryOf([m]), { receivedAt }));
    expect(Object.keys(event!.message.content as object)).toEqual(["body", "%5F_proto__", "constructor", "toString"]);
    expect(Object.getPrototypeOf(event!.message.content)).toBe(Object.prototype);
    expect((event!.message.content as Record<string, unknown>)["%5F_proto__"]).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("regression: one bad element no longer drops the delivery (element isolation)", () => {
  const cases: Array<[string, (validEntry: unknown) => unknown, { field: string; path: string; reason: RegExp }]> = [
    ["a null entry", (v) => delivery([null, v]), { field: "entry", path: "$.entry[0]", reason: /entry is null/ }],
    ["a numeric entry", (v) => delivery([42, v]), { field: "entry", path: "$.entry[0]", reason: /entry is a number/ }],
    [
      "an entry id that is a number",
      (v) => delivery([entry([], 102290129340398), v]),
      { field: "entry", path: "$.entry[0]", reason: /entry.id is a number/ },
    ],
    [
      "changes: null",
      (v) => delivery([{ id: WABA, changes: null }, v]),
      { field: "entry", path: "$.entry[0]", reason: /changes is null/ },
    ],
    [
      "a missing changes",
      (v) => delivery([{ id: WABA }, v]),
      { field: "entry", path: "$.entry[0]", reason: /changes is missing/ },
    ],
    [
      "a null change",
      (v) => delivery([entry([null]), v]),
      { field: "changes", path: "$.entry[0].changes[0]", reason: /change is null/ },
    ],
    [
      "a numeric change",
      (v) => delivery([entry([7]), v]),
      { field: "changes", path: "$.entry[0].changes[0]", reason: /change is a number/ },
    ],
    [
      "a missing field",
      (v) => delivery([entry([{ value: {} }]), v]),
      { field: "changes", path: "$.entry[0].changes[0]", reason: /field is missing/ },
    ],
    [
      "an empty field",
      (v) => delivery([entry([{ field: "", value: {} }]), v]),
      { field: "changes", path: "$.entry[0].changes[0]", reason: /field is empty/ },
    ],
    [
      "a messages value without metadata",
      (v) => delivery([entry([change({ messages: [] })]), v]),
      { field: "messages", path: "$.entry[0].changes[0]", reason: /metadata is missing/ },
    ],
    [
      "messages: null",
      (v) => delivery([entry([change(messagesValue({ messages: null }))]), v]),
      { field: "messages", path: "$.entry[0].changes[0].value.messages", reason: /messages is null/ },
    ],
    [
      "statuses: a string",
      (v) => delivery([entry([change(messagesValue({ statuses: "x" }))]), v]),
      { field: "statuses", path: "$.entry[0].changes[0].value.statuses", reason: /statuses is a string/ },
    ],
  ];

  it.each(cases)(
    "%s is one malformed event with its location and raw; the valid entry next to it is stored",
    (_, build, expected) => {
      const s = sibling();
      const validEntry = entry([change(messagesValue({ contacts: [contact()], messages: [s.raw] }))]);
      const events = normalizeDelivery(build(validEntry), { receivedAt });
      s.expectOnce(events);
      const bad = malformedOf(events);
      expect(bad).toHaveLength(1);
      expect(bad[0]).toMatchObject({ field: expected.field, location: { path: expected.path, entry: 0 } });
      expect(bad[0]!.reason).toMatch(expected.reason);
      expect(bad[0]!.raw).not.toBeUndefined();
      expectStorable(events);
    },
  );

  it("a bad entry.time is recorded and the entry's changes are still read", () => {
    const s = sibling();
    const payload = delivery([
      entry(
        [
          change(messagesValue({ contacts: [contact()], messages: [s.raw] })),
          change({ event: "VERIFIED_ACCOUNT" }, "account_update"),
        ],
        WABA,
        { time: "soon" },
      ),
    ]);
    const events = normalizeDelivery(payload, { receivedAt });
    s.expectOnce(events);
    expect(malformedOf(events)).toEqual([
      expect.objectContaining({ field: "entry", raw: "soon", location: { path: "$.entry[0].time", entry: 0 } }),
    ]);
    const account = events.find((e) => e.kind === "account");
    expect(account).toMatchObject({ field: "account_update", valid: true });
    expect(account && "time" in account ? account.time : undefined).toBeUndefined();
  });

  it.each([
    ["null", null],
    ["a number", 42],
    ["a string", "whatsapp"],
    ["an array", [delivery([])]],
    ["true", true],
  ])("a delivery that is %s is one malformed event, not an exception", (_, payload) => {
    const events = normalizeDelivery(payload);
    expect(events).toEqual([
      expect.objectContaining({ kind: "malformed", field: "delivery", location: { path: "$" } }),
    ]);
    expectStorable(events);
  });

  it("object other than whatsapp_business_account, or entry not an array, is one malformed delivery", () => {
    for (const payload of [
      { object: "page", entry: [] },
      { entry: [] },
      { object: "whatsapp_business_account", entry: {} },
    ]) {
      const events = normalizeDelivery(payload);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ kind: "malformed", field: "delivery", raw: payload });
    }
  });

  it("a bad message, status, error or contact is recorded at its index; its neighbours are read", () => {
    const s = sibling();
    const okStatus = statusSamples.failed();
    const payload = delivery([
      entry([
        change(
          messagesValue({
            contacts: [contact(), "not a contact"],
            messages: [{ id: 5 }, s.raw, null],
            statuses: [{ id: "wamid.X" }, okStatus],
            errors: [valueError(131042), { code: "nope" }],
          }),
        ),
      ]),
    ]);
    const events = normalizeDelivery(payload, { receivedAt });
    s.expectOnce(events);
    const where = malformedOf(events).map((e) => [e.field, e.location?.path]);
    expect(where).toEqual([
      ["contacts", "$.entry[0].changes[0].value.contacts[1]"],
      ["messages", "$.entry[0].changes[0].value.messages[0]"],
      ["messages", "$.entry[0].changes[0].value.messages[2]"],
      ["statuses", "$.entry[0].changes[0].value.statuses[0]"],
      ["errors", "$.entry[0].changes[0].value.errors[1]"],
    ]);
    expect(events.filter((e) => e.kind === "status")).toEqual([
      expect.objectContaining({ status: expect.objectContaining({ wamid: okStatus.id, status: "failed" }) }),
    ]);
    expect(events.find((e) => e.kind === "value_errors")).toMatchObject({
      errors: [{ code: 131042 }],
      location: { path: "$.entry[0].changes[0].value.errors" },
    });
    expect(malformedOf(events)[1]).toMatchObject({
      reason: "id is a number, not a string",
      raw: { id: 5 },
      phoneNumberId: expect.any(String),
      wabaId: WABA,
    });
  });
});

describe("regression: values the database refuses (stored, then refused on every retry)", () => {
  it("`$`, `.` and NUL keys, -Infinity, NaN and 20,000-deep nesting in the first message leave it storable and the sibling stored", () => {
    const s = sibling();
    const poison = message(
      "text",
      withOwnKeys([
        ["body", "x\u0000y\uD800"],
        ["$where", "1"],
        ["a.b", { $set: { "c.d": 1 } }],
        ["nul\u0000key", -Infinity],
        ["nan", Number.NaN],
        ["deep", nestedArrays(20_000)],
      ]),
      { wamid: "wamid.POISON" },
    );
    const events = normalizeDelivery(deliveryOf([poison, s.raw]), { receivedAt });
    s.expectOnce(events);
    const [bad] = messages(events).filter((e) => e.message.wamid === "wamid.POISON");
    const content = bad!.message.content as Record<string, unknown>;
    expect(Object.keys(content)).toEqual(["body", "%24where", "a%2Eb", "nul%00key", "nan", "deep"]);
    expect(content.body).toBe("x\uFFFDy\uFFFD");
    expect(content["a%2Eb"]).toEqual({ "%24set": { "c%2Ed": 1 } });
    expect(content["nul%00key"]).toBe("-Infinity");
    expect(content.nan).toBe("NaN");
    expect(bad!.message.text).toBe("x\uFFFDy\uFFFD");
    expectStorable(events);
    // The raw form would have been refused: the checks above can fail.
    expect(mongoSafetyProblems(poison).length).toBeGreaterThan(0);
    expect(() => BSON.serialize(poison, { checkKeys: true })).toThrow();
  });

  it("a 20,000-deep malformed part is recorded, capped at 32 levels, with the start of its JSON", () => {
    const s = sibling();
    const events = normalizeDelivery(deliveryOf([nestedArrays(20_000), s.raw]), { receivedAt });
    s.expectOnce(events);
    const [bad] = malformedOf(events);
    expect(bad).toMatchObject({ field: "messages", reason: "message is an array, not an object" });
    expect(JSON.stringify(bad!.raw)).toContain('"%json":"[[[[');
    expectStorable(events);
  });

  it("an id with a NUL or longer than 256 characters is malformed (it would break the unique index), not stored", () => {
    const s = sibling();
    const events = normalizeDelivery(
      deliveryOf([
        message("text", { body: "a" }, { wamid: "wamid.\u0000" }),
        message("text", { body: "b" }, { wamid: `wamid.${"A".repeat(300)}` }),
        s.raw,
      ]),
      { receivedAt },
    );
    s.expectOnce(events);
    expect(malformedOf(events).map((e) => e.reason)).toEqual([
      "id holds a NUL character",
      "id is longer than 256 characters",
    ]);
    expectStorable(events);
  });

  it("a part larger than 64 KiB is kept as the start of its JSON text, marked truncated", () => {
    const big = message("text", { body: "é".repeat(100_000) });
    const [event] = messages(normalizeDelivery(deliveryOf([big]), { receivedAt }));
    expect(event!.message).toMatchObject({
      type: "unsupported",
      originalType: "text",
      problems: ["text is larger than 65536 bytes"],
    });
    expect(event!.message.raw).toMatchObject({
      "%truncated": true,
      "%json": expect.stringMatching(/^\{"from":"212612345678","id":"wamid/),
    });
    expect(JSON.stringify(event!.message.raw).length).toBeLessThan(70_000);
  });
});

describe("regression: timestamps are clamped to the time of receipt, the original kept", () => {
  const at = (ts: unknown) => {
    const m = message("text", { body: "t" });
    if (ts === undefined) delete m.timestamp;
    else m.timestamp = ts;
    const [event] = messages(normalizeDelivery(deliveryOf([m]), { receivedAt }));
    return event!.message;
  };

  it("9999999999 no longer holds the 24-hour window open until 2286", () => {
    expect(at("9999999999")).toMatchObject({
      timestamp: receivedAt,
      timestampAdjusted: "future",
      originalTimestamp: "9999999999",
    });
  });

  it.each([
    ["99999999999999999999", "99999999999999999999"],
    ["-5", "-5"],
    ["abc", "abc"],
    ["1.5e9", "1.5e9"],
    ["", ""],
  ])("%j is not unix seconds: clamped, original kept", (ts, original) => {
    expect(at(ts)).toMatchObject({ timestamp: receivedAt, timestampAdjusted: "invalid", originalTimestamp: original });
  });

  it("numbers that are not sane, and a missing timestamp, are clamped too", () => {
    expect(at(-1)).toMatchObject({ timestamp: receivedAt, timestampAdjusted: "invalid", originalTimestamp: "-1" });
    expect(at(1e21)).toMatchObject({ timestamp: receivedAt, timestampAdjusted: "invalid", originalTimestamp: "1e+21" });
    expect(at(Number.NEGATIVE_INFINITY)).toMatchObject({ timestamp: receivedAt, originalTimestamp: '"-Infinity"' });
    expect(at({ $date: 1 })).toMatchObject({ timestamp: receivedAt, originalTimestamp: '{"$date":1}' });
    const missing = at(undefined);
    expect(missing).toMatchObject({ timestamp: receivedAt, timestampAdjusted: "missing" });
    expect(missing.originalTimestamp).toBeUndefined();
  });

  it("within 5 minutes ahead (clock skew) and in the past, Meta's time is used as is", () => {
    const fourMinutesAhead = String(receivedAt.getTime() / 1000 + 240);
    expect(at(fourMinutesAhead).timestamp.getTime()).toBe(receivedAt.getTime() + 240_000);
    expect(at(fourMinutesAhead).timestampAdjusted).toBeUndefined();
    expect(at(String(receivedAt.getTime() / 1000 + 360))).toMatchObject({
      timestamp: receivedAt,
      timestampAdjusted: "future",
    });
    expect(at("1700000000")).toMatchObject({ timestamp: new Date(1_700_000_000_000) });
    expect(at(1700000000).timestamp).toEqual(new Date(1_700_000_000_000));
  });

  it("statuses are clamped the same way; a conversation expiry (in the future by nature) is not", () => {
    const tomorrow = String(receivedAt.getTime() / 1000 + 86_400);
    const events = normalizeDelivery(
      delivery([
        entry([
          change(
            messagesValue({
              statuses: [
                status("wamid.S1", "read", {
                  timestamp: "99999999999",
                  conversation: { id: "c", expiration_timestamp: tomorrow },
                }),
              ],
            }),
          ),
        ]),
      ]),
      { receivedAt },
    );
    expect(events[0]).toMatchObject({
      kind: "status",
      status: {
        timestamp: receivedAt,
        timestampAdjusted: "future",
        originalTimestamp: "99999999999",
        conversation: { id: "c", expiresAt: new Date(Number(tomorrow) * 1000) },
      },
    });
  });

  it("an entry.time in the future is clamped for account events", () => {
    const events = normalizeDelivery(
      delivery([entry([change({ event: "VERIFIED_ACCOUNT" }, "account_update")], WABA, { time: 9_999_999_999 })]),
      { receivedAt },
    );
    expect(events[0]).toMatchObject({ kind: "account", time: receivedAt });
  });
});

describe("every type Meta documents, and the business-scoped user ids", () => {
  it.each(Object.entries(samples))("%s is read as its own type with its content", (name, make) => {
    const m = make();
    const [event] = messages(normalizeDelivery(deliveryOf([m]), { receivedAt }));
    const type = m.type as string;
    expect(event!.message).toMatchObject({ wamid: m.id, type, originalType: type });
    expect(event!.message.problems).toBeUndefined();
    if (type === "request_welcome") expect(event!.message.content).toBeNull();
    // A flow's completion also gets its answers parsed (`flow`), beside the content as sent.
    else if (name === "nfm_reply")
      expect(event!.message.content).toEqual({
        ...(m[type] as object),
        flow: { token: "x", name: "flow", answers: {} },
      });
    else expect(event!.message.content).toEqual(m[type]);
    if (name === "referral") expect(event!.message.referral).toEqual(m.referral);
    if (name === "unsupported") expect(event!.message.errors).toEqual(m.errors);
  });

  it("a message with from_user_id and no from (username users) is keyed by the user id", () => {
    const m = message("text", { body: "salam" }, { from: null, fromUserId: "MA.1234567890abcdef" });
    const [event] = messages(
      normalizeDelivery(
        deliveryOf([m], [{ profile: { name: "Sara" }, user_id: "MA.1234567890abcdef", username: "sara" }]),
        { receivedAt },
      ),
    );
    expect(event).toMatchObject({
      candidateKey: "MA.1234567890abcdef",
      userId: "MA.1234567890abcdef",
      profileName: "Sara",
    });
    expect(event!.waId).toBeUndefined();
  });

  it("a user_changed_user_id system message without contacts is read", () => {
    const m = samples.user_changed_user_id();
    const events = normalizeDelivery(delivery([entry([change(messagesValue({ messages: [m] }))])]), { receivedAt });
    expect(events).toEqual([
      expect.objectContaining({
        kind: "message",
        candidateKey: "MA.new123",
        message: expect.objectContaining({ type: "system" }),
      }),
    ]);
  });

  it("a status with only recipient_user_id is keyed by it", () => {
    const s = statusSamples.byUserId();
    const [event] = normalizeDelivery(delivery([entry([change(messagesValue({ statuses: [s] }))])]), { receivedAt });
    expect(event).toMatchObject({
      kind: "status",
      status: { recipientKey: "US.13491208655302741918", recipientUserId: "US.13491208655302741918" },
    });
  });

  it("the only contact is not used for a message from someone else", () => {
    const m = message("text", { body: "x" }, { from: "212600000009" });
    const [event] = messages(
      normalizeDelivery(deliveryOf([m], [contact("212611111111", "Someone Else")]), { receivedAt }),
    );
    expect(event).toMatchObject({ candidateKey: "212600000009", waId: "212600000009" });
    expect(event!.profileName).toBeUndefined();
  });

  it("a message with no sender at all is malformed", () => {
    const m = message("text", { body: "x" }, { from: null });
    const events = normalizeDelivery(deliveryOf([m], []), { receivedAt });
    expect(events).toEqual([
      expect.objectContaining({
        kind: "malformed",
        field: "messages",
        reason: expect.stringMatching(/no usable from/),
      }),
    ]);
  });

  it("an odd optional part is left out, noted, and the whole message kept in raw", () => {
    const m = message(
      "text",
      { body: "x" },
      { extra: { context: "not an object", errors: [{ code: 1 }, { code: "x" }] } },
    );
    const [event] = messages(normalizeDelivery(deliveryOf([m]), { receivedAt }));
    expect(event!.message).toMatchObject({ type: "text", text: "x", errors: [{ code: 1 }], raw: m });
    expect(event!.message.context).toBeUndefined();
    expect(event!.message.problems).toEqual([
      expect.stringMatching(/^context:/),
      expect.stringMatching(/^errors\[1\]:/),
    ]);
  });

  it("statuses keep pricing (category hyphen normalised), conversation, callback data and errors", () => {
    const sent = statusSamples.sent();
    const failed = statusSamples.failed();
    const delivered = statusSamples.delivered();
    (sent.pricing as Record<string, unknown>).category = "authentication-international";
    const events = normalizeDelivery(
      delivery([entry([change(messagesValue({ statuses: [sent, failed, delivered] }))])]),
      { receivedAt },
    );
    expect(events.map((e) => e.kind)).toEqual(["status", "status", "status"]);
    expect(events[0]).toMatchObject({
      status: {
        pricing: { billable: true, pricingModel: "PMP", type: "regular", category: "authentication_international" },
        bizOpaqueCallbackData: "665f1c2a9b1e8a0012345678",
      },
    });
    expect(events[1]).toMatchObject({ status: { errors: failed.errors } });
    expect(events[2]).toMatchObject({
      status: { conversation: { id: "conv1", originType: "service", expiresAt: expect.any(Date) } },
    });
  });

  it("a template id sent as a number is still a string in the account event", () => {
    const value = {
      event: "APPROVED",
      message_template_id: 998877,
      message_template_name: "premier_contact",
      message_template_language: "fr",
      reason: "NONE",
    };
    const [event] = normalizeDelivery(
      delivery([entry([change(value, "message_template_status_update")], WABA, { time: 1_700_000_000 })]),
      { receivedAt },
    );
    expect(event).toMatchObject({
      kind: "account",
      valid: true,
      time: new Date(1_700_000_000_000),
      value: { ...value, message_template_id: "998877" },
    });
  });
});

describe("a flow's completion (nfm_reply): the answers kept as sent and as structured answers", () => {
  const reply = (responseJson: string) =>
    message("interactive", {
      type: "nfm_reply",
      nfm_reply: { name: "flow", body: "Sent", response_json: responseJson },
    });

  it("parses response_json into { token, flowId, screen, answers } when the token is the gateway's", () => {
    const answers = { disponibilite: "immediate", salaire_attendu: "6000", "villes.choisies": ["Casablanca"] };
    const [event] = messages(
      normalizeDelivery(
        deliveryOf([reply(JSON.stringify({ flow_token: "lj1.1234567890123456.DISPONIBILITES.abc_9", ...answers }))]),
      ),
    );
    expect(event!.message.content).toMatchObject({
      type: "nfm_reply",
      nfm_reply: { response_json: expect.any(String) },
      flow: {
        token: "lj1.1234567890123456.DISPONIBILITES.abc_9",
        flowId: "1234567890123456",
        screen: "DISPONIBILITES",
        name: "flow",
        answers: { disponibilite: "immediate", salaire_attendu: "6000" },
      },
    });
    expect(event!.message.text).toBe("Sent");
    expectStorable([event!]);
  });

  it("a token the caller chose is kept without flow or screen; answers that are not a JSON object are noted, the reply kept", () => {
    const [own] = messages(normalizeDelivery(deliveryOf([reply('{"flow_token":"application-42","ok":true}')])));
    expect(own!.message.content).toMatchObject({ flow: { token: "application-42", answers: { ok: true } } });
    expect((own!.message.content as { flow: object }).flow).not.toHaveProperty("flowId");
    const [bad] = messages(normalizeDelivery(deliveryOf([reply("not json")])));
    expect(bad!.message.type).toBe("interactive");
    expect(bad!.message.content).not.toHaveProperty("flow");
    expect(bad!.message.problems).toEqual(["interactive.nfm_reply.response_json is not JSON"]);
  });
});
