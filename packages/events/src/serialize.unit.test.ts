import { describe, expect, it } from "vitest";
import { messageReceived, messageSent } from "./builders.js";
import { conversationSchema, messageReceivedSchema, messageSchema, messageSentSchema } from "./payloads.js";
import { candidateOptOutsSchema, optOutChangeAnswerSchema, sendingPolicySchema } from "./rest.js";
import {
  conversationJson,
  messageJson,
  optOutChangeAnswerJson,
  optOutChangeJson,
  optOutEntryJson,
  sendingPolicyJson,
  type StoredConversation,
  type StoredMedia,
  type StoredMessage,
} from "./serialize.js";

const oid = (hex: string) => ({ toHexString: () => hex });
const ids = { msg: "a".repeat(24), client: "b".repeat(24), conv: "c".repeat(24), file: "d".repeat(24) };
const at = new Date("2026-03-01T10:00:00.000Z");

/** What the workers store beside the contract's fields: none of it may reach a dashboard. */
const INTERNAL = {
  __v: 0,
  dedupeKey: "in:wamid.X",
  statusRank: 0,
  raw: { entry: [] },
  countClaim: { by: "worker-1", at },
  sendingSince: at,
  sendAttempts: 2,
  planContext: { windowExpiresAt: null, candidateName: null, jobTitle: null },
  flowToken: "flow-secret",
  idempotencyKey: "key-1",
  lastError: { code: 131000 },
  costExpected: 0.5,
  createdAt: at,
  updatedAt: at,
};

const inbound = {
  _id: oid(ids.msg),
  clientId: oid(ids.client),
  conversationId: oid(ids.conv),
  wamid: "wamid.X",
  direction: "inbound",
  type: "document",
  content: { filename: "cv.pdf" },
  text: null,
  timestamp: at,
  receivedAt: at,
  status: "received",
  statusAt: { received: at },
  timestampAdjusted: "future",
  media: {
    status: "stored",
    fileId: oid(ids.file),
    size: 10,
    mimeType: "application/pdf",
    filename: "cv.pdf",
    sha256Ok: true,
    sha256: "ab",
    // Stored for the media worker only.
    attempts: 1,
    updatedAt: at,
  } as StoredMedia,
  ...INTERNAL,
} satisfies StoredMessage & Record<string, unknown>;

describe("messageJson: the contract's message record, nothing else of the stored document", () => {
  it("drops every internal field of an inbound message (count claim, rank, dedupe key, raw webhook, media attempts)", () => {
    const json = messageJson(inbound);
    for (const k of Object.keys(INTERNAL)) expect(json).not.toHaveProperty(k);
    expect(json.media).not.toHaveProperty("attempts");
    expect(json.media).not.toHaveProperty("sha256");
    expect(json).toMatchObject({
      id: ids.msg,
      from: "candidate",
      timestampAdjusted: "future",
      media: { fileId: ids.file, status: "stored" },
    });
    // Strict: the schema refuses unknown keys, so this also proves the key set.
    expect(messageSchema.parse(json)).toEqual(json);
    expect(messageReceivedSchema.safeParse(messageReceived(json)).success).toBe(true);
  });

  it("keeps an outbound message's documented fields, ids and dates as strings", () => {
    const json = messageJson({
      ...inbound,
      direction: "outbound",
      type: "template",
      status: "sent",
      media: null,
      kind: "template",
      request: { candidatePhone: "212600000000", templateName: "application_received" },
      template: { name: "application_received", language: "fr", vars: ["Ahmed"] },
      cost: 0.5,
      costSource: "estimate",
      reason: null,
      heldAt: at,
      fallbackOf: oid(ids.file),
      campaignId: oid(ids.conv),
    } as StoredMessage);
    expect(json).toMatchObject({
      from: "recruiter",
      kind: "template",
      cost: 0.5,
      heldAt: at.toISOString(),
      fallbackOf: ids.file,
      campaignId: ids.conv,
      request: { templateName: "application_received" },
    });
    for (const k of Object.keys(INTERNAL)) expect(json).not.toHaveProperty(k);
    expect(messageSentSchema.safeParse(messageSent(json)).success).toBe(true);
  });

  it("the contract refuses a message that carries an internal field", () => {
    const leaked = { ...messageJson(inbound), countClaim: { by: "worker-1", at: at.toISOString() } };
    expect(messageSchema.safeParse(leaked).success).toBe(false);
    expect(messageReceivedSchema.safeParse(messageReceived(leaked)).success).toBe(false);
  });
});

describe("conversationJson", () => {
  it("has exactly the contract's keys, whatever the stored document holds", () => {
    const stored = {
      _id: oid(ids.conv),
      clientId: oid(ids.client),
      candidateKey: "212600000000",
      candidatePhone: "212600000000",
      status: "active",
      messageCount: 3,
      unreadCount: 1,
      lastMessageAt: at,
      windowExpiresAt: at,
      inWindow: false,
      readUpTo: at,
      lastMessageSortKey: "k",
      candidateNameAt: at,
      __v: 0,
    } satisfies StoredConversation & Record<string, unknown>;
    const json = conversationJson(stored);
    expect(Object.keys(json).sort()).toEqual(Object.keys(conversationSchema.shape).sort());
    expect(conversationSchema.parse(json)).toEqual(json);
    expect(conversationSchema.safeParse({ ...json, readUpTo: at.toISOString() }).success).toBe(false);
  });
});

describe("opt-out register and sending policy → the REST answers' strict shapes", () => {
  const hashed = (k: string) => k.startsWith("hmac:");
  const scope = { active: true, at, source: "recruiter", owner: "tenant" as const, changeId: oid(ids.file), __v: 0 };

  it("drops the register's ids, dedupe key, subdocument ids and keyed hashes", () => {
    const entry = { ...INTERNAL, _id: oid(ids.msg), clientId: oid(ids.client), key: "212600000001" };
    const answer = {
      clientId: ids.client,
      scope: "all",
      conversationId: null,
      optOuts: [
        optOutEntryJson({ ...entry, keyType: "phone", all: scope, marketing: null }),
        optOutEntryJson({ ...entry, key: "hmac:abc", keyType: "phone_hash", all: scope }),
      ],
      changes: [
        optOutChangeJson(
          {
            ...INTERNAL,
            ...{ clientId: oid(ids.client) },
            _id: oid(ids.msg),
            action: "opt_out",
            scope: "all",
            source: "recruiter",
            keys: ["212600000001", "hmac:abc"],
            actor: { role: "recruiter", userId: "u1", _id: oid(ids.conv) } as { role: string; userId: string },
            at,
            recordedAt: at,
          },
          hashed,
        ),
      ],
    };
    expect(candidateOptOutsSchema.safeParse(answer).error?.issues ?? []).toEqual([]);
    expect(answer.optOuts.map((e) => e.candidate)).toEqual(["212600000001", null]);
    expect(answer.changes[0]!.candidates).toEqual(["212600000001"]);
    expect(JSON.stringify(answer)).not.toMatch(/hmac:|dedupeKey|changeId|__v/);

    const change = optOutChangeAnswerJson(
      oid(ids.client),
      { changeId: oid(ids.msg), optOut: { scope: "marketing" }, conversationId: oid(ids.conv), keys: ["hmac:abc"] },
      hashed,
    );
    expect(optOutChangeAnswerSchema.parse(change)).toEqual({
      clientId: ids.client,
      changeId: ids.msg,
      scope: "marketing",
      conversationId: ids.conv,
      candidates: [],
    });
  });

  it("the sending policy keeps only the contract's keys of what Redis holds", () => {
    const quality = { rating: "RED", event: "FLAGGED", marketingPaused: true, at: at.toISOString(), strikes: 3 };
    const view = sendingPolicyJson({
      clientId: oid(ids.client),
      policy: { quietHours: { start: "21:00", end: "09:00" }, timeZone: "Africa/Casablanca" },
      isDefault: false,
      limit: 250,
      usage: { used: 4, scheduled: 1, nextFreeAt: at.getTime() },
      windowMs: 86_400_000,
      quality,
    });
    expect(sendingPolicySchema.safeParse(view).error?.issues ?? []).toEqual([]);
    expect(view.messagingLimit.nextFreeAt).toBe(at.toISOString());
  });
});
