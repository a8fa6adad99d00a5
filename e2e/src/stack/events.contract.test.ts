/**
 * The Socket.io events as the platform's contract writes them, received by a real
 * socket.io-client on a real realtime server, one test per event:
 * - on the wire: each builder's payload, published by DashboardEvents through Redis, arrives as
 *   built, valid against the contract, with what the platform's listeners read;
 * - from the real emitters: the whole loop (Meta simulator → ingress → inbound / outbound workers →
 *   realtime) on the real MongoDB-protocol server and Redis, each event a dashboard receives checked
 *   against the contract. Only Meta is simulated.
 */
import { request } from "undici";
import { io as connectSocket, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClientDoc, Database } from "@linkojob/db";
import {
  EVENTS,
  EVENT_EXAMPLES,
  SERVER_EVENT_SCHEMAS,
  conversationSchema,
  demoCandidateAnswerSchema,
  messageSchema,
  type DashboardEventName,
  type DashboardEvents,
  type TypedDashboardEvents,
} from "@linkojob/events";
import { inboundMessage, messagesDelivery, type MessagingState, type MetaSimulator } from "@linkojob/meta-simulator";
import { eventually, testServices } from "@linkojob/testing";
import { startStack, type Stack } from "../harness/stack.harness.js";

// Payloads straight off the wire: the test probes them as the platform's readers would and validates them
// against the contract's schemas, so it must not presuppose the contract's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- unvalidated wire JSON (see above)
type Received = Array<{ event: string; payload: any }>;

/**
 * What the platform's listeners read of each event: the problems a
 * dashboard written to the platform's contract would meet with this payload, none when it reads everything it expects.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- probes whatever arrived, as an untyped dashboard would
function listenerProblems(event: string, p: any): string[] {
  const problems: string[] = [];
  const need = (ok: boolean, what: string) => void (ok || problems.push(what));
  switch (event) {
    case EVENTS.messageReceived:
      need(typeof p?.conversationId === "string", "conversationId");
      need(typeof p?.message?.from === "string", "message.from");
      need(p?.message && "text" in p.message, "message.text");
      need(typeof p?.message?.timestamp === "string", "message.timestamp");
      break;
    case EVENTS.messageSent:
      need(typeof p?.conversationId === "string", "conversationId");
      need(typeof p?.messageId === "string", "messageId");
      need(p?.status === "sent", "status: sent");
      break;
    case EVENTS.messageStatus:
      need(typeof p?.messageId === "string", "messageId");
      need(typeof p?.status === "string", "status");
      break;
    case EVENTS.conversationUpdated:
      need(typeof p?.conversationId === "string", "conversationId");
      need(typeof p?.updates?.unreadCount === "number", "updates.unreadCount");
      need(p?.updates && "lastMessageAt" in p.updates, "updates.lastMessageAt");
      break;
  }
  return problems;
}

const contractProblems = (event: DashboardEventName, payload: unknown) => {
  const parsed = SERVER_EVENT_SCHEMAS[event].safeParse(payload);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("dashboard events from the real emitters, received by a socket.io client", () => {
  const services = testServices("events-contract");
  const sockets: Socket[] = [];
  let stack: Stack | undefined;
  let db: Database;
  let sim: MetaSimulator;
  let simState: MessagingState;
  let realtimeUrl: string;
  let ingressUrl: string;
  let events: DashboardEvents;
  let client: ClientDoc;
  let clientId: string;
  let jwt: string;

  beforeAll(async () => {
    stack = await startStack({
      services,
      statusStepDelayMs: 50,
      inbox: true,
      // Inbound media fetched into GridFS: message:media.
      inboundMedia: true,
      concurrency: 2,
      client: {
        companyName: "Acme Corp",
        phoneNumberId: `1077${Date.now() % 1_000_000}`,
        wabaId: `2077${Date.now() % 1_000_000}`,
        whatsappNumber: "212522000077",
      },
    });
    ({ db, sim, simState, realtimeUrl, ingressUrl, events, client, clientId, jwt } = stack);
  }, 120_000);

  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await stack?.close();
  });

  /** The recruiter's dashboard: resolves once its rooms are joined (auth:session). */
  async function dashboard(): Promise<Received> {
    const socket = connectSocket(realtimeUrl, {
      transports: ["websocket"],
      auth: { token: jwt },
      reconnection: false,
      forceNew: true,
    });
    sockets.push(socket);
    const received: Received = [];
    socket.onAny((event: string, payload: unknown) => received.push({ event, payload }));
    await new Promise<void>((resolve, reject) => {
      socket.once("auth:session", () => resolve());
      socket.once("connect_error", reject);
    });
    return received;
  }

  const api = async <T = unknown>(method: "GET" | "POST" | "PATCH", path: string, body?: unknown) => {
    const res = await request(`${ingressUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${jwt}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = await res.body.json();
    if (res.statusCode >= 300) throw new Error(`${method} ${path} answered ${res.statusCode}: ${JSON.stringify(json)}`);
    return json as T;
  };

  describe("on the wire: each builder's payload, through DashboardEvents and the realtime server", () => {
    for (const event of Object.values(EVENTS)) {
      it(`${event} arrives as built, valid, with what the platform's listeners read`, async () => {
        const received = await dashboard();
        const typed: TypedDashboardEvents = events;
        for (const example of EVENT_EXAMPLES[event]) {
          // Addressed to this test's tenant.
          const payload = { ...example.payload, clientId };
          typed.toClient(clientId, event, payload);
          const got = await eventually(() =>
            received.find((r) => r.event === event && JSON.stringify(r.payload) === JSON.stringify(payload)),
          );
          expect(contractProblems(event, got.payload)).toEqual([]);
          expect(listenerProblems(event, got.payload)).toEqual([]);
        }
      });
    }
  });

  describe("from the real emitters, over the whole loop", () => {
    let received: Received;
    let messageId: string;
    let conversationId: string;
    const of = (event: string) => received.filter((r) => r.event === event).map((r) => r.payload);
    /** Waits for a step of the flow; on timeout, says which step and what arrived. */
    const until = (step: string, condition: () => boolean) =>
      eventually(condition, 30_000).catch(() => {
        throw new Error(
          `${step}: not seen; received ${JSON.stringify(received.map((r) => [r.event, r.payload?.status ?? r.payload?.media ?? ""]))}`,
        );
      });

    beforeAll(async () => {
      received = await dashboard();
      // Workflow 2: the platform sends a first-contact template; Meta's statuses come back.
      const answer = await api<{ messageId: string }>("POST", "/api/messages/send", {
        clientId,
        candidatePhone: "0638167216",
        candidateName: "Ahmed Hassan",
        jobTitle: "Developer PHP",
        companyName: "Acme Corp",
      });
      messageId = answer.messageId;
      await until("the template read", () =>
        of(EVENTS.messageStatus).some((p) => p.messageId === messageId && p.status === "read"),
      );
      conversationId = (await db.forTenant(clientId).outbound.get(messageId))!.conversationId.toHexString();
      // Workflow 3: the candidate replies, then sends a CV.
      const demo = await api("POST", "/inbox/api/demo/candidate", { conversationId, action: "reply" });
      // The demo's answer has exactly the contract's keys.
      expect(demoCandidateAnswerSchema.safeParse(demo).error?.issues ?? []).toEqual([]);
      await until("the reply", () => of(EVENTS.messageReceived).length > 0);
      // The CV is at "Meta" (the simulator), readable with this tenant's token only.
      const cv = Buffer.concat([Buffer.from("%PDF-1.7\n"), Buffer.alloc(2_000, 7)]);
      const seeded = (await (
        await fetch(`${sim.url}/_sim/media`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            data: cv.toString("base64"),
            mime_type: "application/pdf",
            token: `tok-${services.id}`,
            filename: "cv.pdf",
          }),
        })
      ).json()) as { id: string; sha256Base64: string };
      const candidate = { waId: "212638167216", name: "Ahmed Hassan" };
      const document = inboundMessage(candidate, "document", {
        id: seeded.id,
        mime_type: "application/pdf",
        sha256: seeded.sha256Base64,
        filename: "cv.pdf",
      });
      expect(
        (
          await sim.deliver(
            messagesDelivery({ wabaId: client.wabaId, phoneNumberId: client.phoneNumberId }, candidate, [document]),
          )
        ).status,
      ).toBe(200);
      await until("the CV stored", () => of(EVENTS.messageMedia).some((p) => p.media?.status === "stored"));
      // The recruiter reads it.
      const before = of(EVENTS.conversationUpdated).length;
      await api("PATCH", `/api/messages/conversation/${conversationId}/read`);
      await until("the conversation read", () =>
        of(EVENTS.conversationUpdated)
          .slice(before)
          .some((p) => (p.conversation?.unreadCount ?? p.updates?.unreadCount) === 0),
      );
      // Meta revokes the token: the next send marks the number reauth_required.
      simState.revokedTokens.add(`tok-${services.id}`);
      await api("POST", "/api/messages/send", {
        clientId,
        candidatePhone: "0638167216",
        message: "Êtes-vous disponible demain ?",
      });
      await until("reauth_required", () => of(EVENTS.clientStatus).some((p) => p.status === "reauth_required"));
    }, 120_000);

    it("no internal field reaches a dashboard: events and REST reads carry only the contract's keys", async () => {
      // Stored beside the contract's fields for the workers (claims, ranks, dedupe keys, leases, the raw webhook).
      const internal =
        /"(countClaim|statusRank|dedupeKey|sendingSince|sendAttempts|planContext|flowToken|raw|__v|readUpTo|lastMessageSortKey)"/;
      const records = of(EVENTS.messageReceived).concat(of(EVENTS.messageSent));
      expect(records.length).toBeGreaterThan(1);
      for (const p of records) expect(JSON.stringify(p)).not.toMatch(internal);
      for (const p of of(EVENTS.conversationUpdated)) expect(JSON.stringify(p)).not.toMatch(internal);
      const thread = await api<{ conversation: unknown; messages: unknown[] }>(
        "GET",
        `/api/messages/conversation/${conversationId}`,
      );
      const list = await api<{ conversations: unknown[] }>("GET", "/api/messages/conversations?limit=100");
      expect(thread.messages.length).toBeGreaterThan(1);
      expect(JSON.stringify([thread, list])).not.toMatch(internal);
      // The schemas are strict: an unknown key fails here, not only the ones named above.
      for (const m of thread.messages) expect(messageSchema.safeParse(m).error?.issues ?? []).toEqual([]);
      for (const c of [thread.conversation, ...list.conversations])
        expect(conversationSchema.safeParse(c).error?.issues ?? []).toEqual([]);
    });

    it("message:received: the platform's { conversationId, message: { from, text, timestamp } }, valid", () => {
      const [p] = of(EVENTS.messageReceived);
      expect(p).toBeDefined();
      expect(contractProblems(EVENTS.messageReceived, p)).toEqual([]);
      expect(listenerProblems(EVENTS.messageReceived, p)).toEqual([]);
      expect(p.conversationId).toBe(conversationId);
      expect(p.message.from).toBe("candidate");
    });

    it("message:status: messageId is the send API's id, wamid WhatsApp's; delivered then read", () => {
      const statuses = of(EVENTS.messageStatus).filter((p) => p.messageId === messageId);
      expect(statuses.map((p) => p.status)).toEqual(expect.arrayContaining(["delivered", "read"]));
      for (const p of statuses) {
        expect(contractProblems(EVENTS.messageStatus, p)).toEqual([]);
        expect(listenerProblems(EVENTS.messageStatus, p)).toEqual([]);
        expect(p.wamid).toMatch(/^wamid\./);
        expect(p.wamid).not.toBe(messageId);
      }
    });

    it("message:media: the stored CV, fetchable by messageId", () => {
      const stored = of(EVENTS.messageMedia).find((p) => p.media.status === "stored");
      expect(contractProblems(EVENTS.messageMedia, stored)).toEqual([]);
      expect(stored.conversationId).toBe(conversationId);
    });

    it("client:status: reauth_required once Meta refuses the token", () => {
      const p = of(EVENTS.clientStatus).find((x) => x.status === "reauth_required");
      expect(contractProblems(EVENTS.clientStatus, p)).toEqual([]);
      expect(p).toMatchObject({ clientId, previousStatus: "active" });
    });

    it("message:sent and conversation:updated still carry what the inbox reads ({ conversationId, message } and { conversation })", () => {
      const sent = of(EVENTS.messageSent).find((p) => p.message?.id === messageId);
      expect(sent).toMatchObject({ conversationId, message: { id: messageId, direction: "outbound" } });
      const updates = of(EVENTS.conversationUpdated);
      expect(updates.length).toBeGreaterThan(0);
      for (const p of updates) expect(p.conversation).toMatchObject({ id: conversationId, clientId });
    });

    it('message:sent from the outbound worker: the platform\'s { conversationId, messageId, status: "sent" }, valid', () => {
      const sent = of(EVENTS.messageSent).find((p) => p.messageId === messageId);
      expect(sent).toBeDefined();
      expect(contractProblems(EVENTS.messageSent, sent)).toEqual([]);
      expect(listenerProblems(EVENTS.messageSent, sent)).toEqual([]);
      expect(sent).toMatchObject({ conversationId, messageId, status: "sent" });
      expect(sent.wamid).toMatch(/^wamid\./);
    });

    it("conversation:updated from every emitter (send API, inbound worker, mark read): the platform's { conversationId, updates: { unreadCount, lastMessageAt } }, valid", () => {
      const updates = of(EVENTS.conversationUpdated);
      // The send's acceptance, the candidate's reply and CV, the read: at least four.
      expect(updates.length).toBeGreaterThanOrEqual(4);
      for (const p of updates) {
        expect(contractProblems(EVENTS.conversationUpdated, p)).toEqual([]);
        expect(listenerProblems(EVENTS.conversationUpdated, p)).toEqual([]);
        expect(p.conversationId).toBe(conversationId);
        expect(p.updates.unreadCount).toBe(p.conversation.unreadCount);
        expect(p.updates.lastMessageAt).toBe(p.conversation.lastMessageAt);
      }
      // The inbound worker's says the window changed; the read's says the count went to 0.
      expect(updates.some((p) => p.updates.windowExpiresAt !== undefined && p.updates.unreadCount > 0)).toBe(true);
      expect(updates.at(-1)!.updates.unreadCount === 0 || updates.some((p) => p.updates.unreadCount === 0)).toBe(true);
    });
  });
});
