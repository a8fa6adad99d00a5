import { describe, expect, it } from "vitest";
import {
  CONVERSATION_CHANGES,
  EVENTS,
  EVENT_EXAMPLES,
  SERVER_EVENT_SCHEMAS,
  SOCKET_EVENTS,
  buildAsyncApiDocument,
  conversationUpdated,
  messageSent,
  messageStatus,
  type ServerToClientEvents,
  type TypedDashboardEvents,
} from "./index.js";

const eventNames = Object.keys(SERVER_EVENT_SCHEMAS) as Array<keyof ServerToClientEvents>;

/** The parts of a published JSON Schema this test reads. */
interface PublishedSchema {
  type?: string;
  anyOf?: PublishedSchema[];
  required?: string[];
  properties?: Record<string, PublishedSchema>;
}

/** A message of the AsyncAPI document's components, as this test reads it. */
interface PublishedMessage {
  name: string;
  payload: PublishedSchema;
  examples: Array<{ name: string; payload: unknown }>;
}

describe("the event contract", () => {
  it("covers every event the back end emits and the session's own", () => {
    expect(eventNames.sort()).toEqual(
      [...Object.values(EVENTS), SOCKET_EVENTS.session, SOCKET_EVENTS.expired, SOCKET_EVENTS.error].sort(),
    );
  });

  it("has examples for every event, each valid against its schema", () => {
    for (const event of eventNames) {
      const examples = EVENT_EXAMPLES[event];
      expect(examples.length, event).toBeGreaterThan(0);
      for (const example of examples) {
        const parsed = SERVER_EVENT_SCHEMAS[event].safeParse(example.payload);
        expect(parsed.success ? null : parsed.error.issues, `${event} / ${example.name}`).toBeNull();
      }
    }
  });

  it("rejects payloads missing the platform's fields", () => {
    const [received] = EVENT_EXAMPLES[EVENTS.messageReceived];
    const [updated] = EVENT_EXAMPLES[EVENTS.conversationUpdated];
    const { conversationId: _c, ...noConversationId } = received!.payload;
    expect(SERVER_EVENT_SCHEMAS[EVENTS.messageReceived].safeParse(noConversationId).success).toBe(false);
    // The shape the inbox used to get alone: { conversation } without conversationId and updates.
    expect(
      SERVER_EVENT_SCHEMAS[EVENTS.conversationUpdated].safeParse({ conversation: updated!.payload.conversation })
        .success,
    ).toBe(false);
    const { unreadCount: _u, ...noUnread } = updated!.payload.updates;
    expect(
      SERVER_EVENT_SCHEMAS[EVENTS.conversationUpdated].safeParse({ ...updated!.payload, updates: noUnread }).success,
    ).toBe(false);
    const [status] = EVENT_EXAMPLES[EVENTS.messageStatus];
    expect(SERVER_EVENT_SCHEMAS[EVENTS.messageStatus].safeParse({ ...status!.payload, status: "seen" }).success).toBe(
      false,
    );
  });
});

describe("builders", () => {
  const conversation = EVENT_EXAMPLES[EVENTS.conversationUpdated][0]!.payload.conversation;
  const message = EVENT_EXAMPLES[EVENTS.messageSent][0]!.payload.message;

  it("conversation:updated: the platform's updates always, the changed fields from the conversation itself", () => {
    const read = conversationUpdated({ ...conversation, unreadCount: 0 }, CONVERSATION_CHANGES.read);
    expect(read.conversationId).toBe(conversation.id);
    expect(read.clientId).toBe(conversation.clientId);
    expect(read.updates).toEqual({ unreadCount: 0, lastMessageAt: conversation.lastMessageAt });
    expect(read.conversation.unreadCount).toBe(0);

    const inbound = conversationUpdated(conversation, CONVERSATION_CHANGES.inboundMessage);
    expect(inbound.updates).toEqual({
      unreadCount: conversation.unreadCount,
      lastMessageAt: conversation.lastMessageAt,
      messageCount: conversation.messageCount,
      lastMessageFrom: conversation.lastMessageFrom,
      lastMessagePreview: conversation.lastMessagePreview,
      lastMessageType: conversation.lastMessageType,
      lastInboundAt: conversation.lastInboundAt,
      windowExpiresAt: conversation.windowExpiresAt,
      inWindow: conversation.inWindow,
      candidateName: conversation.candidateName,
    });
  });

  it("message:sent: messageId is our id, wamid WhatsApp's; refuses a message Meta has not accepted", () => {
    const sent = messageSent(message);
    expect(sent).toMatchObject({
      messageId: message.id,
      wamid: message.wamid,
      status: "sent",
      conversationId: message.conversationId,
    });
    expect(sent.messageId).not.toBe(sent.wamid);
    expect(() => messageSent({ ...message, wamid: null })).toThrow(/wamid/);
  });

  it("message:status: dates become ISO strings, absent error and pricing become null", () => {
    const at = new Date("2025-02-01T08:00:00.000Z");
    expect(
      messageStatus({
        clientId: message.clientId,
        conversationId: message.conversationId,
        messageId: message.id,
        wamid: null,
        status: "held",
        at,
      }),
    ).toEqual({
      clientId: message.clientId,
      conversationId: message.conversationId,
      messageId: message.id,
      wamid: null,
      status: "held",
      timestamp: "2025-02-01T08:00:00.000Z",
      error: null,
      pricing: null,
    });
  });

  it("the typed toClient refuses a payload of another event (checked by tsc)", () => {
    const sent: Array<[string, string, unknown]> = [];
    const events: TypedDashboardEvents = {
      toClient: (clientId, event, payload) => void sent.push([clientId, event, payload]),
    };
    const example = EVENT_EXAMPLES[EVENTS.conversationUpdated][0]!.payload;
    events.toClient(example.clientId, EVENTS.conversationUpdated, example);
    // @ts-expect-error the old shape: no conversationId, no updates
    events.toClient(example.clientId, EVENTS.conversationUpdated, { conversation: example.conversation });
    // @ts-expect-error a message:status payload on message:sent
    events.toClient(example.clientId, EVENTS.messageSent, EVENT_EXAMPLES[EVENTS.messageStatus][0]!.payload);
    expect(sent.map(([, e]) => e)).toEqual([
      EVENTS.conversationUpdated,
      EVENTS.conversationUpdated,
      EVENTS.messageSent,
    ]);
  });
});

describe("AsyncAPI document", () => {
  const doc = buildAsyncApiDocument({ version: "9.9.9" });

  const resolve = (path: string): unknown => {
    expect(path.startsWith("#/"), path).toBe(true);
    return path
      .slice(2)
      .split("/")
      .reduce<unknown>(
        (node, key) => (node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined),
        doc,
      );
  };
  const refs = (node: unknown): string[] =>
    !node || typeof node !== "object"
      ? []
      : Object.entries(node).flatMap(([k, v]) => (k === "$ref" && typeof v === "string" ? [v] : refs(v)));

  it("is AsyncAPI 3.0 whose every reference resolves", () => {
    expect(doc.asyncapi).toBe("3.0.0");
    expect(doc.info.version).toBe("9.9.9");
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(20);
    for (const r of all) expect(resolve(r), r).toBeDefined();
  });

  it("documents every event with its JSON Schema and examples that validate against the contract", () => {
    const byName = new Map(
      Object.values(doc.components.messages).map((m) => [(m as PublishedMessage).name, m as PublishedMessage]),
    );
    for (const event of eventNames) {
      const m = byName.get(event);
      expect(m, event).toBeDefined();
      // An object, or (client:status) a choice of objects.
      for (const variant of m!.payload.anyOf ?? [m!.payload]) expect(variant.type, event).toBe("object");
      expect(m!.examples.length).toBeGreaterThan(0);
      for (const ex of m!.examples)
        expect(SERVER_EVENT_SCHEMAS[event].safeParse(ex.payload).success, `${event} ${ex.name}`).toBe(true);
    }
    // The platform's fields are required in the published schemas.
    expect(byName.get(EVENTS.conversationUpdated)!.payload.required).toEqual(
      expect.arrayContaining(["conversationId", "updates", "conversation"]),
    );
    expect(byName.get(EVENTS.conversationUpdated)!.payload.properties?.updates?.required).toEqual(
      expect.arrayContaining(["unreadCount", "lastMessageAt"]),
    );
    expect(byName.get(EVENTS.messageSent)!.payload.required).toEqual(
      expect.arrayContaining(["conversationId", "messageId", "status"]),
    );
    expect(byName.get(EVENTS.messageStatus)!.payload.required).toEqual(expect.arrayContaining(["messageId", "status"]));
    expect(byName.get(EVENTS.messageReceived)!.payload.properties?.message?.required).toEqual(
      expect.arrayContaining(["from", "text", "timestamp"]),
    );
    expect(byName.get(SOCKET_EVENTS.refresh)).toBeDefined();
  });

  it("has one operation per event, on the channel that carries it", () => {
    const ops = Object.values(doc.operations) as Array<{
      action: string;
      channel: { $ref: string };
      messages: Array<{ $ref: string }>;
    }>;
    const sent = ops
      .filter((o) => o.action === "send")
      .flatMap((o) => o.messages.map((m) => (resolve(m.$ref) as { $ref: string }).$ref));
    expect(sent.length).toBe(eventNames.length);
    for (const o of ops)
      for (const m of o.messages) expect(m.$ref.startsWith(`${o.channel.$ref}/messages/`)).toBe(true);
    expect(ops.filter((o) => o.action === "receive")).toHaveLength(1);
  });
});
